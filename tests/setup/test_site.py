"""The static site (tools/build_site.py, `python3 make.py site`) in a real browser, with no internet.

Kept fast: instead of the full site, `make.py site` builds a small temporary project (a README with a
notebook table, a core notebook with a SlidingWindow, MathJax, an image and a collapsed solution, a deep dive
two folders down). `python -m http.server` serves it on 127.0.0.1, and headless Chromium opens it with every
request to another host blocked and recorded. The npm packages come from tools/site/package-lock.json
(`npm ci` once, then reused while the lock file stays the same).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import load_make, require_chromium

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

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
DEEP = [
    nbformat.v4.new_markdown_cell("# 深入 / Deep dive\n\n![again](../../Images/tiny.png)\n\n"
                                  "Back: [the window](../01-window.ipynb)"),
    nbformat.v4.new_code_cell("import os\n"
                              "print('test settings:', [k for k in os.environ if k.startswith('POOLKIT_')])"),
]


def require_npm():
    if shutil.which("npm"):
        return
    message = "npm not found: install Node.js 20+ (with npm) to build the static site."
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
    for path, cells in (("notebooks/01-window.ipynb", CORE), ("notebooks/deep-dives/d1-deep.ipynb", DEEP)):
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
    """The README's `python3 -m http.server -d site 8000`, on a free port of 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "http.server", "-d", str(site), "-b", "127.0.0.1", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "http.server did not start"
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
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
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version}: pin an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    (python_pin,) = re.findall(r"^anywidget==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert package["dependencies"]["anywidget"] == python_pin


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
    assert "application/vnd.jupyter.widget-state+json" in page  # saved widget state
    assert 'href="deep-dives/d1-deep.html"' in page
    deep = (site / "notebooks" / "deep-dives" / "d1-deep.html").read_text(encoding="utf-8")
    assert 'src="../../static/require.js"' in deep and 'href="../01-window.html"' in deep
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
    page.get_by_role("link", name="目录 / Contents").click()
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
