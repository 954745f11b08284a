"""The widget's synced state against torch, step by step; bad parameters become a message, never an exception.

Expected numbers come from torch.nn.functional (F.max_pool2d with return_indices, F.avg_pool2d), never from
poolkit. The browser side (drawing, playing) is checked in test_browser.py.
"""

import json
import math
import re
import time
import zlib

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pooling_cases import pool_settings
from pooling_cases import torch_pool as functional_pool

from poolkit.params import MODES
from poolkit.trace import fmt
from poolkit.widget import CELL_CHARS, SlidingWindow, photo

DEFAULTS = dict(kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
                count_include_pad=True, divisor_override=None)


def torch_pool(X, p):
    """(output, indices or None) of X (C, H, W) from torch."""
    if MODES[p["mode"]].picks_one:
        return functional_pool(X, p, return_indices=True)
    return functional_pool(X, p), None


def torch_divisors(X, p):
    """What torch divides each window sum by, measured: (input cells in the window) / avg of ones."""
    ones = torch.ones_like(X[:1], dtype=torch.float64)
    args = (p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"])
    n_in = F.avg_pool2d(ones, *args, True, 1)[0]  # divisor 1: the number of input cells
    mean = F.avg_pool2d(ones, *args, p["count_include_pad"], p["divisor_override"])[0]
    return (n_in / mean).round().long()


def full(grid):
    """A synced grid's full texts, flat: the cell texts, with the rounded ones replaced."""
    return [grid["full"].get(k, text) for k, text in enumerate(grid["text"])]


def note(s, t):
    """The note of step t (the state sends each distinct note once)."""
    return s["notes"][s["note"][t]] if s["note"] else s["notes"][0]


def check_against_torch(X, **params):
    """Every step of the widget's state equals torch: values, argmax/index, divisor, input/output grids."""
    p = {**DEFAULTS, **params}
    w = SlidingWindow(X, **p)
    assert w.error == {}, w.error
    s = w.state
    X3 = X if X.dim() == 3 else X[None]
    C, H, W = X3.shape
    Y, indices = torch_pool(X3, p)
    assert s["shape"] == [C, H, W] and s["out"] == list(Y.shape[-2:])
    json.dumps(s, allow_nan=False)  # the kernel must be able to send it: no NaN/inf numbers inside
    n = Y.shape[1] * Y.shape[2]
    divisors = torch_divisors(X3, p) if MODES[p["mode"]].divides else None
    for c in range(C):
        ch = s["channels"][c]
        assert full(ch["input"]) == [fmt(v) for row in X3[c].tolist() for v in row]
        assert full(ch["output"]) == [fmt(v) for row in Y[c].tolist() for v in row]
        assert ch["output"]["text"] == [fmt(v, CELL_CHARS) for row in Y[c].tolist() for v in row]
        assert len(ch["formula"]) == len(ch["argmax"]) == n
        for t in range(n):
            i, j = divmod(t, Y.shape[2])
            formula = ch["formula"][t]
            assert formula.endswith(f"= {fmt(Y[c, i, j].item())}"), (t, formula)
            if MODES[p["mode"]].picks_one:
                index = indices[c, i, j].item()
                if ch["argmax"][t] == -1:  # a window of padding only: torch returns -inf
                    assert Y[c, i, j].item() == -math.inf
                else:
                    assert ch["argmax"][t] == index, (t, formula)
            else:
                divisor = int(re.search(r" / \(?(-?\d+)\)? = ", formula).group(1))
                if divisors[i, j] > 0:  # (a window with no input cell cannot be measured this way)
                    assert divisor == divisors[i, j].item(), (t, formula, note(s, t))
                assert f"÷ {divisor}" in note(s, t)
    # gradient routing: d(sum Y)/dX from the trace equals torch's autograd. (A window of padding only
    # can get an index outside the plane; torch's backward then aborts the process, so skip those.)
    inside = indices is None or bool(((indices >= 0) & (indices < H * W)).all())
    if X3.is_floating_point() and inside:
        Xg = X3.detach().double().requires_grad_()
        Yg, _ = torch_pool(Xg, p)
        Yg.sum().backward()
        for c in range(C):
            mine = torch.tensor([float(v) for v in full(s["channels"][c]["grad"])], dtype=torch.float64)
            mine = mine.reshape(H, W)
            torch.testing.assert_close(mine, Xg.grad[c], rtol=1e-3, atol=1e-4, equal_nan=True)
    # the PyTorch line is runnable and gives the same output
    module = eval(s["pytorch"], {"nn": torch.nn})
    assert torch.equal(module(X3[None])[0], Y) or torch.allclose(module(X3[None])[0], Y, equal_nan=True)
    # the size formula ends with torch's output size
    assert [int(re.findall(r"(?:= |→ )(\d+)", line)[-1]) for line in s["size_lines"]] == list(Y.shape[-2:])
    return w


ARANGE = torch.arange(16.0).reshape(4, 4)
CASES = [
    (torch.arange(9.0).reshape(3, 3), dict(kernel_size=2, stride=1)),  # the lecture's example
    (torch.arange(9.0).reshape(3, 3), dict(kernel_size=2, stride=1, mode="avg")),
    (ARANGE, dict(kernel_size=3)),
    (ARANGE, dict(kernel_size=3, padding=1, stride=2)),
    (ARANGE, dict(kernel_size=(2, 3), stride=(2, 3), padding=(0, 1))),
    (-ARANGE - 1, dict(kernel_size=3, stride=2, padding=1)),  # -inf padding never wins
    (torch.stack([ARANGE, ARANGE + 1]), dict(kernel_size=3, padding=1, stride=2)),  # two channels
    (torch.ones(3, 3), dict(kernel_size=3, stride=1, padding=1, mode="avg")),  # 4/9, 6/9, 1
    (torch.ones(3, 3), dict(kernel_size=3, stride=1, padding=1, mode="avg", count_include_pad=False)),
    (torch.ones(6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, mode="avg")),  # overhang
    (torch.ones(5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),  # dropped last window
    (ARANGE, dict(kernel_size=2, mode="avg", divisor_override=1)),  # sum pooling
    (torch.arange(49.0).reshape(7, 7), dict(kernel_size=2, stride=2, dilation=2)),
    (torch.arange(25.0).reshape(5, 5), dict(kernel_size=2, stride=1, padding=1, dilation=2)),
    (torch.tensor([[1.0, 5.0], [5.0, 1.0]]), dict(kernel_size=2)),  # tie: first wins
    (torch.tensor([[math.nan, 1.0], [math.nan, 0.0]]), dict(kernel_size=2)),  # NaN: last NaN wins
    (torch.tensor([[-math.inf, 2.0], [math.inf, 0.0]]), dict(kernel_size=1)),
    (torch.arange(12, dtype=torch.int64).reshape(3, 4), dict(kernel_size=2, stride=1)),  # integers, max
    (photo(16), dict(kernel_size=3, stride=2, padding=1)),
]


@pytest.mark.parametrize(("X", "params"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_state_equals_torch(X, params):
    check_against_torch(X, **params)


@st.composite
def settings_and_input(draw):
    params = draw(pool_settings(draw(st.sampled_from(list(MODES))), max_stride=3))
    H, W, C = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    # small integers make ties common; the occasional NaN/-inf checks the special rules
    values = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.5, 0.25, math.nan, -math.inf]),
                           min_size=C * H * W, max_size=C * H * W))
    return torch.tensor(values).reshape(C, H, W), params


