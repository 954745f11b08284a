"""Print how the static site does on a phone: Lighthouse scores of every page, and what each page weighs.

    python3 tools/site_bench.py                       # every page of site/ (build it first: make.py site)
    python3 tools/site_bench.py --pages index.html    # only some pages
    python3 tools/site_bench.py --site DIR --no-axe   # another built site; skip the axe-core column

Lighthouse 12 (tools/site/package.json devDependencies; 13 wants Node 22) runs with its default mobile
profile (simulated slow 4G, 4x CPU slowdown) against `python -m http.server`, which sends nothing compressed,
with Debian's Chromium (CHROMIUM=... to use another). For each page it prints performance, accessibility,
best practices and SEO, the largest contentful paint, and the bytes Lighthouse saw load. Then Playwright
measures what a reader downloads: the first view (the page as it opens) and, on a page with widgets, the
bytes added once the reader scrolls to the first widget and it renders. With axe (the default) it also counts
axe-core's serious and critical violations at 390 px and 1400 px.

The figures depend on the machine and its load: they are printed, never written into a doc.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


def serve(site):
    """python -m http.server on a free port of 127.0.0.1 -> (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "http.server", "-d", str(site), "-b", "127.0.0.1", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("http.server did not start")
            time.sleep(0.1)


def lighthouse(node_modules, url):
    """One Lighthouse run (mobile defaults) -> {category: score 0-100, lcp_s, bytes, tbt_ms, cls}."""
    cli = node_modules / "lighthouse" / "cli" / "index.js"
    done = subprocess.run(
        [shutil.which("node") or "node", str(cli), url, "--output=json", "--output-path=stdout", "--quiet",
         f"--chrome-flags={CHROME_FLAGS}", "--only-categories=" + ",".join(CATEGORIES)],
        capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM})
    if done.returncode:
        sys.exit(f"Lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    audits = report["audits"]
    result = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
    result["lcp_s"] = audits["largest-contentful-paint"]["numericValue"] / 1000
    result["tbt_ms"] = audits["total-blocking-time"]["numericValue"]
    result["cls"] = audits["cumulative-layout-shift"]["numericValue"]
    result["bytes"] = audits["total-byte-weight"]["numericValue"]
    result["failed"] = sorted(a["id"] for a in audits.values()
                              if a.get("score") is not None and a["score"] < 0.9
                              and a.get("scoreDisplayMode") in ("binary", "metricSavings", "numeric")
                              and a["id"] in _AUDITS_OF_INTEREST)
    return result


_AUDITS_OF_INTEREST = {
    "errors-in-console", "render-blocking-resources", "meta-description", "color-contrast",
    "link-in-text-block",
    "label-content-name-mismatch", "landmark-one-main", "total-byte-weight", "largest-contentful-paint",
    "total-blocking-time", "cumulative-layout-shift", "first-contentful-paint", "speed-index", "interactive",
    "bootup-time", "mainthread-work-breakdown", "unused-javascript", "font-display", "document-title",
    "link-text", "is-crawlable"}


def downloads(browser, url, axe_source):
    """In Chromium (no throttling): bytes of the first view, bytes added by the first widget, and, with
    axe_source, the serious/critical axe-core violations at 390 px and 1400 px."""
    result = {}
    for width in (390, 1400):
        context = browser.new_context(viewport={"width": width, "height": 844})
        page = context.new_page()
        sizes = []
        page.on("requestfinished", lambda r, sizes=sizes: sizes.append(r.sizes()["responseBodySize"]))
        page.goto(url, wait_until="load")
        page.wait_for_timeout(500)
        if width == 390:
            result["first_view"] = sum(sizes)
        if page.locator(WIDGET_VIEW).count():
            page.locator(WIDGET_VIEW).first.evaluate("e => e.parentElement.scrollIntoView()")
            page.wait_for_selector(".pk-root", timeout=120_000)
            page.wait_for_timeout(500)
            if width == 390:
                result["widget"] = sum(sizes) - result["first_view"]
        if axe_source:  # axe checks every cell: lay out those the site leaves for later (content-visibility)
            page.add_style_tag(content=".jp-Cell { content-visibility: visible !important; }")
            page.add_script_tag(content=axe_source)
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                                  ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
                                  ".map(v => v.id + ' x' + v.nodes.length)")
            result[f"axe_{width}"] = found
        context.close()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (default: site/)")
    parser.add_argument("--pages", help="comma-separated pages relative to the site (default: every page)")
    parser.add_argument("--no-axe", action="store_true", help="skip the axe-core counts")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").exists():
        sys.exit(f"No site in {site}: build it first with `python3 make.py site`.")
    if not os.path.exists(CHROMIUM):
        sys.exit("Chromium not found: install it with `apt-get install chromium` (or set CHROMIUM=...).")
    node_modules = build_site.npm_install(dev=True)
    pages = args.pages.split(",") if args.pages else [
        str(p.relative_to(site)) for p in sorted(site.rglob("*.html"), key=lambda p: (len(p.parts), str(p)))]
    axe_file = node_modules / "axe-core" / "axe.min.js"
    axe_source = None if args.no_axe else axe_file.read_text(encoding="utf-8")
    server, base = serve(site)
    from playwright.sync_api import sync_playwright

    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
            for page in pages:
                print(f"  {page} ...", file=sys.stderr, flush=True)
                url = base + page
                rows.append((page, lighthouse(node_modules, url), downloads(browser, url, axe_source)))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    kb = lambda n: f"{n / 1024:,.0f} KB"  # noqa: E731
    head = ("| page | perf | a11y | best pr. | SEO | LCP | TBT | CLS | Lighthouse bytes | first view "
            "| + first widget |")
    if axe_source:
        head += " axe serious+critical 390 / 1400 px |"
    print(f"Lighthouse {json.loads((node_modules / 'lighthouse' / 'package.json').read_text())['version']}, "
          f"mobile defaults, served by http.server (uncompressed):\n")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for page, lh, dl in rows:
        line = (f"| {page} | {lh['performance']} | {lh['accessibility']} | {lh['best-practices']} "
                f"| {lh['seo']} "
                f"| {lh['lcp_s']:.1f} s | {lh['tbt_ms']:.0f} ms | {lh['cls']:.3f} | {kb(lh['bytes'])} "
                f"| {kb(dl['first_view'])} | {kb(dl['widget']) if 'widget' in dl else '—'} |")
        if axe_source:
            line += f" {', '.join(dl['axe_390']) or '0'} / {', '.join(dl['axe_1400']) or '0'} |"
        print(line)
    for page, lh, _ in rows:
        if lh["failed"]:
            print(f"{page}: audits below 0.9: {', '.join(lh['failed'])}")
    print()
    missed = [(page, miss) for page, lh, dl in rows for miss in below_targets(lh, dl)]
    for page, miss in missed:
        print(f"below target: {page}: {miss}")
    print("targets (" + ", ".join(f"{k} >= {v}" for k, v in TARGETS.items()) + f", LCP <= {MAX_LCP_S} s, "
          f"no serious axe violation): {'met on every page' if not missed else f'{len(missed)} missed'}")
    return 0


# The site's targets (docs/site.md): Lighthouse mobile scores, largest contentful paint, axe-core.
TARGETS = {"performance": 90, "accessibility": 100, "best-practices": 95, "seo": 95}
MAX_LCP_S = 2.5


def below_targets(lh, dl):
    """What one page misses of TARGETS, as short texts."""
    missed = [f"{key} {lh[key]} < {want}" for key, want in TARGETS.items() if lh[key] < want]
    if lh["lcp_s"] > MAX_LCP_S:
        missed.append(f"LCP {lh['lcp_s']:.1f} s > {MAX_LCP_S} s")
    missed += [f"axe at {w} px: {', '.join(dl[f'axe_{w}'])}" for w in (390, 1400) if dl.get(f"axe_{w}")]
    return missed


if __name__ == "__main__":
    sys.exit(main())
