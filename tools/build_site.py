"""Build the static site in site/: every notebook executed, with its outputs and its widgets' saved state.

    python3 make.py site                 # or: .venv/bin/python tools/build_site.py [--out DIR]

site/index.html is the README's notebook table, linking to one page per notebook (notebooks/*.ipynb, then
notebooks/deep-dives/*.ipynb), mirrored as site/notebooks/**/*.html next to site/Images/, so the notebooks'
own ../Images/... paths resolve. Every script, style and font a page loads is copied into site/static/ from
the npm packages pinned in tools/site/package-lock.json (installed with `npm ci` into tools/site/node_modules,
again only when the lock file changes): require.js, @jupyter-widgets/html-manager (renders the saved widget
state without a kernel), anywidget's front end, MathJax. The site works from any static server with no
internet; the build fails if a page would load anything from another host or links to a missing file.
"""

import argparse
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import mistune
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
NPM_DIR = ROOT / "tools" / "site"  # package.json + package-lock.json (committed), node_modules (git-ignored)
TEMPLATES = NPM_DIR / "templates"  # the "site" template: nbconvert's "lab" page with local scripts
NOTEBOOK_GLOBS = ("notebooks/*.ipynb", "notebooks/deep-dives/*.ipynb")
INDEX_SECTION = "## 笔记本 / The notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT = 1200  # seconds; notebook 05 trains small networks
# npm file -> site path, for the scripts every page loads (widget front ends are placed per widget state)
ASSETS = {
    "requirejs/require.js": "static/require.js",
    "@jupyter-widgets/html-manager/dist": "static/html-manager",
    "mathjax/es5/tex-chtml-full.js": "static/mathjax/tex-chtml-full.js",
    "mathjax/es5/output/chtml/fonts/woff-v2": "static/mathjax/output/chtml/fonts/woff-v2",
}
# embed-amd.js bundles libembed-amd; embed.js is the build for pages without require.js; browsers take
# Font Awesome's woff2/woff, so its legacy eot/ttf/svg copies (2 MB) stay out
SKIP_ASSETS = shutil.ignore_patterns("embed.js", "embed.js.*", "libembed-amd.js", "*.map", "*.LICENSE.txt",
                                     "*.eot", "*.ttf", "*.svg")
NO_KERNEL_NOTE = (
    "这是静态网站：小部件可以播放、单步、拖动，但改参数需要运行中的笔记本"
    "（<code>python3 make.py lab</code>，或 Binder）。<br>"
    "A static site: the widgets play, step and scrub; changing their parameters needs a running notebook "
    "(<code>python3 make.py lab</code>, or Binder)."
)


# ----------------------------------------------------------------------------------------------------
# npm packages
# ----------------------------------------------------------------------------------------------------


def npm_install(npm_dir=NPM_DIR):
    """tools/site/node_modules from the committed lock file; `npm ci` again only when the lock changes."""
    lock = npm_dir / "package-lock.json"
    modules = npm_dir / "node_modules"
    stamp = modules / ".poolkit-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return modules
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: the site copies its scripts from npm packages. Fix: install Node.js 20+ "
                 "(it comes with npm), e.g. `apt-get install nodejs npm`.")
    print("npm ci (pinned front-end packages, tools/site/package-lock.json) ...", flush=True)
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=npm_dir, check=True)
    stamp.write_text(digest)
    return modules


def widget_modules(nb):
    """(module, version range) of every widget front end the saved state needs, except html-manager's own."""
    needed = set()
    for model in nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}).values():
        state = model.get("state", {})
        for module, version in ((model.get("model_module"), model.get("model_module_version")),
                                (state.get("_view_module"), state.get("_view_module_version"))):
            if module and not module.startswith("@jupyter-widgets/"):
                needed.add((module, version))
    return needed


def copy_assets(node_modules, out, modules):
    """The scripts, styles and fonts every page loads, plus each widget front end where html-manager looks
    for it: static/npm/<module>@<version range, verbatim>/dist/index.js (its loader asks for the range)."""
    for source, target in ASSETS.items():
        src, dst = node_modules / source, out / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=SKIP_ASSETS, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    shutil.copy2(NPM_DIR / "site.css", out / "static" / "site.css")
    for module, version in sorted(modules):
        package = node_modules / module
        if not (package / "dist" / "index.js").exists():
            sys.exit(f"A widget needs the front end {module!r} ({version}), which tools/site/package.json "
                     f"does not install. Fix: `npm install --save-exact {module}` in tools/site, rebuild.")
        installed = json.loads((package / "package.json").read_text())["version"]
        wanted = re.match(r"[~^=v]*(\d+\.\d+)", version or "")
        if wanted and not installed.startswith(wanted.group(1) + "."):
            sys.exit(f"The widgets were saved for {module} {version}, but tools/site/package.json pins "
                     f"{installed}. Fix: pin the {module} version that matches the Python package.")
        target = out / "static" / "npm" / f"{module}@{version}" / "dist"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(package / "dist" / "index.js", target / "index.js")


# ----------------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------------


