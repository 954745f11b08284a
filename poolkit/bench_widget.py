"""Benchmark of the sliding-window widget: `python -m poolkit.bench_widget` prints its figures.

1. Kernel side: time to build the whole trace state (poolkit.trace per channel + output_shape) and
   serialize it the way the kernel sends it (jupyter_client's JSON packer), for 8x8, 16x16, 32x32 inputs
   with k=3 (target: <= 10 ms for 32x32, k=3).
2. Baseline: `ipywidgets.interactive` + an inline-matplotlib redraw (poolkit.draw's frame, rendered to PNG
   as the inline backend does) on the same inputs: kernel time per frame.
3. Browser: frames per second at the fastest speed in JupyterLab + headless Chromium (target >= 30), and
   the number of messages the page sends to the kernel while playing (target: 0).

`lab_server` and `open_notebook` are also used by tests/test_browser.py.
"""

import contextlib
import io
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import torch

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = (8, 16, 32)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's package


def _median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def kernel_side(repeat=15):
    """Median ms to build the widget state and to pack it for sending, per input size and stride."""
    from jupyter_client.session import json_packer

    from .widget import build_state

    rows = []
    for n in SIZES:
        X = torch.rand(1, n, n, generator=torch.Generator().manual_seed(0))
        for stride in (None, 1):
            params = dict(kernel_size=3, stride=stride)
            state = build_state(X, **params)
            build = _median_ms(lambda X=X, params=params: build_state(X, **params), repeat)
            send = _median_ms(lambda state=state: json_packer({"state": state, "error": ""}), repeat)
            size = len(json_packer({"state": state}))
            rows.append((n, stride or 3, len(state["steps"]), build, send, size))
    return rows


def baseline(n_frames=8):
    """Median kernel ms per frame of interact + inline matplotlib redraw (PNG), per input size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure
    from ipywidgets import fixed, interactive

    from .draw import draw_frame, frames

    rows = []
    for n in SIZES:
        X = torch.rand(n, n, generator=torch.Generator().manual_seed(0))
        fr = frames(X, kernel_size=3)  # the trace computed once: only the redraw is timed

        def show(t, fr=fr, n=n):
            fig, ax = plt.subplots(figsize=(0.35 * n + 4, 0.3 * n + 3))
            draw_frame(ax, fr, t)
            print_figure(fig, "png", bbox_inches="tight")  # what the inline backend sends per frame
            plt.close(fig)

        steps = [t % fr.n_steps for t in range(1, n_frames + 1)]
        times = []
        quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
        with quiet[0], quiet[1]:  # outside a kernel, Output.clear_output writes terminal escapes
            panel = interactive(show, t=(0, fr.n_steps - 1), fr=fixed(fr), n=fixed(n))  # draws frame 0
            slider = panel.children[0]
            for t in steps:
                start = time.perf_counter()
                slider.value = t  # interact calls show(t) synchronously
                times.append((time.perf_counter() - start) * 1000)
        rows.append((n, statistics.median(times)))
    return rows


# ----------------------------------------------------------------------------------------------------
# JupyterLab + Chromium (shared with tests/test_browser.py)
# ----------------------------------------------------------------------------------------------------


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
def lab_server(root, timeout=120):
    """JupyterLab from this Python (the .venv) on 127.0.0.1 with a token and a free port, serving root.

    Yields (base_url, token). Own settings/workspace dirs: no news pop-up, no restored tabs."""
    root = Path(root)
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
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


def open_notebook(playwright, url, n_widgets, chromium, timeout=120_000):
    """Open url in headless Chromium, run all cells, wait for n_widgets widgets and an idle kernel.

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


FPS_JS = """async ([root, ms]) => {
  const f0 = Number(root.dataset.frames), t0 = performance.now();
  await new Promise((done) => setTimeout(done, ms));
  return (Number(root.dataset.frames) - f0) / ((performance.now() - t0) / 1000);
}"""


def browser_fps(seconds=3.0):
    """Frames per second at the fastest speed (loop on) and kernel messages sent meanwhile, per size."""
    from playwright.sync_api import sync_playwright

    chromium = CHROMIUM
    cells = ["import torch, poolkit"] + [
        f"poolkit.SlidingWindow(torch.rand({n}, {n}, generator=torch.Generator().manual_seed(0)), "
        "kernel_size=3, stride=1)" for n in SIZES]
    rows = []
    with tempfile.TemporaryDirectory() as root:
        name = write_notebook(root, cells)
        with lab_server(root) as (base, token), sync_playwright() as p:
            browser, page, sent = open_notebook(p, f"{base}/lab/tree/{name}?reset&token={token}", len(SIZES),
                                                chromium)
            for i, n in enumerate(SIZES):
                root_el = page.locator(".pk-root").nth(i)
                root_el.scroll_into_view_if_needed()
                root_el.locator(".pk-player select").select_option(label="max")
                root_el.locator('input[aria-label="loop"]').check()
                time.sleep(0.5)
                before = len(sent)
                root_el.locator(".pk-play").click()
                fps = page.evaluate(FPS_JS, [root_el.element_handle(), seconds * 1000])
                root_el.locator(".pk-play").click()
                rows.append((n, fps, len(sent) - before))
            browser.close()
    return rows


def main():
    print("Kernel side: build the widget state (trace of every window) + pack it as the kernel sends it")
    print(f"{'input':>7} {'k':>2} {'s':>2} {'windows':>8} {'build ms':>9} {'send ms':>8} {'total ms':>9} "
          f"{'KB':>6}")
    for n, s, windows, build, send, size in kernel_side():
        print(f"{n:>4}x{n:<2} {3:>2} {s:>2} {windows:>8} {build:>9.2f} {send:>8.2f} {build + send:>9.2f} "
              f"{size / 1024:>6.1f}")
    print("  target: <= 10 ms for 32x32 with k=3 (s=3, PyTorch's default stride)")
    print()
    print("Baseline: interact + inline matplotlib redraw, kernel time per frame (k=3, s=3)")
    for n, ms in baseline():
        print(f"{n:>4}x{n:<2} {ms:>8.1f} ms per frame  (at most {1000 / ms:.1f} frames/s, each one a kernel "
              "round trip)")
    print()
    if not os.path.exists(CHROMIUM):
        print("Browser: skipped (no /usr/bin/chromium; apt-get install chromium)")
        return
    print("Browser: the widget in JupyterLab + headless Chromium, speed 'max', loop on (k=3, s=1)")
    for n, fps, msgs in browser_fps():
        print(f"{n:>4}x{n:<2} {fps:>6.1f} frames/s   kernel messages sent while playing: {msgs}")
    print("  target: >= 30 frames/s, 0 kernel messages")


if __name__ == "__main__":
    main()