@settings(max_examples=150, deadline=None)
@given(settings_and_input())
def test_random_settings_equal_torch(case):
    X, params = case
    try:
        torch_pool(X, {**DEFAULTS, **params})
    except RuntimeError:  # torch rejects it (window does not fit): the widget must say so, not crash
        w = SlidingWindow(X, **params)
        assert w.error["fix"] and w.error["rule"] and w.state == {}
        return
    check_against_torch(X, **params)


BAD = [
    (dict(stride=0), "stride"),
    (dict(kernel_size=2, padding=2), "padding"),
    (dict(kernel_size=5), "kernel_size"),  # does not fit a 3x3 input
    (dict(mode="avg", dilation=2), "dilation"),
    (dict(mode="avg", divisor_override=0), "divisor_override"),
    (dict(divisor_override=2), "divisor_override"),  # max pooling has no divisor
    (dict(mode="min"), "mode"),
    (dict(mode=["max"]), "mode"),
    (dict(kernel_size="2"), "kernel_size"),
    (dict(kernel_size=[2, None]), "kernel_size"),  # what the browser sends for an emptied field
    (dict(stride=1.5), "stride"),
    (dict(ceil_mode="yes"), "ceil_mode"),
]


@pytest.mark.parametrize(("params", "name"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_invalid_parameters_set_error_and_raise_nothing(params, name):
    w = SlidingWindow(**params)  # must not raise
    assert w.error["parameter"] == name and w.error["value"].startswith(name)
    assert w.error["rule"] and w.error["fix"] and "Fix:" in w.error["message"]
    assert "Invalid parameters" in w.error["title"]
    assert w.state == {}
    bundle, _ = w._repr_mimebundle_()
    assert "image/png" not in bundle and name in bundle["text/plain"]


def test_invalid_inputs_set_error():
    for X, words in [(torch.zeros(2, 1, 3, 3), "(N, C, H, W)"), ([[1, 2], [3]], "nested list"),
                     (torch.tensor([[1, 2], [2, 2]]), "truncates"), (torch.zeros(0, 3), "shape")]:
        w = SlidingWindow(X, mode="avg" if isinstance(X, torch.Tensor) and X.dtype == torch.int64 else "max")
        assert w.error["parameter"] == "X" and words in w.error["message"], (X, w.error)


def test_too_large_input_gets_a_message_naming_size_and_fix_fast():
    start = time.perf_counter()
    w = SlidingWindow(torch.rand(3, 300, 300))
    assert time.perf_counter() - start < 0.1 * 5  # the 100 ms budget, with room for a loaded machine
    assert w.state == {} and "Too large" in w.error["title"]
    assert w.error["value"] == "X is 3×300×300" and "270,000 cells" in w.error["rule"]
    assert "X[:, ::" in w.error["fix"] and "from_photo(size=32)" in w.error["fix"]
    # the fix it names really fits
    step = int(re.search(r"::(\d+)\]", w.error["fix"]).group(1))
    assert SlidingWindow(torch.rand(3, 300, 300)[:, ::step, ::step]).error == {}
    fix = SlidingWindow(torch.rand(300, 300)).error["fix"]
    assert fix.startswith("show a smaller view, e.g. X[::5, ::5]")
    assert SlidingWindow(torch.rand(64, 64)).error == {}  # the largest plane drawn cell by cell


def test_a_parameter_change_recomputes_and_a_fix_clears_the_error():
    w = SlidingWindow()
    assert w.state["out"] == [1, 1]  # stride defaults to kernel_size, as in PyTorch
    w.stride = 1
    assert w.state["out"] == [2, 2]
    assert w.state["channels"][0]["output"]["text"] == ["4", "5", "7", "8"]  # d2l's answer
    w.padding = 3
    assert w.error["parameter"] == "padding" and w.state == {}
    w.padding = 1
    assert w.error == {} and w.state["out"] == [4, 4]
    w.mode = "avg"
    assert w.state["pad"] == "0" and w.state["pytorch"].startswith("nn.AvgPool2d(")
    w.X = torch.ones(2, 5, 5)
    assert w.state["shape"] == [2, 5, 5] and w.state["names"] == ["channel 0", "channel 1"]


def test_the_state_is_sent_packed_and_small():
    """The browser gets `packed`: the state as zlib-compressed JSON, {} on error; 32x32 at stride 1 stays
    within the 100 KB the widget may send per parameter change (about 27 KB; 112 KB as plain JSON)."""
    X = torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(0))
    w = SlidingWindow(X, kernel_size=3, stride=1)
    assert json.loads(zlib.decompress(w.packed)) == json.loads(json.dumps(w.state))
    assert len(w.packed) <= 100_000 < len(json.dumps(w.state).encode())
    assert set(w.keys) >= {"packed", "error"} and "state" not in w.keys  # the dict itself is never synced
    w.padding = 3
    assert w.packed == b"" and w.state == {} and w.error["parameter"] == "padding"


def test_lists_become_float_so_avg_works():
    w = SlidingWindow([[0, 1, 2], [3, 4, 5], [6, 7, 8]], kernel_size=2, stride=1, mode="avg")
    assert w.error == {} and w.state["channels"][0]["output"]["text"] == ["2", "3", "5", "6"]


def test_notes_explain_padding_overhang_divisor_and_floor():
    w = SlidingWindow(torch.ones(6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True, mode="avg")
    s = w.state
    assert s["channels"][0]["formula"][-1] == "(1 + 0 + 0 + 0) / 4 = 0.25"
    assert "overhang" in note(s, 15) and "÷ 4" in note(s, 15)
    assert "o" in s["kinds"] and "p" in s["kinds"]
    w = SlidingWindow(-ARANGE - 1, kernel_size=3, stride=2, padding=1)
    assert "−∞" in note(w.state, 0) and w.state["pad"] == "−∞"
    w = SlidingWindow(torch.ones(25, 25))
    assert w.state["kinds"].count("u") == 49
    assert "floor mode drops row 24 and column 24" in w.state["unread_note"]
    w = SlidingWindow(torch.ones(6, 6), kernel_size=2, stride=3)  # ceil_mode would not help here
    assert "no window reaches row 5" in w.state["unread_note"] and "ceil_mode" not in w.state["unread_note"]
    w = SlidingWindow(torch.ones(5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True)
    assert "→ 3" in w.state["size_lines"][0]
    w = SlidingWindow(torch.tensor([[1.0, 5.0], [5.0, 1.0]]))
    assert "tie" in w.state["channels"][0]["remarks"][0]
    assert w.state["channels"][0]["remarks"][0].startswith("index 1 = 0·2 + 1 (return_indices)")


def test_geometry_is_sent_per_axis():
    """The browser gets each window's rows and columns and each input cell's readers, per axis."""
    w = SlidingWindow(torch.arange(16.0).reshape(4, 4), kernel_size=2, stride=1)
    s = w.state
    assert s["win_rows"] == [[0, 1], [1, 2], [2, 3]] and s["win_cols"] == s["win_rows"]
    assert s["row_readers"] == [[0], [0, 1], [1, 2], [2]]
    w = SlidingWindow(torch.arange(49.0).reshape(7, 7), kernel_size=2, stride=2, dilation=2)
    assert w.state["win_rows"] == [[0, 2], [2, 4], [4, 6]] and w.state["dilated"]


def test_mimebundle_has_png_and_text():
    w = SlidingWindow(kernel_size=2, stride=1, initial_step=2)
    bundle, _ = w._repr_mimebundle_()
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "nn.MaxPool2d(kernel_size=2, stride=1, padding=0)" in bundle["text/plain"]
    assert "Step 3: max(3, 4, 6, 7) = 7" in bundle["text/plain"]


def test_photo_is_offline_small_and_deterministic():
    a, b = photo(16), photo(16)
    assert a.shape == (16, 16) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert photo(8, rgb=True).shape == (3, 8, 8)
    w = SlidingWindow.from_photo(32, kernel_size=2, stride=2)
    assert w.state["out"] == [16, 16]
    with pytest.raises(ValueError, match="size"):
        photo(1000)


def test_numbers_too_long_for_a_cell_are_rounded_to_fit():
    values = (4.0, 0.5333, -1.5, 12.345, 123.4, -math.inf, math.nan, 0.004, 123456.0, -0.012345, 1234.56789)
    assert [fmt(v, 4) for v in values] == ["4", "0.53", "-1.5", "12.3", "123", "-∞", "nan", "4e-3", "1e5",
                                           "-0.01", "1235"]


def test_a_cell_reads_like_the_formula():
    """The learner review: an avg cell showed 1.11 while its formula said = 1.111. A cell now shows poolkit's
    fmt text (what the formula ends with) whenever it has at most CELL_CHARS characters."""
    X = torch.stack([torch.arange(16.0).reshape(4, 4), torch.arange(16.0).reshape(4, 4) + 1])
    w = SlidingWindow(X, kernel_size=3, stride=2, padding=1, mode="avg")
    s = w.state
    for c, ch in enumerate(s["channels"]):
        for t, formula in enumerate(ch["formula"]):
            assert formula.split(" = ")[-1] == ch["output"]["text"][t] == full(ch["output"])[t], (c, t)
    assert [s["channels"][c]["output"]["text"][0] for c in range(2)] == ["1.111", "1.556"]
    assert s["rounded"] is False
    # a number longer than a cell holds is rounded, and the state says so (the legend and tooltip explain)
    w = SlidingWindow(torch.tensor([[-0.0087314, -0.24037], [0.25, 123456.0]]), kernel_size=1)
    grid = w.state["channels"][0]["input"]
    assert grid["text"] == ["-9e-3", "-0.2404", "0.25", "1e5"]
    assert full(grid) == ["-0.008731", "-0.2404", "0.25", "1.235e+05"]
    assert w.state["rounded"] is True
    assert all(len(fmt(v, CELL_CHARS)) <= CELL_CHARS for v in (
        1 / 3, -2 / 3, 12.345, -123.45, 1e-7, -1e9, math.nan))


def test_shading_range_is_sent_for_the_legend():
    w = SlidingWindow(torch.arange(16.0).reshape(4, 4), kernel_size=2, stride=1)
    ch = w.state["channels"][0]
    assert ch["range"] == ["0", "15"] and ch["grad_range"] == ["0", "1"]  # each window wins once
    assert ch["input"]["shade"][0] == 0 and ch["input"]["shade"][15] == 100  # brightest = largest
    w = SlidingWindow(torch.tensor([[-math.inf, 2.0], [math.nan, 4.0]]), kernel_size=1)
    assert w.state["channels"][0]["range"] == ["2", "4"]  # -inf and NaN are drawn specially, not scaled
    ch = SlidingWindow(torch.ones(3, 3), kernel_size=3, padding=1, stride=1, mode="avg").state["channels"][0]
    assert ch["input"]["shade"] == [100] * 9  # a constant plane: nothing to compare, all white
    assert ch["output"]["shade"] == [100] * 9
    ch = SlidingWindow(torch.arange(9.0).reshape(3, 3) + 1, kernel_size=3, padding=1, stride=1,
                       mode="avg").state["channels"][0]
    assert full(ch["output"])[0] == "1.333" and ch["output"]["shade"][0] == 4  # (1.333 - 1) / 8
    assert all(0 <= v <= 100 for v in ch["output"]["shade"])
    ch = SlidingWindow(torch.tensor([[4.0, 8.0], [8.0, 8.0]]), kernel_size=2, padding=1, stride=1,
                       mode="avg").state["channels"][0]
    assert full(ch["output"])[0] == "1" and ch["output"]["shade"][0] == 0  # below the min 4: clamped


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("stride", [0, 2], "stride=(0, 2)"),  # what the browser sends when the learner types 0 in one field
    ("padding", [0, -1], "padding=(0, -1)"),
    ("kernel_size", [2, None], "kernel_size=(2, None)"),
    ("dilation", [0, 1], "dilation=(0, 1)"),
])
def test_per_axis_values_read_as_pytorch_takes_them(name, value, shown):
    w = SlidingWindow(**{name: value})
    assert w.error["value"] == shown and "[" not in w.error["message"], w.error
    w = SlidingWindow()
    setattr(w, name, value)  # as the browser sets it
    assert w.error["value"] == shown


def test_the_browser_gets_its_strings_from_the_catalogue():
    w = SlidingWindow()
    assert "Binder" in w.text["no_kernel"] and "make.py lab" in w.text["no_kernel"]  # no README on the site
    assert [(m, divides) for m, _, divides in w.modes] == [("max", False), ("avg", True)]
