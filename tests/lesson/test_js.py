"""The widget's JavaScript unit tests (tests/lesson/js/, Node's built-in runner), run by make.py test.

They need Node.js (no npm packages): without it they skip on a laptop and fail in CI (CI=true)."""

import json
import os
import re
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


# ----------------------------------------------------------------------------------------------------
# widget.js's shape: small functions, a render that only wires, names and words from Python
# ----------------------------------------------------------------------------------------------------

WIDGET_JS = ROOT / "poolkit" / "widget.js"
RENDER_MAX, FUNCTION_MAX = 30, 40  # lines, from the line that opens a function to the one that closes it
OPENS = re.compile(r"^(?P<indent> *)(?:export )?(?:async )?(?:function (?P<f>\w+)\("
                   r"|(?:const |let )?(?P<v>\w+)(?: =|:) (?:async )?(?:\([^)]*\)|\w+) => "
                   r"|(?P<m>\w+)\([^)]*\) )\{?.*\{$")
NOT_FUNCTIONS = {"if", "for", "while", "switch", "catch"}


def function_lengths(source):
    """{name: lines} of every function in widget.js whose body is a block: top-level functions, consts
    and object members bound to functions, and nested ones (prettier-style layout: a function ends at the
    first later line with its indent that starts with '}')."""
    lines = source.splitlines()
    sizes = {}
    for i, line in enumerate(lines):
        match = OPENS.match(line)
        name = match and (match["f"] or match["v"] or match["m"])
        if not name or name in NOT_FUNCTIONS:
            continue
        closing = " " * len(match["indent"]) + "}"
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(closing))
        sizes[name if name not in sizes else f"{name}@{i + 1}"] = end - i + 1
    return sizes


def test_render_only_wires_and_every_function_is_small():
    sizes = function_lengths(WIDGET_JS.read_text())
    # the measure finds what it measures: the wiring, the store, the layout choice, a nested transition
    assert {"render", "createStore", "chooseLayout", "toggle", "pair", "drawFrame"} <= sizes.keys(), sizes
    renders = {name: n for name, n in sizes.items() if name.startswith("render") and n > RENDER_MAX}
    assert not renders, f"{renders}: a render only wires; move the work into named helpers"
    assert {"renderWindow", "renderField"} <= sizes.keys()
    long = {name: n for name, n in sizes.items() if n > FUNCTION_MAX}
    assert not long, f"functions over {FUNCTION_MAX} lines: {long}"


def test_the_measure_of_function_length_counts_a_long_function():
    body = "\n".join(f"  step{k}();" for k in range(50))
    source = f"function render({{ model, el }}) {{\n{body}\n}}\nconst tick = (now) => {{\n  go();\n}};\n"
    assert function_lengths(source) == {"render": 52, "tick": 3}


def test_the_javascript_names_no_pooling_keyword_and_reads_only_the_words_python_sends():
    """widget.js takes the parameter names from Python's `controls` (from params.KEYWORDS), and every
    T.<key> it reads is one widget.py sends (BROWSER_TEXT), and nothing more is sent."""
    from poolkit.params import KEYWORDS
    from poolkit.widget import BROWSER_TEXT, DEFAULTS, SlidingWindow, controls

    source = WIDGET_JS.read_text()
    quoted = {name for name in KEYWORDS if re.search(rf"[\"'`]{name}[\"'`]", source)}
    assert not quoted, f"widget.js names {quoted}: take them from the `controls` trait"
    read = set(re.findall(r"\bT\.(\w+)", source)) | {"height", "width"}  # T[axis] for the pair fields
    assert read == set(BROWSER_TEXT)
    rows = controls()
    assert sorted(r["name"] for r in rows) == sorted(KEYWORDS) and rows[0]["kind"] == "menu"
    assert {r["kind"] for r in rows} == {"pair", "check", "menu", "number"}
    w = SlidingWindow()
    assert {name: getattr(w, name) for name in KEYWORDS} == DEFAULTS and w.kernel_size == 2
    assert set(KEYWORDS) <= set(w.keys)  # each one a synced trait the controls set


def test_the_winner_note_comes_from_python():
    """The index note (return_indices), ties and NaN are written in Python; average pooling has none."""
    import torch

    from poolkit.widget import SlidingWindow

    ch = SlidingWindow(torch.tensor([[1.0, 5.0], [5.0, 1.0]]), kernel_size=2).state["channels"][0]
    assert len(ch["remarks"]) == 1 and ch["remarks"][0].startswith("index 1 = 0·2 + 1 (return_indices); ")
    assert "tie" in ch["remarks"][0]
    assert SlidingWindow(torch.ones(4, 4), mode="avg").state["channels"][0]["remarks"] == []
