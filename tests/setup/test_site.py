"""The static site (tools/build_site.py, `python3 make.py site`) in a real browser, with no internet.

Kept fast: instead of the full site, `make.py site` builds a small temporary project (a README with a
notebook table, a core notebook with a SlidingWindow, a formula, an image and a collapsed solution, a second
core notebook, the only one that says 步幅, and a deep dive two folders down). `python -m http.server`
serves it on 127.0.0.1, and headless Chromium opens it with every
request to another host blocked and recorded. The npm packages come from tools/site/package-lock.json
(`npm ci` once, then reused while the lock file stays the same).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import load_make, require_chromium

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
import site_bench  # noqa: E402

ARTIFACTS = ROOT / "artifacts"
TIMEOUT = 60_000  # ms
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

README = """# 池化层测试 / Pooling test

## 开始 / Start

Not on the site.

## 笔记本 / The notebooks

| # | 标题 / Title |
|---|---|
| 01 | [滑动窗口 / window](notebooks/01-window.ipynb) |
| 02 | [步子 / steps](notebooks/02-steps.ipynb) |
| D1 | [深入 / deep dive](notebooks/deep-dives/d1-deep.ipynb) |

Every notebook runs offline.

## 依赖 / Dependencies

Not on the site either.
"""
CORE = [
    nbformat.v4.new_markdown_cell(
        "# 滑动窗口 / The window\n\nOutput size $H_{out} = \\lfloor (H - k) / s \\rfloor + 1$.\n\n"
        "![a GIF](../Images/tiny.png)\n\nNext: [the deep dive](deep-dives/d1-deep.ipynb)."),
    nbformat.v4.new_code_cell("import torch\nimport poolkit\nX = torch.arange(16.0).reshape(4, 4)\n"
                              "poolkit.SlidingWindow(X, kernel_size=2, stride=1)"),
    nbformat.v4.new_code_cell("reference_answer = 42\nprint(reference_answer)",  # a collapsed solution
                              metadata={"jupyter": {"source_hidden": True, "outputs_hidden": True}}),
]
STEPS = [  # no widget, no formula; the only page that says 步幅
    nbformat.v4.new_markdown_cell("# 步子 / Steps\n\n## 概览 (Overview)\n\n"
                                  "窗口每次移动的格数叫步幅（stride），"
                                  "这一页只讲它。\n\nThe window moves by its stride."),
    nbformat.v4.new_code_cell("print('stride', 2)"),
]
DEEP = [
    nbformat.v4.new_markdown_cell("# 深入 / Deep dive\n\n![again](../../Images/tiny.png)\n\n"
                                  "Back: [the window](../01-window.ipynb)"),
    nbformat.v4.new_code_cell("import os\n"
                              "print('test settings:', [k for k in os.environ if k.startswith('POOLKIT_')])"),
]

NOTEBOOKS = (("notebooks/01-window.ipynb", CORE), ("notebooks/02-steps.ipynb", STEPS),
             ("notebooks/deep-dives/d1-deep.ipynb", DEEP))


def require_npm():
    if shutil.which("npm") and shutil.which("node"):
        return
    message = "npm or node not found: install Node.js 20+ (with npm) to build the static site."
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A small project built by build_site.build(): README, one core notebook, one deep dive, Images/."""
    require_npm()
    root = tmp_path_factory.mktemp("project")
    (root / "README.md").write_text(README, encoding="utf-8")
    (root / "notebooks" / "deep-dives").mkdir(parents=True)
    (root / "Images").mkdir()
    shutil.copy(ROOT / "Images" / "multi-channel.png", root / "Images" / "tiny.png")
    for path, cells in NOTEBOOKS:
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / path)
    out = root / "site"
    make = load_make()  # the README's `python3 make.py site`, pointed at the small project
    make.ensure_venv = lambda *files: None  # the test already runs in .venv
    os.environ["POOLKIT_QUICK"] = "1"  # as the notebook runner sets it: the site must not inherit it
    try:
        assert make.site(["--root", str(root), "--out", str(out)]) == 0
    finally:
        del os.environ["POOLKIT_QUICK"]
    return out