def find_notebooks(root=ROOT):
    """The core path (notebooks/*.ipynb), then the deep dives, each in file-name order."""
    return [path for pattern in NOTEBOOK_GLOBS for path in sorted(root.glob(pattern))]


def execute(path):
    """The notebook run top to bottom in a fresh kernel, in its own folder, as a learner runs it."""
    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=CELL_TIMEOUT, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(path.parent)}})
    return nb


def notebook_title(nb, fallback):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return re.sub(r"[*_`]", "", line[2:]).strip()
    return fallback


def ipynb_links_to_html(page):
    """Relative links to notebooks point at their pages: href="02-x.ipynb#y" -> href="02-x.html#y"."""
    def fix(match):
        url = urlsplit(match.group(2))
        if url.scheme or url.netloc or not url.path.endswith(".ipynb"):
            return match.group(0)
        return f'{match.group(1)}="{match.group(2).replace(".ipynb", ".html", 1)}"'
    return re.sub(r'(href)="([^"]*)"', fix, page)


def render_page(nb, site_root, title):
    """One notebook as a page; site_root is the relative path from the page to the site ("../")."""
    exporter = HTMLExporter(template_name="site", extra_template_basedirs=[str(TEMPLATES)],
                            language_code="zh")
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "site_root": site_root})
    return ipynb_links_to_html(page)


def readme_section(readme, heading=INDEX_SECTION):
    """The markdown of one README section: from its heading to the next heading of the same level."""
    lines = readme.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        sys.exit(f"README.md has no section {heading!r}: the site's index is built from it.")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


def render_index(readme):
    """index.html: the README's title and its notebook table, linking to the pages."""
    to_html = mistune.create_markdown(plugins=["table"])
    title = readme.splitlines()[0]
    plain_title = title.lstrip("# ").strip()
    note = f'<p class="pk-site-note">{NO_KERNEL_NOTE}</p>\n'
    body = to_html(title) + note + to_html(readme_section(readme))
    return ipynb_links_to_html(
        "<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        f"<title>{plain_title}</title>\n<link rel=\"stylesheet\" href=\"static/site.css\">\n</head>\n"
        f"<body class=\"pk-site-index\">\n{body}</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------------
# Checks: nothing from another host, no broken relative link
# ----------------------------------------------------------------------------------------------------

LOADING = {"script": "src", "img": "src", "link": "href", "iframe": "src", "source": "src", "video": "src",
           "audio": "src"}


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (tag, attribute, url)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append((tag, name, value))


def check_site(out):
    """Problems of the built site: resources from other hosts, relative links to files that don't exist."""
    problems = []
    for page in sorted(out.rglob("*.html")):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, name, value in parser.refs:
            url = urlsplit(value)
            where = f"{page.relative_to(out)}: <{tag} {name}={value[:80]!r}>"
            if url.scheme in ("http", "https") or url.netloc:
                if LOADING.get(tag) == name:
                    problems.append(f"{where} loads from another host")
                continue
            if url.scheme or not url.path:  # data:, mailto:, #anchor
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if not target.exists() or not target.is_relative_to(out.resolve()):
                problems.append(f"{where} points to a missing file")
    return problems


# ----------------------------------------------------------------------------------------------------
# The whole site
# ----------------------------------------------------------------------------------------------------


def build(out, root=ROOT, npm_dir=NPM_DIR):
    """Build the site from root's README.md, notebooks/ and Images/ into out; returns the pages written."""
    start = time.perf_counter()
    for name in sorted(k for k in os.environ if k.startswith("POOLKIT_")):  # e.g. the runner's POOLKIT_QUICK
        print(f"Ignoring {name}={os.environ.pop(name)}: the site shows the learner's own run.", flush=True)
    node_modules = npm_install(npm_dir)
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    modules, pages = set(), []
    for path in find_notebooks(root):
        rel = path.relative_to(root)
        t0 = time.perf_counter()
        nb = execute(path)
        modules |= widget_modules(nb)
        target = out / rel.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        site_root = "../" * (len(rel.parts) - 1)
        target.write_text(render_page(nb, site_root, notebook_title(nb, path.stem)), encoding="utf-8")
        pages.append(target)
        print(f"{rel}: executed and written in {time.perf_counter() - t0:.1f} s", flush=True)
    if (root / "Images").is_dir():
        shutil.copytree(root / "Images", out / "Images")
    copy_assets(node_modules, out, modules)
    (out / "index.html").write_text(render_index((root / "README.md").read_text(encoding="utf-8")),
                                    encoding="utf-8")
    problems = check_site(out)
    if problems:
        sys.exit("The site has problems:\n  " + "\n  ".join(problems))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"Built {out} in {time.perf_counter() - start:.0f} s: {len(pages)} pages, {size / 1e6:.1f} MB. "
        f"Try it: python3 -m http.server -d {out} 8000, then open http://127.0.0.1:8000/", flush=True)
    return pages


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="the site's folder (default: site/)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the project with README.md, notebooks/ and Images/ (default: this repository)")
    args = parser.parse_args(argv)
    build(args.out, root=args.root.resolve())


if __name__ == "__main__":
    main()
