"""The sliding-window widget in a real browser: JupyterLab from .venv + headless Debian Chromium.

A temporary JupyterLab root holds a generated notebook with seven widgets; the test opens it, runs the cells
and drives the widget like a learner: play, step, scrub, hover, pin, an invalid parameter; it also checks the
photo at 1280 and 1400 px with the file browser open (channels side by side, cells >= 14 px). Expected
numbers come from torch (F.max_pool2d), never from the widget. Screenshots go to artifacts/.
The same notebook is opened in JupyterLab Light and Dark, and every visible text of every widget, in several
states, is held to WCAG AA contrast (one JupyterLab server per theme).
"""

import contextlib
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import require_chromium, wcag_ratio
from lab_browser import below_aa, lab_server, open_notebook, text_contrasts, unreadable_labels, write_notebook

from poolkit.trace import fmt

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
TIMEOUT = 180_000  # ms; JupyterLab on a busy 2-core machine can be slow to start a kernel

# The notebook the learner would write. Widget 0: 4x4 arange, k=2, s=1 (9 windows), driven by the tests.
# Widget 1: two channels with padding (channels side by side). 2-4: ceil overhang, dilation, the photo.
# 5: notebook 03's RGB photo (three channels); 6: average pooling whose results need 4 digits.
CELLS = [
    "import torch\nimport poolkit\nX = torch.arange(16.0).reshape(4, 4)\n"
    "w = poolkit.SlidingWindow(X, kernel_size=2, stride=1)\nw",
    "X2 = torch.stack([-torch.arange(16.0).reshape(4, 4) - 1, torch.arange(16.0).reshape(4, 4)])\n"
    "poolkit.SlidingWindow(X2, kernel_size=3, stride=2, padding=1)",
    "poolkit.SlidingWindow(torch.ones(6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True, mode='avg')",
    "poolkit.SlidingWindow(torch.arange(49.0).reshape(7, 7), kernel_size=2, dilation=2, stride=2)",
    "poolkit.SlidingWindow.from_photo(32, kernel_size=2, stride=2)",
    "poolkit.SlidingWindow.from_photo(16, rgb=True, kernel_size=2)",  # notebook 03's photo widget
    "X3 = torch.stack([torch.arange(16.0).reshape(4, 4), torch.arange(16.0).reshape(4, 4) + 1])\n"
    "poolkit.SlidingWindow(X3, kernel_size=3, stride=2, padding=1, mode='avg')",  # results 1.111, 1.556
    "poolkit.SlidingWindow(torch.rand(3, 300, 300))",  # too large to draw cell by cell: a message
]
K, S = 2, 1


LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    """labs(theme): the URL of the test notebook on a JupyterLab server (127.0.0.1, token, free port) with
    that theme, serving a temp dir. A theme's server starts when a test first needs it."""
    require_chromium()
    urls = {}
    with contextlib.ExitStack() as servers:
        def url(theme):
            if theme not in urls:
                root = tmp_path_factory.mktemp(theme.split()[-1].lower())
                name = write_notebook(root, CELLS)
                base, token = servers.enter_context(lab_server(root, timeout=TIMEOUT / 1000, theme=theme))
                urls[theme] = f"{base}/lab/tree/{name}?reset&token={token}"
            return urls[theme]
        yield url


@pytest.fixture(scope="module")
def lab(labs):
    """The test notebook in JupyterLab Light (the theme a fresh JupyterLab starts with)."""
    return labs(LIGHT)


@pytest.fixture(scope="module")
def playwright(lab):
    """One Playwright for the module (its sync API allows only one at a time)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def page(lab, playwright):
    """The notebook opened in Chromium, every cell run, with a counter of frames sent to the kernel."""
    browser, pg, sent = open_notebook(playwright, lab, len(CELLS), require_chromium(), timeout=TIMEOUT)
    pg.js_errors = []
    pg.on("pageerror", lambda err: pg.js_errors.append(str(err)))
    pg.kernel_frames = sent
    yield pg
    browser.close()


def widget(page, i=0):
    return page.locator(".pk-root").nth(i)


def torch_output():
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    return F.max_pool2d(X, K, S)[0, 0]


def window_cells(t, out_w=3):
    """The input cells of step t's window, from the geometry (not from the widget)."""
    i, j = divmod(t, out_w)
    return {(i * S + a, j * S + b) for a in range(K) for b in range(K)}


