"""Drive JupyterLab from this repository's .venv in headless Chromium: the browser tests and
`python -m poolkit.bench_widget` use it (it is test machinery, so it lives outside the package).

    lab_server(root)                       a JupyterLab on 127.0.0.1 (free port, token) serving root
    write_notebook(root, cells)            a notebook of code cells
    open_notebook(playwright, url, n)      open it in Chromium, Run All, wait for n widgets
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
