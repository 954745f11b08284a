"""The widget's JavaScript unit tests (tests/lesson/js/, Node's built-in runner), run by make.py test.

They need Node.js (no npm packages): without it they skip on a laptop and fail in CI (CI=true)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def node_or_skip():
    node = shutil.which("node")
    if node is None:
        message = "Node.js not found: install it (e.g. `apt-get install nodejs`) to run tests/lesson/js/."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return node


def test_widget_js_unit_tests_pass():
    node = node_or_skip()
    files = sorted(str(p) for p in (ROOT / "tests" / "lesson" / "js").glob("*.test.mjs"))
    assert files, "tests/lesson/js/ holds no *.test.mjs files"
    run = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout


UNPACK = """
import { readFileSync } from "node:fs";
const source = readFileSync("poolkit/widget.js", "utf8");
const W = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
const bytes = readFileSync(0);
const state = await W.unpackState(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
process.stdout.write(JSON.stringify(state));
"""


def test_the_browser_unpacks_exactly_what_python_packs():
    """widget.py's pack_state -> widget.js's unpackState gives back the state, for a scene with Chinese text,
    −∞ padding and a NaN (numbers travel as strings)."""
    import torch

    from poolkit.widget import SlidingWindow

    X = torch.tensor([[1.0, float("nan"), 3.0], [4.0, -5.0, 6.0], [7.0, 8.0, -9.0]])
    w = SlidingWindow(X, kernel_size=2, stride=1, padding=1)
    run = subprocess.run([node_or_skip(), "--input-type=module", "-e", UNPACK], cwd=ROOT, input=w.packed,
                         capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert json.loads(run.stdout) == json.loads(json.dumps(w.state))  # tuples arrive as lists, as before
    assert "−∞" in run.stdout.decode() and '"nan"' in run.stdout.decode()
