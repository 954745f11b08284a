"""The widget's JavaScript unit tests (tests/js/, Node's built-in runner), run by the README's test command.

They need Node.js (no npm packages): without it they skip on a laptop and fail in CI (CI=true)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_widget_js_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        message = "Node.js not found: install it (e.g. `apt-get install nodejs`) to run tests/js/."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    files = sorted(str(p) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert files, "tests/js/ holds no *.test.mjs files"
    run = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
