"""Drive JupyterLab from this repository's .venv in headless Chromium: the browser tests and
`python -m poolkit.bench_widget` use it (it is test machinery, so it lives outside the package).

    lab_server(root, theme=None)           a JupyterLab on 127.0.0.1 (free port, token) serving root
    write_notebook(root, cells)            a notebook of code cells
    open_notebook(playwright, url, n)      open it in Chromium, Run All, wait for n widgets
    text_contrasts(locator)                the WCAG contrast of every visible text inside an element
    painted(locator, parts)                the colours parts of an element are painted in
    unreadable_labels(locator)             grid indices cut off or drawn over each other
"""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's package


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(root, cells, name="widget.ipynb"):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, Path(root) / name)
    return name


@contextlib.contextmanager
def lab_server(root, timeout=120, theme=None):
    """JupyterLab from this Python (the .venv) on 127.0.0.1 with a token and a free port, serving root.

    Yields (base_url, token). Own settings/workspace dirs: no news pop-up, no restored tabs.
    theme: a JupyterLab theme name ("JupyterLab Light", "JupyterLab Dark"), as a learner picks it in
    Settings > Theme; it is written to the user settings that directory holds (None: JupyterLab's default)."""
    root = Path(root)
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    if theme:
        (settings / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"), "JUPYTER_RUNTIME_DIR": str(root / ".rt")}
    port, token = free_port(), secrets.token_hex(16)
    log_path = root / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             "--ServerApp.open_browser=False", "--ServerApp.allow_root=True"],  # CI containers run as root
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        tail = log_path.read_text()[-3000:]
                        raise RuntimeError(f"JupyterLab did not start:\n{tail}") from None
                    time.sleep(0.5)
            yield base, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def open_notebook(playwright, url, n_widgets, chromium, timeout=120_000, init_script=None):
    """Open url in headless Chromium, run all cells, wait for n_widgets widgets and an idle kernel.
    init_script: JavaScript run in the page before its own scripts (e.g. to add a meta tag).

    Returns (browser, page, kernel_frames): kernel_frames lists every websocket frame the page sends to a
    kernel (a time stamp each), so a test can check that playing sends nothing."""
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(timeout)
    sent = []

    def on_ws(ws):
        if "/api/kernels/" in ws.url:
            ws.on("framesent", lambda payload: sent.append(time.monotonic()))

    page.on("websocket", on_ws)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    idle = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(idle)  # running a cell before the kernel is idle can be lost
    rendered = f"document.querySelectorAll('.pk-root').length === {n_widgets}"
    for attempt in range(3):  # on a busy machine a first "Run All" can be lost: try again
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(rendered, timeout=timeout if attempt == 2 else timeout // 2)
            break
        except Exception:  # playwright's TimeoutError
            if attempt == 2:
                raise
            page.wait_for_selector(idle)
    page.wait_for_selector(idle)
    return browser, page, sent


# The WCAG 2.1 contrast of every visible text inside an element, measured in the page. axe-core cannot do it
# inside JupyterLab (it marks such nodes "incomplete"), so: each text's computed colour against what is
# painted behind it, i.e. the background colours and gradient stops of it and its ancestors composited down to
# the first opaque background (the page's canvas if none). A gradient counts with its worst stop. Opacity on
# the way up fades the text into its background. Large text (>= 24 px, or >= 18.66 px bold) needs 3:1, other
# text 4.5:1; a glyph that is no letter or digit (a marker such as a star) needs 3:1, as a graphic (WCAG
# 1.4.11); disabled controls and their labels are exempt (WCAG 1.4.3). Texts are the elements' own text
# nodes, the values, placeholders and selected options of form fields, and ::before / ::after content.
# Colours as the page paints them, for both measurers below: rgba(css) -> [r, g, b, a] (0..255, a 0..1), by
# painting the colour on a 1x1 canvas (which resolves color-mix and theme variables), and hex([r, g, b]).
COLOUR_JS = r"""
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "#000";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const hex = (c) => "#" + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
"""

CONTRAST_JS = r"""(scope) => {""" + COLOUR_JS + r"""
  const over = ([r, g, b, a], base) => [...[r, g, b].map((v, i) => v * a + base[i] * (1 - a)), 1];
  const linear = (v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const lum = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const COLOR = /((?:rgba?|hsla?|color|oklch|oklab|lab|lch)\([^)]*\))/g;
  const layers = (style) => {  // what one box paints: its background colour, then its gradients' stops
    const out = [[rgba(style.backgroundColor)]];
    if (style.backgroundImage !== "none") out.push((style.backgroundImage.match(COLOR) || []).map(rgba));
    return out;
  };
  const backdrops = (el, pseudo) => {  // every colour that may be painted behind el's text
    const stack = pseudo ? layers(getComputedStyle(el, pseudo)).reverse() : [];  // from the text outwards
    let opaque = [255, 255, 255, 1];  // the canvas
    for (let node = el; node; node = node.parentElement) {
      const [[bg], ...images] = layers(getComputedStyle(node));
      stack.push(...images.reverse());
      if (bg[3] >= 0.999) {
        opaque = bg;
        break;
      }
      stack.push([bg]);
    }
    let candidates = [opaque];
    for (const layer of stack.reverse()) {
      candidates = candidates.flatMap((base) => layer.map((c) => (c[3] > 0 ? over(c, base) : base)));
      candidates = candidates.slice(0, 64);
    }
    return candidates;
  };
  const opacity = (el) => {
    let o = 1;
    for (let n = el; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const exempt = (el) => !!(el.closest(":disabled") || el.closest("label")?.querySelector(":disabled"));
  const describe = (el, pseudo) => {
    const cls = [...el.classList].filter((c) => c.startsWith("pk-")).slice(0, 3).map((c) => "." + c).join("");
    const label = el.getAttribute("aria-label");
    return el.tagName.toLowerCase() + cls + (label ? `[aria-label="${label}"]` : "") + (pseudo || "");
  };
  const results = [];
  const measure = (el, text, pseudo = null) => {
    text = text.replace(/\s+/g, " ").trim();
    if (!text) return;
    const style = getComputedStyle(el, pseudo);
    const fg = rgba(style.color);
    const fade = opacity(el);
    if (fg[3] * fade < 0.01) return;  // transparent on purpose (the photo's hidden numbers)
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (size >= 18.66 && bold);
    const graphic = !/[\p{L}\p{N}]/u.test(text);
    let worst = null;
    for (const bg of backdrops(el, pseudo)) {
      const ink = over([fg[0], fg[1], fg[2], fg[3] * fade], bg);
      const r = ratio(ink, bg);
      if (!worst || r < worst.ratio) worst = { ratio: r, color: hex(ink), background: hex(bg) };
    }
    results.push({ element: describe(el, pseudo), text: text.slice(0, 60), ...worst,
                   required: large || graphic ? 3 : 4.5, exempt: exempt(el), size, bold });
  };
  for (const el of scope.querySelectorAll("*")) {
    if (!el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 1 || box.height < 1 || el.tagName === "OPTION") continue;
    if (el.tagName === "SELECT") measure(el, el.selectedOptions[0]?.textContent || "");
    else if (el.tagName === "INPUT") {
      if (["number", "text"].includes(el.type)) {
        if (el.value) measure(el, el.value);
        else measure(el, el.placeholder, "::placeholder");
      }
    } else {
      const nodes = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE);
      measure(el, nodes.map((n) => n.textContent).join(" "));
    }
    for (const pseudo of ["::before", "::after"]) {
      const content = getComputedStyle(el, pseudo).content;
      if (content.startsWith('"')) measure(el, content.slice(1, -1), pseudo);
    }
  }
  return results;
}"""


# Grid indices whose digits are cut off by their own box, or drawn over another index: [text, why] of each.
LABELS_JS = r"""(scope) => {
  const inks = [], bad = [];
  const cut = (style, ink, box) =>
    (style.overflowY !== "visible" && (ink.top < box.top - 0.5 || ink.bottom > box.bottom + 0.5)) ||
    (style.overflowX !== "visible" && (ink.left < box.left - 0.5 || ink.right > box.right + 0.5));
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
    a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  for (const el of scope.querySelectorAll(".pk-idx")) {
    if (!el.textContent.trim() || !el.checkVisibility()) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const ink = range.getBoundingClientRect(), box = el.getBoundingClientRect();
    if (cut(getComputedStyle(el), ink, box))
      bad.push([el.textContent, `cut off: ${ink.height.toFixed(1)} px tall in ${box.height.toFixed(1)} px`]);
    for (const other of inks) if (overlap(ink, other)) bad.push([el.textContent, `over "${other.text}"`]);
    inks.push({ left: ink.left, right: ink.right, top: ink.top, bottom: ink.bottom, text: el.textContent });
  }
  return bad;
}"""


# {name: [selector, CSS property]} -> {name: '#rrggbb'}: the colour each part is painted in, inside scope.
PAINTED_JS = r"""(scope, parts) => {""" + COLOUR_JS + r"""
  const paint = ([selector, prop]) => hex(rgba(getComputedStyle(scope.querySelector(selector))[prop]));
  return Object.fromEntries(Object.entries(parts).map(([name, part]) => [name, paint(part)]));
}"""


def painted(locator, parts):
    """{name: '#rrggbb'}: for parts {name: (selector, CSS property)}, the colour as painted inside locator."""
    return locator.evaluate(PAINTED_JS, {name: list(part) for name, part in parts.items()})


def unreadable_labels(locator):
    """The row and column indices inside the element that are cut off or drawn over each other."""
    return locator.evaluate(LABELS_JS)


def text_contrasts(locator):
    """Every visible text inside the element: {element, text, ratio, color, background, required, exempt, ...}
    (colours as painted, after transparency). See CONTRAST_JS for what is measured and how."""
    return locator.evaluate(CONTRAST_JS)


def below_aa(contrasts):
    """The texts of text_contrasts() below WCAG AA (exempt ones left out)."""
    return [c for c in contrasts if not c["exempt"] and c["ratio"] < c["required"]]