def test_make_py_site_runs_the_builder(site):
    """`python3 make.py site` ran tools/build_site.py (the fixture above), which wrote the whole site."""
    assert sorted(p.name for p in site.iterdir()) == ["Images", "index.html", "notebooks", "static"]


@pytest.fixture(scope="module")
def server(site):
    """The README's `python3 -m http.server -d site 8000`, on a free port of 127.0.0.1 (site_bench.serve)."""
    proc, base = site_bench.serve(site)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def visit(browser, server):
    """open(path) -> a page of the site; afterwards, the test can read what went wrong on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    record = {"outside": [], "errors": [], "failed": []}

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            record["outside"].append(r.request.url)
            r.abort()

    context.route("**/*", route)

    def open_page(path):
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and record["errors"].append(m.text))
        page.on("pageerror", lambda e: record["errors"].append(str(e)))
        page.on("response", lambda r: r.status >= 400 and record["failed"].append(f"{r.status} {r.url}"))
        page.goto(server + path)
        page.record = record
        return page

    yield open_page
    context.close()


def assert_clean(page):
    assert page.record["outside"] == [], "requests to other hosts"
    assert page.record["failed"] == [], "requests that failed"
    assert page.record["errors"] == [], "console errors"


# ----------------------------------------------------------------------------------------------------
# The builder's pieces (no browser)
# ----------------------------------------------------------------------------------------------------


def test_notebook_links_become_page_links():
    same = '<a href="https://github.com/o/r/blob/main/n.ipynb">c</a> <a href="#x">d</a> <img src="../a.gif">'
    page = '<a href="02-x.ipynb">a</a> <a href="deep-dives/d.ipynb#sec">b</a> ' + same
    assert build_site.ipynb_links_to_html(page) == (
        '<a href="02-x.html">a</a> <a href="deep-dives/d.html#sec">b</a> ' + same)


def test_readme_section_stops_at_the_next_section():
    section = build_site.readme_section(README)
    assert section.startswith("## 笔记本 / The notebooks") and "Every notebook runs offline." in section
    assert "Not on the site" not in section


def test_the_real_readme_links_every_notebook_and_nothing_else():
    """The index lists every notebook there is (else the site hides it) and links no missing one."""
    index = build_site.render_index((ROOT / "README.md").read_text(encoding="utf-8"))
    linked = set(re.findall(r'href="(notebooks/[^"#]+)\.html', index))
    on_disk = {str(p.relative_to(ROOT).with_suffix("")) for p in build_site.find_notebooks(ROOT)}
    assert on_disk and linked == on_disk


def test_npm_packages_are_pinned_and_match_the_python_side():
    """Exact versions in package.json, the same in the lock; anywidget's front end = the Python package."""
    package = json.loads((build_site.NPM_DIR / "package.json").read_text())
    lock = json.loads((build_site.NPM_DIR / "package-lock.json").read_text())
    for name, version in {**package["dependencies"], **package["devDependencies"]}.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version}: pin an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    (python_pin,) = re.findall(r"^anywidget==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert package["dependencies"]["anywidget"] == python_pin
    assert package["devDependencies"]["lighthouse"].startswith("12."), "Lighthouse 13 needs Node 22"


def test_npm_ci_runs_again_only_when_the_lock_file_changes(tmp_path, monkeypatch):
    (tmp_path / "package-lock.json").write_text("{}")
    calls = []
    monkeypatch.setattr(build_site.subprocess, "run", lambda args, **kw: calls.append(args[1]))
    (tmp_path / "node_modules").mkdir()
    build_site.npm_install(tmp_path)
    build_site.npm_install(tmp_path)
    assert calls == ["ci"]
    (tmp_path / "package-lock.json").write_text('{"changed": true}')
    build_site.npm_install(tmp_path)
    assert calls == ["ci", "ci"]
    build_site.npm_install(tmp_path, dev=True)  # the tests and the benchmark add axe-core and Lighthouse
    build_site.npm_install(tmp_path)
    build_site.npm_install(tmp_path, dev=True)
    assert calls == ["ci", "ci", "ci"]


def test_check_site_reports_outside_scripts_and_broken_links(tmp_path):
    (tmp_path / "ok.css").write_text("")
    (tmp_path / "p.html").write_text(
        '<link rel="stylesheet" href="ok.css"><script src="https://cdn.example.org/x.js"></script>'
        '<a href="https://example.org/">fine: a link, not a load</a><img src="../Images/missing.gif">'
        '<img src="data:image/png;base64,AAAA"><a href="#top">top</a>')
    problems = build_site.check_site(tmp_path)
    assert len(problems) == 2
    assert "loads from another host" in problems[0] and "cdn.example.org" in problems[0]
    assert "missing file" in problems[1] and "missing.gif" in problems[1]


def test_built_pages_mirror_the_notebooks_and_need_no_internet(site):
    assert (site / "notebooks" / "01-window.html").exists()
    assert (site / "notebooks" / "deep-dives" / "d1-deep.html").exists()
    assert build_site.check_site(site) == []
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="notebooks/01-window.html"' in index and 'href="notebooks/deep-dives/d1-deep.html"' in index
    assert "Not on the site" not in index
    page = (site / "notebooks" / "01-window.html").read_text(encoding="utf-8")
    assert re.search(r'<meta [^>]*name="poolkit-no-kernel"', page.split("</head>")[0])
    # the saved widget state, in a file that static/widgets.js loads with the renderer
    assert re.search(r'data-state="01-window_files/widget-state.json"', page)
    state = json.loads((site / "notebooks" / "01-window_files" / "widget-state.json").read_text())
    assert state["state"] and "application/vnd.jupyter.widget-view+json" in page
    assert 'href="deep-dives/d1-deep.html"' in page
    assert 'src="../static/widgets.js"' in page  # the widget renderer, loaded when a widget comes near
    deep = (site / "notebooks" / "deep-dives" / "d1-deep.html").read_text(encoding="utf-8")
    assert 'href="../01-window.html"' in deep
    assert 'src="../../static/site.js"' in deep
    assert "test settings: []" in deep, "the notebooks ran with the runner's settings, not the learner's"


# ----------------------------------------------------------------------------------------------------
# In Chromium, offline
# ----------------------------------------------------------------------------------------------------


def counter(root):
    k, n = root.locator(".pk-counter").inner_text().split("/")
    return int(k), int(n)


@pytest.mark.browser
def test_index_opens_the_pages(visit):
    page = visit("index.html")
    page.get_by_role("link", name="深入 / deep dive").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("notebooks/deep-dives/d1-deep.html")
    image = page.locator('img[src="../../Images/tiny.png"]')
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.get_by_role("link", name=build_site.SITE_TITLE).click()  # the header's link to the contents
    page.wait_for_load_state("load")
    assert page.url.endswith("/index.html")
    assert_clean(page)


@pytest.mark.browser
def test_widget_plays_without_kernel_or_internet(visit):
    page = visit("notebooks/01-window.html")
    root = page.locator(".pk-root").first
    root.wait_for(timeout=TIMEOUT)
    assert root.locator(".pk-grid-in .pk-in").count() == 16
    assert root.locator(".pk-grid-out .pk-cell").count() == 9
    assert counter(root) == (1, 9)
    root.locator(".pk-play").click()
    page.wait_for_function("(r) => parseInt(r.querySelector('.pk-counter').textContent) >= 3",
                           arg=root.element_handle(), timeout=TIMEOUT)
    root.locator(".pk-play").click()  # pause
    assert counter(root)[0] >= 3
    root.locator(".pk-slider").fill("5")
    assert counter(root) == (6, 9)
    # MathJax typeset the formula; the image from ../Images/ loaded
    page.wait_for_selector("mjx-container", timeout=TIMEOUT)
    image = page.locator('img[src="../Images/tiny.png"]')
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "site-widget.png")
    # the collapsed solution stays collapsed until clicked, as in JupyterLab
    solution = page.get_by_text("reference_answer = 42")
    assert solution.count() == 1 and not solution.is_visible()
    page.locator("details.pk-site-hidden summary").first.click()
    assert solution.is_visible()
    assert_clean(page)


