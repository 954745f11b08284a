"""Benchmark of the sliding-window widget: `python -m poolkit.bench_widget` prints its figures.

1. Kernel side, per parameter change: build the state (one explain.Scene: the trace of every channel, its
   notes), pack it (widget.pack_state: compressed JSON) and pack the update message the way the kernel sends
   it (jupyter_client's JSON packer plus one binary buffer), for the issue's cases; the bytes sent.
2. Too large to draw: the time until the widget shows its message for a 3x300x300 image.
3. Baseline: `ipywidgets.interactive` + an inline-matplotlib redraw (poolkit.draw's frame, rendered to PNG
   as the inline backend does): kernel time per frame.
4. Browser: frames per second at the fastest speed in JupyterLab + headless Chromium (target >= 30), and
   the number of messages the page sends to the kernel while playing (target: 0). Needs the repository's
   tools/lab_browser.py and Chromium; skipped (with a line saying so) without them.

Other work on the machine slows every figure: the load average is printed with the table.
"""

import contextlib
import importlib.util
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from .draw import draw_frame, frames
from .widget import SlidingWindow, build_state, pack_state

SIZES = (8, 16, 32)  # browser playback
# (label, (C, H, W), pool parameters, target ms)
CASES = [
    ("32x32, k=3, s=3", (1, 32, 32), dict(kernel_size=3, stride=3), 5),
    ("32x32, k=3, s=1", (1, 32, 32), dict(kernel_size=3, stride=1), 16),
    ("3x32x32 avg, k=3, s=1", (3, 32, 32), dict(kernel_size=3, stride=1, mode="avg"), 40),
    ("64x64, k=3, s=1", (1, 64, 64), dict(kernel_size=3, stride=1), 60),
]
STATE_TARGET_KB = 100  # for 32x32, s=1 (the packed state, as sent)
STATE_CASE = "32x32, k=3, s=1"
TOO_LARGE = (3, 300, 300)
HARNESS = Path(__file__).resolve().parent.parent / "tools" / "lab_browser.py"


def _median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def kernel_side(repeat=15):
    """Per case: median ms to build the state, to pack and send it, and both together; the bytes sent."""
    # (loaded here: the kernel's message packing is only needed for this figure)
    from ipywidgets.widgets.widget import _remove_buffers
    from jupyter_client.session import json_packer

    def send(state):
        """The update message as the kernel sends it: JSON plus the packed state as one binary buffer."""
        rest, _, buffers = _remove_buffers({"packed": pack_state(state), "error": {}})
        return len(json_packer({"method": "update", "state": rest})) + sum(len(b) for b in buffers)

    rows = []
    for label, shape, params, target in CASES:
        X = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        state = build_state(X, **params)
        build = _median_ms(lambda X=X, params=params: build_state(X, **params), repeat)
        sending = _median_ms(lambda state=state: send(state), repeat)
        total = _median_ms(lambda X=X, params=params: send(build_state(X, **params)), repeat)
        rows.append((label, build, sending, total, target, send(state)))
    return rows


def too_large_ms(repeat=5):
    """Median ms from a too-large input to the widget's message (no trace is computed)."""
    X = torch.rand(TOO_LARGE)
    w = SlidingWindow()
    ms = _median_ms(lambda: setattr(w, "X", X), repeat)
    return ms, w.error["message"]


def baseline(n_frames=8):
    """Median kernel ms per frame of interact + inline matplotlib redraw (PNG), per input size."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot is imported: this baseline draws with pyplot, off screen
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure
    from ipywidgets import fixed, interactive

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
# JupyterLab + Chromium (shared with tests/lesson/test_browser.py)
# ----------------------------------------------------------------------------------------------------


FPS_JS = """async ([root, ms]) => {
  const f0 = Number(root.dataset.frames), t0 = performance.now();
  await new Promise((done) => setTimeout(done, ms));
  return (Number(root.dataset.frames) - f0) / ((performance.now() - t0) / 1000);
}"""


def browser_fps(seconds=3.0):
    """Frames per second at the fastest speed (loop on) and kernel messages sent meanwhile, per size."""
    from playwright.sync_api import sync_playwright  # a test tool (requirements-test.txt), not a requirement

    lab = _harness()
    cells = ["import torch, poolkit"] + [
        f"poolkit.SlidingWindow(torch.rand({n}, {n}, generator=torch.Generator().manual_seed(0)), "
        "kernel_size=3, stride=1)" for n in SIZES]
    rows = []
    with tempfile.TemporaryDirectory() as root:
        name = lab.write_notebook(root, cells)
        with lab.lab_server(root) as (base, token), sync_playwright() as p:
            browser, page, sent = lab.open_notebook(p, f"{base}/lab/tree/{name}?reset&token={token}",
                                                    len(SIZES), lab.CHROMIUM)
            for i, n in enumerate(SIZES):
                root_el = page.locator(".pk-root").nth(i)
                root_el.scroll_into_view_if_needed()
                root_el.locator(".pk-player select").select_option(label="max")
                root_el.get_by_role("checkbox", name="loop").check()
                time.sleep(0.5)
                before = len(sent)
                root_el.locator(".pk-play").click()
                fps = page.evaluate(FPS_JS, [root_el.element_handle(), seconds * 1000])
                root_el.locator(".pk-play").click()
                rows.append((n, fps, len(sent) - before))
            browser.close()
    return rows


def _harness():
    spec = importlib.util.spec_from_file_location("lab_browser", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def print_kernel_side():
    print("Kernel side, one parameter change: build the state + pack it as the kernel sends it "
          f"(median of 15; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'case':<24} {'build ms':>9} {'send ms':>8} {'total ms':>9} {'target':>7} {'state KB':>9}")
    for label, build, send, total, target, size in kernel_side():
        verdict = "ok" if total <= target else "OVER"
        print(f"{label:<24} {build:>9.1f} {send:>8.1f} {total:>9.1f} {'<= ' + str(target):>7} "
              f"{size / 1024:>9.1f}  {verdict}")
        if label == STATE_CASE:
            state = f"{size / 1024:.1f} KB, " + ("ok" if size <= STATE_TARGET_KB * 1024 else "OVER")
    print(f"  state sent for {STATE_CASE}: {state} (target <= {STATE_TARGET_KB} KB)")
    ms, message = too_large_ms()
    print(f"Too large to draw ({'x'.join(map(str, TOO_LARGE))}): message after {ms:.2f} ms (target <= 100):")
    print(f"  {message}")


def main():
    print_kernel_side()
    print()
    print("Baseline: interact + inline matplotlib redraw, kernel time per frame (k=3, s=3)")
    for n, ms in baseline():
        print(f"{n:>4}x{n:<2} {ms:>8.1f} ms per frame  (at most {1000 / ms:.1f} frames/s, each one a kernel "
              "round trip)")
    print()
    if not HARNESS.exists() or not os.path.exists("/usr/bin/chromium"):
        print("Browser: skipped (needs the repository's tools/lab_browser.py and /usr/bin/chromium)")
        return
    print("Browser: the widget in JupyterLab + headless Chromium, speed 'max', loop on (k=3, s=1)")
    for n, fps, msgs in browser_fps():
        print(f"{n:>4}x{n:<2} {fps:>6.1f} frames/s   kernel messages sent while playing: {msgs}")
    print("  target: >= 30 frames/s, 0 kernel messages")


if __name__ == "__main__":
    main()
