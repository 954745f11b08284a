import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# tools/lab_browser.py (JupyterLab + Chromium for the browser tests) is test machinery, not package code
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))


def require_chromium():
    """Browser tests skip on a laptop without Chromium, but fail in CI (CI=true), where it must be there."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = "Chromium not found: install it with `apt-get install chromium fonts-noto-cjk`."
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def wcag_ratio(a, b):
    """WCAG 2.1 contrast of two '#rrggbb' colours, computed in Python, apart from the page's measurer."""
    def lum(h):
        r, g, b = (int(h[i:i + 2], 16) / 255 for i in (1, 3, 5))
        r, g, b = (v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in (r, g, b))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# CI runs the same examples every time (derandomize); locally hypothesis explores new ones each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def load_make():
    """make.py as a module (it is a script at the repository root, not part of a package)."""
    spec = importlib.util.spec_from_file_location("make_under_test", Path(__file__).parent.parent / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