WIDGET_HAS_CONTRACT = "data-needs-kernel" in (ROOT / "poolkit" / "widget.js").read_text(encoding="utf-8")


@pytest.mark.browser
@pytest.mark.xfail(not WIDGET_HAS_CONTRACT, strict=True,
                   reason="poolkit/widget.js does not implement the no-kernel contract yet")
def test_controls_that_need_python_are_disabled_with_a_note(visit):
    """The widget's side of the contract (poolkit/widget.js): with <meta name="poolkit-no-kernel">, every
    control that needs Python carries data-needs-kernel and is disabled, and .pk-no-kernel says why."""
    page = visit("notebooks/01-window.html")
    root = page.locator(".pk-root").first
    root.wait_for(timeout=TIMEOUT)
    needs_kernel = root.locator("[data-needs-kernel]")
    assert needs_kernel.count() >= 1, "no control is marked data-needs-kernel"
    for i in range(needs_kernel.count()):
        assert needs_kernel.nth(i).is_disabled(), needs_kernel.nth(i).evaluate("e => e.outerHTML")
    note = root.locator(".pk-no-kernel")
    assert note.is_visible() and note.inner_text().strip()
    assert root.locator(".pk-play").is_enabled() and root.locator(".pk-slider").is_enabled()
    assert_clean(page)