def shown_window(root):
    cells = root.locator(".pk-grid-in .pk-win")
    return {(int(c.get_attribute("data-r")), int(c.get_attribute("data-c"))) for c in cells.all()}


def filled_outputs(root):
    cells = root.locator(".pk-grid-out .pk-cell[data-value]")
    return {int(c.get_attribute("data-t")): c.get_attribute("data-value") for c in cells.all()}


def step_of(root):
    return int(root.get_attribute("data-step"))


def test_grids_render(page):
    root = widget(page)
    root.scroll_into_view_if_needed()
    assert root.locator(".pk-grid-in .pk-in").count() == 16
    assert root.locator(".pk-grid-out .pk-cell").count() == 9
    assert root.locator(".pk-torch").inner_text() == "nn.MaxPool2d(kernel_size=2, stride=1, padding=0)"
    assert shown_window(root) == window_cells(0)
    assert "max(0, 1, 4, 5) = 5" in root.locator(".pk-formula").inner_text()
    root.screenshot(path=ARTIFACTS / "widget-start.png")
    # the two-channel widget: channels side by side, the same window position in both
    two = widget(page, 1)
    assert two.locator(".pk-channel").count() == 2
    boxes = [two.locator(".pk-channel").nth(c).bounding_box() for c in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5, "channels should sit side by side"
    wins = [two.locator(f'.pk-channel[data-channel="{c}"] .pk-grid-in .pk-win') for c in range(2)]
    assert wins[0].count() == wins[1].count() == 9
    assert two.locator(".pk-pad").first.inner_text() == "−∞"
    for i, name in enumerate(["padding-channels", "ceil-avg", "dilation", "photo"], start=1):
        widget(page, i).scroll_into_view_if_needed()
        widget(page, i).screenshot(path=ARTIFACTS / f"widget-{name}.png")


def test_play_fills_torch_values_and_sends_nothing_to_the_kernel(page):
    root = widget(page)
    root.scroll_into_view_if_needed()
    root.locator(".pk-player select").select_option(label="10 /s")
    page.evaluate("""(root) => { window.__steps = [];
        new MutationObserver(() => window.__steps.push(root.dataset.step))
          .observe(root, {attributes: true, attributeFilter: ["data-step"]}); }""",
                  root.element_handle())
    time.sleep(1.0)  # let any pending traffic (the speed select sends nothing, but be fair) settle
    before = len(page.kernel_frames)
    root.locator(".pk-play").click()
    page.wait_for_function("window.__steps.length >= 4 && new Set(window.__steps).size >= 4", timeout=TIMEOUT)
    root.locator(".pk-play").click()  # pause
    time.sleep(0.3)
    assert len(page.kernel_frames) == before, "playback sent messages to the kernel"
    t = step_of(root)
    assert t >= 3
    assert len(set(page.evaluate("window.__steps"))) >= 3
    expected = torch_output().flatten()
    filled = filled_outputs(root)
    assert sorted(filled) == list(range(t + 1)), "exactly the steps played so far are filled"
    assert filled == {k: fmt(expected[k].item()) for k in range(t + 1)}
    assert shown_window(root) == window_cells(t)
    root.screenshot(path=ARTIFACTS / "widget-played.png")
    # play to the end: the whole output equals torch's
    root.locator(".pk-player select").select_option(label="max")
    root.locator(".pk-play").click()
    page.wait_for_function("(r) => r.dataset.playing === '0'", arg=root.element_handle(), timeout=TIMEOUT)
    assert step_of(root) == 8
    assert filled_outputs(root) == {k: fmt(v) for k, v in enumerate(expected.tolist())}
    assert len(page.kernel_frames) == before


def test_step_and_slider_land_on_the_right_cell(page):
    root = widget(page)
    root.locator('button[aria-label^="第一步"]').click()
    assert step_of(root) == 0 and shown_window(root) == window_cells(0)
    root.locator('button[aria-label^="下一步"]').click()
    root.locator('button[aria-label^="下一步"]').click()
    assert step_of(root) == 2 and shown_window(root) == window_cells(2)
    root.locator('button[aria-label^="上一步"]').click()
    assert step_of(root) == 1 and shown_window(root) == window_cells(1)
    cur = root.locator(".pk-grid-out .pk-cur")
    assert (cur.get_attribute("data-i"), cur.get_attribute("data-j")) == ("0", "1")
    root.locator(".pk-slider").fill("5")
    assert step_of(root) == 5 and shown_window(root) == window_cells(5)
    cur = root.locator(".pk-grid-out .pk-cur")
    assert (cur.get_attribute("data-i"), cur.get_attribute("data-j")) == ("1", "2")
    assert root.locator(".pk-counter").inner_text() == "6 / 9"
    # keyboard: focus the widget, End / Home / arrows
    root.focus()
    page.keyboard.press("End")
    assert step_of(root) == 8
    page.keyboard.press("ArrowLeft")
    assert step_of(root) == 7
    page.keyboard.press("Home")
    assert step_of(root) == 0


def test_hover_and_pin(page):
    root = widget(page)
    root.focus()
    page.keyboard.press("Home")
    out = root.locator('.pk-grid-out .pk-cell[data-i="2"][data-j="1"]')
    out.hover()
    assert shown_window(root) == window_cells(7)
    assert root.get_attribute("data-shown") == "7"
    assert "Y[2, 1] = max(9, 10, 13, 14) = 14" in root.locator(".pk-formula").inner_text()
    root.screenshot(path=ARTIFACTS / "widget-hover-output.png")
    page.mouse.move(5, 5)
    assert shown_window(root) == window_cells(0), "leaving the cell returns to the player's step"
    # an input cell: which outputs read it (the centre cell (1, 1) is read by 4 windows)
    root.locator('.pk-grid-in .pk-cell[data-r="1"][data-c="1"]').hover()
    readers = root.locator(".pk-grid-out .pk-reader")
    assert sorted(int(c.get_attribute("data-t")) for c in readers.all()) == [0, 1, 3, 4]
    assert "read by 4 window" in root.locator(".pk-probe").inner_text()
    root.screenshot(path=ARTIFACTS / "widget-hover-input.png")
    # click pins: moving away keeps the output cell's window
    out.click()
    page.mouse.move(5, 5)
    assert shown_window(root) == window_cells(7) and step_of(root) == 7
    out.click()  # unpin


def test_keyboard_probe(page):
    """Shift + arrows do what hovering an input cell does, so the probe needs no mouse."""
    root = widget(page)
    root.focus()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowDown")  # the first press pins X[0, 0]
    readers = root.locator(".pk-grid-out .pk-reader")
    assert [int(c.get_attribute("data-t")) for c in readers.all()] == [0]
    for key in ("Shift+ArrowRight", "Shift+ArrowDown"):
        page.keyboard.press(key)
    assert sorted(int(c.get_attribute("data-t")) for c in readers.all()) == [0, 1, 3, 4]
    assert root.locator(".pk-probe").get_attribute("aria-live") == "polite"
    assert "X[1, 1] is read by 4 window" in root.locator(".pk-probe").inner_text()
    assert root.locator('.pk-grid-in .pk-probe-cell[data-r="1"][data-c="1"]').count() == 1
    page.keyboard.press("ArrowRight")  # a step of the player keeps the probe
    assert step_of(root) == 1 and "X[1, 1]" in root.locator(".pk-probe").inner_text()
    page.keyboard.press("Escape")
    assert root.locator(".pk-probe").inner_text() == "" and readers.count() == 0


def test_invalid_parameter_shows_the_rule(page):
    root = widget(page)
    stride_h = root.get_by_role("spinbutton", name="stride height")
    stride_h.fill("0")
    stride_h.press("Enter")
    error = root.locator(".pk-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    text = error.inner_text()
    assert "stride" in text and "Fix" in text and "Traceback" not in text
    assert "stride=(0, 1)" in text and "[" not in text, "per-axis values read as PyTorch takes them"
    assert not root.locator(".pk-stage").is_visible()
    root.screenshot(path=ARTIFACTS / "widget-error.png")
    stride_h.fill("2")
    stride_h.press("Enter")
    error.wait_for(state="hidden", timeout=TIMEOUT)
    # kernel 2, stride (2, 1): 2 x 3 output, recomputed by Python
    page.wait_for_function("(r) => r.querySelectorAll('.pk-grid-out .pk-cell').length === 6",
                           arg=root.element_handle(), timeout=TIMEOUT)
    assert root.locator(".pk-torch").inner_text() == "nn.MaxPool2d(kernel_size=2, stride=(2, 1), padding=0)"
    root.locator(".pk-reset").click()
    page.wait_for_function("(r) => r.querySelectorAll('.pk-grid-out .pk-cell').length === 9",
                           arg=root.element_handle(), timeout=TIMEOUT)


def test_no_javascript_errors(page):
    assert page.js_errors == []


def test_gradient_view(page):
    root = widget(page)
    root.get_by_role("checkbox", name="gradient").check()
    X = torch.arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
    F.max_pool2d(X, K, S).sum().backward()
    cells = root.locator(".pk-grid-in .pk-in")
    shown = {(int(c.get_attribute("data-r")), int(c.get_attribute("data-c"))): c.inner_text()
             for c in cells.all()}
    assert shown == {(r, c): fmt(X.grad[0, 0, r, c].item()) for r in range(4) for c in range(4)}
    assert "Gradient view" in root.locator(".pk-note").inner_text()
    root.screenshot(path=ARTIFACTS / "widget-gradient.png")
    root.get_by_role("checkbox", name="gradient").uncheck()
    assert root.locator('.pk-grid-in .pk-in[data-r="3"][data-c="3"]').inner_text() == "15"


def open_file_browser(page):
    """The learner's layout: JupyterLab's file browser open on the left (it takes ~250 px of the width)."""
    if not page.locator("#filebrowser").is_visible():
        page.locator('.jp-SideBar.jp-mod-left li[data-id="filebrowser"]').click()
    page.locator("#filebrowser").wait_for(state="visible")


def settle(page, root):
    """Wait until the widget has laid itself out for the current width (it rebuilds on a resize)."""
    time.sleep(0.5)
    page.wait_for_function("(r) => r.querySelector('.pk-grid-in') !== null", arg=root.element_handle())


@pytest.mark.parametrize("width", [1280, 1400])
def test_photo_is_readable_at_common_widths(page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    open_file_browser(page)
    for i, name, channels in [(5, "photo-rgb", 3), (4, "photo-32", 1)]:
        root = widget(page, i)
        root.scroll_into_view_if_needed()
        settle(page, root)
        chans = root.locator(".pk-channel")
        assert chans.count() == channels
        tops = [chans.nth(c).bounding_box()["y"] for c in range(channels)]
        assert max(tops) - min(tops) < 2, f"channels wrap onto another row at {width} px: {tops}"
        stage = root.locator(".pk-stage")
        assert stage.evaluate("(s) => s.scrollWidth <= s.clientWidth + 1"), "the grids overflow sideways"
        cell = root.locator(".pk-grid-in .pk-in").first.bounding_box()
        assert cell["width"] >= 14 and cell["height"] >= 14, f"photo cells are only {cell['width']} px"
        # the window and its argmax (one per channel) are marked, and big enough to see
        argmax = root.locator(".pk-grid-in .pk-argmax")
        assert argmax.count() == channels
        assert all(argmax.nth(c).bounding_box()["width"] >= 14 for c in range(channels))
        assert root.locator(".pk-window").first.bounding_box()["width"] >= 2 * 14
        root.screenshot(path=ARTIFACTS / f"widget-{name}-{width}.png")
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_output_cell_shows_the_formulas_result(page):
    root = widget(page, 6)
    root.scroll_into_view_if_needed()
    X = torch.stack([torch.arange(16.0).reshape(4, 4), torch.arange(16.0).reshape(4, 4) + 1])
    Y = F.avg_pool2d(X, 3, 2, 1)
    assert root.locator(".pk-grid-out .pk-cur").all_inner_texts() == ["1.111", "1.556"]  # the review's case
    root.screenshot(path=ARTIFACTS / "widget-avg-digits.png")
    for t in range(4):
        if t:
            root.locator('button[aria-label^="下一步"]').click()
        results = [f.split(" = ")[-1] for f in root.locator(".pk-formula .pk-math").all_inner_texts()]
        cells = root.locator(".pk-grid-out .pk-cur").all_inner_texts()
        i, j = divmod(t, 2)
        assert results == cells == [fmt(Y[c, i, j].item()) for c in range(2)], (t, results, cells)
        # the number fits its cell: not clipped, not overflowing
        assert root.locator(".pk-grid-out .pk-cur").first.evaluate("(c) => c.scrollWidth <= c.clientWidth")


def test_legend_explains_the_grey_shading(page):
    root = widget(page)
    root.scroll_into_view_if_needed()  # JupyterLab hides cells far outside the view
    key = root.locator('.pk-legend [data-key="shade"]')
    text = key.text_content()
    assert "0" in text and "15" in text and ("larger" in text or "smaller" in text), text
    root.get_by_role("checkbox", name="gradient").check()
    assert "gradient" in key.text_content()
    root.get_by_role("checkbox", name="gradient").uncheck()
    photo = widget(page, 4)
    photo.scroll_into_view_if_needed()
    assert "brighter" in photo.locator('.pk-legend [data-key="shade"]').text_content()


# How wide the widget's output area scrolls, and the element that sticks out furthest
OVERFLOW_JS = """(root) => {
  const area = root.closest(".jp-OutputArea-output") || root.parentElement;
  const right = area.getBoundingClientRect().left + area.clientWidth;
  let widest = null, most = 0;
  for (const el of root.querySelectorAll("*")) {
    const past = el.getBoundingClientRect().right - right;
    if (past > most && el.checkVisibility()) [widest, most] = [el, past];
  }
  return { scroll: area.scrollWidth, client: area.clientWidth,
           widest: widest && `${widest.className}: ${widest.textContent.slice(0, 40)}` };
}"""


@pytest.mark.parametrize("width", [390, 760])
def test_widgets_fit_a_phone_and_a_pane(page, width):
    """At a phone's width and in a pane beside the video (JupyterLab's side panel closed, as a learner
    would at that width), no widget is wider than its output area, and every grid index shows whole."""
    if page.locator("#filebrowser").is_visible():
        page.locator('.jp-SideBar.jp-mod-left li[data-id="filebrowser"]').click()
        page.locator("#filebrowser").wait_for(state="hidden")
    page.set_viewport_size({"width": width, "height": 900})
    try:
        for i in range(len(CELLS)):
            root = widget(page, i)
            root.scroll_into_view_if_needed()
            settle(page, root) if i != 7 else time.sleep(0.2)
            over = root.evaluate(OVERFLOW_JS)
            assert over["scroll"] <= over["client"] + 1, f"widget {i} is too wide at {width} px: {over}"
            assert unreadable_labels(root) == [], f"widget {i} at {width} px"
        page.screenshot(path=ARTIFACTS / f"widget-{width}.png")
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def test_no_javascript_errors_after_resizing(page):
    assert page.js_errors == []


def test_too_large_input_shows_its_size_and_a_fix(page):
    root = widget(page, 7)
    root.scroll_into_view_if_needed()
    # JupyterLab skips rendering cells out of view (content-visibility): wait until this one is drawn
    page.wait_for_function("(r) => r.querySelector('.pk-error').innerText.includes('300')",
                           arg=root.element_handle(), timeout=TIMEOUT)
    error = root.locator(".pk-error")
    assert error.is_visible() and not root.locator(".pk-stage").is_visible()
    text = error.inner_text()
    assert "3×300×300" in text and "270,000" in text
    assert "X[:, ::9, ::9]" in text and "from_photo(size=32)" in text
    assert "Traceback" not in text
    root.screenshot(path=ARTIFACTS / "widget-too-large.png")


def test_screenshots_of_padding_overhang_channels(page):
    for i, name in [(1, "padding-ring"), (2, "overhang"), (5, "channels")]:
        root = widget(page, i)
        root.scroll_into_view_if_needed()
        root.screenshot(path=ARTIFACTS / f"widget-{name}.png")
    assert widget(page, 2).locator(".pk-grid-in .pk-overhang").count() > 0
    assert widget(page, 1).locator(".pk-grid-in .pk-pad").count() == 2 * 20  # a 1-cell ring around 4x4, twice


# ------------------------------------------------------------------------------------------------
# A page without a kernel (the static site puts <meta name="poolkit-no-kernel"> in its <head>)
# ------------------------------------------------------------------------------------------------

NO_KERNEL = """document.addEventListener("DOMContentLoaded", () => {
  const meta = document.createElement("meta");
  meta.name = "poolkit-no-kernel";
  document.head.append(meta);
});"""


@pytest.fixture(scope="module")
def static_page(lab, playwright):
    browser, pg, sent = open_notebook(playwright, lab, len(CELLS), require_chromium(), timeout=TIMEOUT,
                                      init_script=NO_KERNEL)
    pg.kernel_frames = sent
    yield pg
    browser.close()


def test_without_a_kernel_controls_are_off_and_the_player_plays(static_page):
    page = static_page
    root = widget(page)
    root.scroll_into_view_if_needed()
    needs = root.locator("[data-needs-kernel]")
    assert needs.count() >= 10  # 8 number fields, the mode selector, checkboxes, reset
    assert all(needs.nth(i).is_disabled() for i in range(needs.count()))
    note = root.locator(".pk-no-kernel")
    assert note.is_visible() and "running notebook" in note.inner_text() and "Binder" in note.inner_text()
    for live in [".pk-play", ".pk-slider", '.pk-player select', '.pk-player label[title] > input']:
        assert root.locator(live).is_enabled(), live
    root.locator('.pk-player select').select_option(label="10 /s")
    assert root.locator(".pk-counter").inner_text() == "1 / 9"
    before = len(page.kernel_frames)
    root.locator(".pk-play").click()
    page.wait_for_function("(r) => Number(r.dataset.step) >= 3", arg=root.element_handle(), timeout=TIMEOUT)
    root.locator(".pk-play").click()
    assert int(root.locator(".pk-counter").inner_text().split(" / ")[0]) >= 4
    assert len(page.kernel_frames) == before
    root.locator(".pk-slider").fill("5")
    assert root.locator(".pk-counter").inner_text() == "6 / 9"
    root.locator('.pk-grid-out .pk-cell[data-i="2"][data-j="1"]').hover()
    assert root.get_attribute("data-shown") == "7"
    root.screenshot(path=ARTIFACTS / "widget-no-kernel.png")
    assert below_aa(text_contrasts(page.locator(".pk-sw").first)) == [], "the no-kernel note is below AA"


# ------------------------------------------------------------------------------------------------
# Contrast in JupyterLab Light and Dark (WCAG 2.1 AA; tools/lab_browser.py's CONTRAST_JS measures it)
# ------------------------------------------------------------------------------------------------


# Known answers for the measurer: (HTML, the text's colour and background as painted, AA required, exempt)
PROBES = [
    ('<p style="background:#fff;color:#767676">grey</p>', "#767676", "#ffffff", 4.5, False),  # 4.54:1
    ('<div style="background:#000"><div style="background:rgba(255,255,255,0.5)">'
     '<b style="color:#000">half</b></div></div>', "#000000", "#808080", 4.5, False),  # composited layers
    ('<p style="background:#fff;opacity:0.6;color:#000">faded</p>', "#666666", "#ffffff", 4.5, False),
    ('<p style="background:repeating-linear-gradient(90deg,#fff 0 4px,#999 4px 8px);color:#000">striped</p>',
     "#000000", "#999999", 4.5, False),  # the worst stop counts
    ('<p style="background:#fff;color:#aaa;font-size:24px">large</p>', "#aaaaaa", "#ffffff", 3, False),
    ('<p style="background:#fff"><button disabled style="color:#ddd;background:#fff">off</button></p>',
     "#dddddd", "#ffffff", 4.5, True),
]


def check_measurer(page):
    """The measurer finds each probe's text, its colours and its ratio (so a pass below means something)."""
    html = "".join(f'<div data-probe="{i}">{probe[0]}</div>' for i, probe in enumerate(PROBES))
    page.evaluate("""(html) => { const box = document.createElement("div");
        box.id = "pk-contrast-probes";
        box.style.cssText = "position:fixed;left:0;top:0;z-index:99;background:#fff";
        box.innerHTML = html; document.body.append(box); }""", html)
    try:
        for i, (_, color, background, required, exempt) in enumerate(PROBES):
            [found] = text_contrasts(page.locator(f'#pk-contrast-probes [data-probe="{i}"]'))
            assert (found["color"], found["background"], found["required"], found["exempt"]) == (
                color, background, required, exempt), (i, found)
            assert found["ratio"] == pytest.approx(wcag_ratio(color, background), abs=0.01), (i, found)
    finally:
        page.evaluate("document.getElementById('pk-contrast-probes').remove()")


def contrast_states(page):
    """(state, contrast) of every visible text: each widget as it opens, then widget 0 while it previews a
    later output, probes an input cell, shows gradients, has played some steps, shows an invalid value."""
    found = []

    def measure(state, i=0):
        found.extend((state, c) for c in text_contrasts(page.locator(".pk-sw").nth(i)))

    for i in range(len(CELLS)):
        widget(page, i).scroll_into_view_if_needed()  # JupyterLab skips drawing cells out of view
        page.wait_for_function("(r) => r.querySelector('.pk-title').textContent !== ''",
                               arg=widget(page, i).element_handle())
        measure(f"widget {i}", i)
    root = widget(page)
    root.scroll_into_view_if_needed()
    root.locator('.pk-grid-out .pk-cell[data-i="2"][data-j="1"]').hover()
    measure("widget 0, previewing output (2, 1)")
    root.locator('.pk-grid-in .pk-cell[data-r="1"][data-c="1"]').hover()
    measure("widget 0, hovering input (1, 1)")
    page.mouse.move(5, 5)
    root.get_by_role("checkbox", name="gradient").check()
    measure("widget 0, gradient view")
    root.get_by_role("checkbox", name="gradient").uncheck()
    root.locator(".pk-slider").fill("4")
    measure("widget 0, step 5")
    stride_h = root.get_by_role("spinbutton", name="stride height")
    stride_h.fill("0")
    stride_h.press("Enter")
    root.locator(".pk-error").wait_for(state="visible", timeout=TIMEOUT)
    measure("widget 0, stride 0")
    root.locator(".pk-reset").click()
    root.locator(".pk-error").wait_for(state="hidden", timeout=TIMEOUT)
    return found


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_every_text_meets_wcag_aa_in_light_and_dark(labs, playwright, theme):
    browser, page, _ = open_notebook(playwright, labs(theme), len(CELLS), require_chromium(), timeout=TIMEOUT)
    try:
        dark = page.evaluate("document.body.dataset.jpThemeLight") == "false"
        assert dark == (theme == DARK), f"JupyterLab did not start in {theme}"
        check_measurer(page)
        found = contrast_states(page)
        texts = {c["text"] for _, c in found}
        assert len(found) > 500 and any(t.startswith("最大池化 Max pooling") for t in texts), len(found)
        short = theme.split()[-1].lower()
        for i, name in [(0, ""), (1, "-padding"), (3, "-dilation")]:
            widget(page, i).scroll_into_view_if_needed()
            widget(page, i).screenshot(path=ARTIFACTS / f"widget-theme-{short}{name}.png")
        page.screenshot(path=ARTIFACTS / f"lab-theme-{short}.png")  # with JupyterLab around it
        failures = [f"{state}: {c['element']} {c['text']!r} is {c['ratio']:.2f}:1 < {c['required']}:1 "
                    f"({c['color']} on {c['background']})"
                    for state, c in found if not c["exempt"] and c["ratio"] < c["required"]]
        shown = list(dict.fromkeys(failures))
        more = f"\n... and {len(shown) - 40} more" if len(shown) > 40 else ""
        assert not failures, f"{len(failures)} of {len(found)} texts below WCAG AA in {theme}:\n" + \
            "\n".join(shown[:40]) + more
    finally:
        browser.close()
