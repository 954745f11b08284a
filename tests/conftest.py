import os
import shutil

import pytest
from hypothesis import settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def require_chromium():
    """Browser tests skip on a laptop without Chromium, but fail in CI (CI=true), where it must be there."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = "Chromium not found: install it with `apt-get install chromium fonts-noto-cjk`."
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# CI runs the same examples every time (derandomize); locally hypothesis explores new ones each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")