# ----------------------------------------------------------------------------------------------------
# The book: contents, previous/next, download, cache, formulas, search
# ----------------------------------------------------------------------------------------------------

ORDER = ["notebooks/01-window.html", "notebooks/02-steps.html", "notebooks/deep-dives/d1-deep.html"]


def page_text(site, rel):
    return (site / rel).read_text(encoding="utf-8")


def soup(site, rel):
    from bs4 import BeautifulSoup  # nbconvert's own dependency

    return BeautifulSoup(page_text(site, rel), "html.parser")


def resolve(rel, href):
    return os.path.normpath(Path(rel).parent / href)


def test_every_page_has_the_contents_in_the_index_order_with_itself_marked(site):
    for i, rel in enumerate(ORDER):
        page = soup(site, rel)
        toc = page.select_one("nav.pk-toc")
        assert [resolve(rel, a["href"]) for a in toc.select("a")] == ORDER, rel
        (current,) = toc.select('a[aria-current="page"]')
        assert resolve(rel, current["href"]) == rel
        headings = [h.get_text() for h in toc.select("h2")]
        assert headings == ["核心路径 / Core path", "选读 / Deep dives"]
        deep = toc.find_all("h2")[1].find_next("ol")
        assert [resolve(rel, a["href"]) for a in deep.select("a")] == ORDER[2:]
        prev, nxt = page.select_one('a[rel="prev"]'), page.select_one('a[rel="next"]')
        assert (resolve(rel, prev["href"]) if prev else None) == (ORDER[i - 1] if i else None)
        assert (resolve(rel, nxt["href"]) if nxt else None) == (ORDER[i + 1] if i + 1 < len(ORDER) else None)


def test_every_page_links_its_own_notebook_and_says_how_to_run_it(site):
    for rel in ORDER:
        page = soup(site, rel)
        ipynb = Path(rel).with_suffix(".ipynb")
        downloads = {a["href"] for a in page.select("a[download]")}
        assert downloads == {ipynb.name}, rel
        assert (site / ipynb).read_bytes() == (site.parent / ipynb).read_bytes()  # the clean source
        text = page.select_one("#pk-run").get_text()
        assert "python3 make.py lab" in text and "python3 make.py test" in text
        assert "mybinder.org" not in str(page)  # the test README links no real Binder
        description = page.select_one('meta[name="description"]')["content"]
        assert 0 < len(description) <= build_site.DESCRIPTION_CHARS
    steps = soup(site, "notebooks/02-steps.html").select_one('meta[name="description"]')["content"]
    assert steps == "窗口每次移动的格数叫步幅（stride），这一页只讲它。"  # from the overview
    assert soup(site, "index.html").select_one('meta[name="description"]')["content"]


def test_binder_link_appears_once_the_readme_has_a_real_one():
    assert build_site.binder_base("[![Binder](https://mybinder.org/badge.svg)]"
                                  "(https://mybinder.org/v2/gh/GITHUB_OWNER/GITHUB_REPO/HEAD)") is None
    base = build_site.binder_base("(https://mybinder.org/v2/gh/someone/pooling/HEAD?labpath=x)")
    assert base == "https://mybinder.org/v2/gh/someone/pooling/HEAD"
    _, box = build_site.run_html(Path("notebooks/01-a.ipynb"), base)
    assert "https://mybinder.org/v2/gh/someone/pooling/HEAD?labpath=notebooks/01-a.ipynb" in box


def test_formulas_are_mathml_and_no_page_loads_mathjax_or_unused_widget_code(site):
    page = page_text(site, "notebooks/01-window.html")
    assert re.search(r'<mjx-container class="MathJax" jax="MathML"><math [^>]*>.*?<mi>H</mi>', page)
    assert "$H_{out}" not in page
    for rel in [*ORDER, "index.html"]:
        assert "mathjax" not in re.sub(r'<mjx-container class="MathJax"', "", page_text(site, rel)).lower()
    for rel in ORDER[1:] + ["index.html"]:  # no saved widgets on these pages: no widget code
        text = page_text(site, rel)
        assert "widgets.js" not in text and "require.js" not in text and "embed-amd" not in text, rel


def test_a_second_build_executes_nothing_and_a_change_reruns_only_that_notebook(site, tmp_path, monkeypatch):
    """build/site-cache/ holds the executed notebooks: an unchanged notebook is not run again."""
    root = site.parent
    assert (root / "build" / "site-cache" / "notebooks").is_dir()
    ran = []
    real_execute = build_site.execute
    monkeypatch.setattr(build_site, "execute", lambda path: ran.append(path.name) or real_execute(path))
    out = tmp_path / "again"
    build_site.build(out, root=root)
    assert ran == []
    text = lambda s, rel: soup(s, rel).select_one("[data-pagefind-body]").get_text()  # noqa: E731
    assert text(out, ORDER[0]) == text(site, ORDER[0])
    steps = root / "notebooks" / "02-steps.ipynb"
    original = steps.read_bytes()
    nb = nbformat.read(steps, as_version=4)
    nb.cells[1].source = "print('stride', 3)"
    nbformat.write(nb, steps)
    try:
        build_site.build(out, root=root)
    finally:
        steps.write_bytes(original)
    assert ran == ["02-steps.ipynb"]
    assert "stride 3" in page_text(out, "notebooks/02-steps.html")
    ran.clear()
    assert make_site_args(["site", "--rerun"]) == ["--rerun"]  # `python3 make.py site --rerun` passes it on
    build_site.build(out, root=root, rerun=True)
    assert sorted(ran) == sorted(p.name for p in (root / "notebooks").glob("**/*.ipynb"))


def make_site_args(argv):
    """What `python3 make.py <argv>` hands to tools/build_site.py."""
    make, calls = load_make(), []
    make.ensure_venv = lambda *files: None
    make.run = lambda *args: calls.append(args) or 0
    make.main(argv)
    return list(calls[0][2:])


def test_the_cache_key_follows_poolkit_and_the_pins(tmp_path):
    (tmp_path / "poolkit").mkdir()
    (tmp_path / "poolkit" / "a.py").write_text("x = 1")
    (tmp_path / "requirements.txt").write_text("torch==1")
    before = build_site.inputs_digest([tmp_path])
    (tmp_path / "poolkit" / "a.py").write_text("x = 2")
    after_code = build_site.inputs_digest([tmp_path])
    (tmp_path / "requirements-test.txt").write_text("pytest==1")
    after_pins = build_site.inputs_digest([tmp_path])
    (tmp_path / "poolkit" / "__pycache__").mkdir()
    (tmp_path / "poolkit" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert len({before, after_code, after_pins}) == 3
    assert build_site.inputs_digest([tmp_path]) == after_pins  # bytecode is not an input


def test_the_cache_is_git_ignored():
    ignored = subprocess.run(["git", "check-ignore", "-q", str(build_site.CACHE / "x.ipynb")], cwd=ROOT)
    assert ignored.returncode == 0, f"{build_site.CACHE} must be git-ignored"


@pytest.mark.browser
def test_search_finds_a_chinese_word_offline(visit):
    """Pagefind's index (static/pagefind/), in Chinese: 步幅 is on 02's page only, inside a sentence."""
    page = visit("notebooks/deep-dives/d1-deep.html")
    page.get_by_label("搜索 / Search").fill("步幅")
    results = page.locator("#pk-search-results li a")
    results.first.wait_for(timeout=TIMEOUT)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert hrefs == ["../../notebooks/02-steps.html"], hrefs
    # the index's 步子 shares a character but not the word: the hit is the word, marked in the excerpt
    assert "步幅" in page.locator("#pk-search-results p").first.inner_text()
    assert {"步", "幅"} <= set("".join(page.locator("#pk-search-results mark").all_inner_texts()))
    assert "1" in page.locator("#pk-search-status").inner_text()
    results.first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("notebooks/02-steps.html")
    page.get_by_label("搜索 / Search").fill("reference_answer")  # only in the collapsed solution
    page.wait_for_function("document.getElementById('pk-search-status').textContent.startsWith('0 ')",
                           timeout=TIMEOUT)
    page.get_by_role("link", name="下一页 / Next → 深入 / deep dive").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("notebooks/deep-dives/d1-deep.html")
    assert_clean(page)


# the site lays out cells far below the screen only when the reader nears them (content-visibility: auto);
# axe checks every cell, so all of them are laid out first
RENDER_ALL = ".jp-Cell { content-visibility: visible !important; }"
AXE_SERIOUS = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .flatMap(v => v.nodes.map(n => ({rule: v.id, impact: v.impact, target: n.target.join(' '),
                                   html: n.html.slice(0, 160), widget: !!document.querySelector(n.target[0])
                                   && !!document.querySelector(n.target[0]).closest('.pk-root')})))"""


def axe_violations(browser, server, width):
    """axe-core's serious and critical violations on every page at one width, once the widgets drew."""
    axe = (build_site.npm_install(dev=True) / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    context = browser.new_context(viewport={"width": width, "height": 900})
    found, sideways = [], {}
    try:
        for rel in ["index.html", *ORDER]:
            page = context.new_page()
            page.goto(server + rel, wait_until="load")
            views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]')
            if views.count():
                views.first.evaluate("e => e.parentElement.scrollIntoView()")
                page.locator(".pk-root").first.wait_for(timeout=TIMEOUT)
            page.add_style_tag(content=RENDER_ALL)
            page.add_script_tag(content=axe)
            found += [{**v, "page": rel} for v in page.evaluate(AXE_SERIOUS)]
            sideways[rel] = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            page.close()
    finally:
        context.close()
    return found, sideways


def describe_violations(found):
    return "\n".join(f"{v['page']}: {v['rule']} ({v['impact']}) at {v['target']}: {v['html']}" for v in found)


@pytest.fixture(scope="module")
def axe_results(browser, server):
    return {width: axe_violations(browser, server, width) for width in (1400, 390)}


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
def test_axe_finds_nothing_serious_on_the_site(axe_results, width):
    """The site's own parts (everything but the widget): 0 serious or critical axe-core violations."""
    found = [v for v in axe_results[width][0] if not v["widget"]]
    assert found == [], f"at {width} px:\n" + describe_violations(found)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
def test_axe_finds_nothing_serious_in_the_widget(axe_results, width):
    found = [v for v in axe_results[width][0] if v["widget"]]
    assert found == [], f"at {width} px:\n" + describe_violations(found)


@pytest.mark.browser
def test_no_page_scrolls_sideways_on_a_phone(axe_results):
    sideways = axe_results[390][1]
    assert sideways and all(px <= 0 for px in sideways.values()), sideways


@pytest.mark.browser
def test_pages_at_390_and_1400_px_show_the_contents_and_the_search(browser, server):
    """Screenshots (artifacts/site-390.png, site-1400.png) of 02 with a search typed in; the contents show
    beside the text on a wide screen, folded under its summary on a phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, toc_open in ((390, False), (1400, True)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(server + "notebooks/02-steps.html", wait_until="load")
        toc = page.locator("nav.pk-toc details")
        assert toc.evaluate("d => d.open") is toc_open
        if not toc_open:
            page.get_by_text("目录 / Contents", exact=True).click()
        assert page.get_by_role("link", name="步子 / steps").get_attribute("aria-current") == "page"
        page.get_by_label("搜索 / Search").fill("stride")
        page.locator("#pk-search-results li").first.wait_for(timeout=TIMEOUT)
        page.screenshot(path=ARTIFACTS / f"site-{width}.png")
        context.close()


def test_site_bench_starts_and_names_its_columns():
    """tools/site_bench.py (Lighthouse on every page) starts; a full run is a benchmark, not a test."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "site_bench.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Lighthouse" in done.stdout and "--pages" in done.stdout


def test_make_py_site_bench_runs_the_benchmark(monkeypatch):
    """`python3 make.py site-bench` is tools/site_bench.py in the venv with the test requirements."""
    make = load_make()
    calls = []
    monkeypatch.setattr(make, "ensure_venv", lambda *files: calls.append(files))
    monkeypatch.setattr(make, "run", lambda *args: calls.append(args) or 0)
    assert make.main(["site-bench", "--pages", "index.html"]) == 0
    assert calls == [("requirements.txt", "requirements-test.txt"),
                     ("python", "tools/site_bench.py", "--pages", "index.html")]


@pytest.mark.browser
def test_site_bench_measures_the_index_of_the_small_site(site):
    """One real Lighthouse run, on the small site's index (the cheapest page); prints one table row."""
    require_chromium()
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "site_bench.py"), "--site", str(site),
                           "--pages", "index.html", "--no-axe"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| index.html |")]
    scores = [int(cell) for cell in row.split("|")[2:6]]
    assert all(0 <= score <= 100 for score in scores), row
    assert "targets (performance >= 90" in done.stdout, done.stdout[-1000:]


def test_site_bench_names_every_target_a_page_misses():
    lh = {"performance": 89, "accessibility": 100, "best-practices": 96, "seo": 90, "lcp_s": 3.0}
    missed = site_bench.below_targets(lh, {"axe_390": ["color-contrast"], "axe_1400": []})
    assert missed == ["performance 89 < 90", "seo 90 < 95", "LCP 3.0 s > 2.5 s",
                      "axe at 390 px: color-contrast"]
    good = {"performance": 90, "accessibility": 100, "best-practices": 95, "seo": 95, "lcp_s": 2.5}
    assert site_bench.below_targets(good, {}) == []
