"""poolkit.pool2d, output_shape and trace against PyTorch: random differential tests, grids, anchors."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pooling_cases import assert_bitwise as assert_identical
from pooling_cases import settings_and_input, torch_pool

from poolkit import output_shape, pool2d, trace
from poolkit.params import MODES
from poolkit.trace import fmt

# ------------------------------------------------------------------------------------------------
# Random valid settings, and inputs full of ties, NaN and -inf
# ------------------------------------------------------------------------------------------------


def outcome(fn, *args):
    """fn(*args), or the error it raised."""
    try:
        return fn(*args)
    except (RuntimeError, ValueError, TypeError) as err:
        return err


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_values_and_indices_match_torch(mode, data):
    X, params = data.draw(settings_and_input(mode))
    picks_one = MODES[mode].picks_one  # then the indices too
    expected = outcome(torch_pool, X, params, picks_one)
    if isinstance(expected, Exception):  # e.g. the window does not fit: poolkit must refuse too
        with pytest.raises(ValueError):
            pool2d(X, **params, return_indices=picks_one)
        return
    if picks_one:
        values, indices = pool2d(X, **params, return_indices=True)
        assert_identical(values, expected[0])
        assert_identical(indices, expected[1])
        expected = expected[0]
    assert_identical(pool2d(X, **params), expected)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.float16, torch.bfloat16])
def test_other_dtypes_match_torch(dtype):
    gen = torch.Generator().manual_seed(0)
    X = torch.randint(0, 100, (2, 3, 7, 6), generator=gen).to(dtype)
    for k, s, p, d in [(2, None, 0, 1), (3, 2, 1, 1), (2, 1, 1, 2), (3, 1, 1, 1)]:
        assert_identical(pool2d(X, k, s, p, d), F.max_pool2d(X, k, s, p, d))
    if dtype.is_floating_point:
        assert_identical(pool2d(X, 3, 2, 1, mode="avg"), F.avg_pool2d(X, 3, 2, 1))


# ------------------------------------------------------------------------------------------------
# output_shape: exhaustive small grid
# ------------------------------------------------------------------------------------------------


def test_output_shape_matches_torch_on_a_grid():
    checked = refused = 0
    for H, k, s, d, ceil in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(1, 4),
                                              [False, True]):
        for p in range(k // 2 + 1):
            expected = outcome(F.max_pool2d, torch.zeros(1, H, 5), (k, 1), (s, 1), (p, 0), (d, 1), ceil)
            if isinstance(expected, Exception):
                with pytest.raises(ValueError, match="does not fit"):
                    output_shape((H, 5), (k, 1), (s, 1), (p, 0), (d, 1), ceil)
                refused += 1
            else:
                assert output_shape((H, 5), (k, 1), (s, 1), (p, 0), (d, 1), ceil)[0] == expected.shape[-2]
                checked += 1
    assert checked == 832 and refused == 320  # the grid really ran, both outcomes


def test_output_shape_rules_from_the_lecture():
    assert output_shape((4, 4), 3) == (1, 1)  # default stride = kernel_size
    assert output_shape((25, 25), 2) == (12, 12)  # floor drops the last row and column
    assert output_shape((5, 5), 2, 2, 1, ceil_mode=True) == (3, 3)  # not 4: last window starts outside
    assert output_shape((4, 4), (2, 3), (2, 3), (0, 1)) == (2, 2)


# ------------------------------------------------------------------------------------------------
# trace: every record agrees with pool2d and with torch
# ------------------------------------------------------------------------------------------------


def torch_divisors(X, params):
    """The divisor torch used in each window: (sum of ones) / (average of ones)."""
    ones = torch.ones(1, *X.shape, dtype=torch.float64)
    p = dict(params)
    p.pop("mode")
    counted = F.avg_pool2d(ones, **{**p, "divisor_override": 1})
    average = F.avg_pool2d(ones, **p)
    return (counted / average).round().long()[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(MODES)).flatmap(settings_and_input))
def test_trace_agrees_with_pool2d_and_torch(case):
    X, params = case
    plane = X.reshape(-1, *X.shape[-2:])[0]
    if isinstance(outcome(torch_pool, plane, params), Exception):
        return
    steps = trace(plane, **params)
    out_h, out_w = output_shape(plane.shape, params["kernel_size"], params["stride"],
                                params["padding"], params.get("dilation", 1), params["ceil_mode"])
    assert [(s.out_row, s.out_col) for s in steps] == [(i, j) for i in range(out_h) for j in range(out_w)]
    results = torch.tensor([s.result for s in steps], dtype=plane.dtype).reshape(out_h, out_w)
    assert_identical(results, pool2d(plane, **params))
    kh, kw = params["kernel_size"]
    for step in steps:
        assert len(step.cells) == kh * kw
        assert step.formula.endswith(f"= {fmt(step.result)}")
    if MODES[params["mode"]].picks_one:
        _, indices = torch_pool(plane, params, return_indices=True)
        assert [s.index for s in steps] == indices.flatten().tolist()
        for step in steps:
            if step.argmax is not None:
                row, col = step.argmax
                assert row * plane.shape[1] + col == step.index
                assert any(c.kind == "input" and (c.row, c.col) == step.argmax for c in step.cells)
            assert all(s.divisor is None for s in steps)
    else:
        if params.get("divisor_override") is None:
            assert [s.divisor for s in steps] == torch_divisors(plane, params).flatten().tolist()
        else:
            assert {s.divisor for s in steps} == {params["divisor_override"]}


def test_trace_of_the_lecture_example():
    X = torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]])
    steps = trace(X, 2, stride=1)
    assert [s.formula for s in steps] == [
        "max(0, 1, 3, 4) = 4", "max(1, 2, 4, 5) = 5", "max(3, 4, 6, 7) = 7", "max(4, 5, 7, 8) = 8"]
    assert [s.argmax for s in steps] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    avg = trace(X, 2, stride=1, mode="avg")
    assert avg[0].formula == "(0 + 1 + 3 + 4) / 4 = 2" and avg[0].divisor == 4


def test_trace_marks_padding_and_overhang():
    steps = trace(torch.ones(6, 6), 3, stride=2, padding=1, ceil_mode=True, mode="avg")
    corner = steps[-1]  # bottom-right window: rows/cols 5, 6 (padding), 7 (overhang)
    kinds = {(c.row, c.col): c.kind for c in corner.cells}
    assert kinds[(5, 5)] == "input" and kinds[(6, 5)] == "padding" and kinds[(7, 5)] == "overhang"
    assert corner.divisor == 4 and corner.result == 0.25  # only input and padding are counted
    assert all(c.value is None for c in corner.cells if c.kind == "overhang")
    maxsteps = trace(-torch.arange(16.0).reshape(4, 4) - 1, 3, stride=2, padding=1)
    assert maxsteps[0].formula.startswith("max(-∞, -∞, -∞, -∞, -1")
    assert maxsteps[0].result == -1.0  # -inf padding never wins


# ------------------------------------------------------------------------------------------------
# Fixed anchors: d2l's worked examples and the measured corner cases (pooling-semantics.md)
# ------------------------------------------------------------------------------------------------

LECTURE_X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
X16 = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)


def test_d2l_worked_examples():
    assert pool2d(LECTURE_X, (2, 2), stride=1).tolist() == [[4, 5], [7, 8]]
    assert pool2d(LECTURE_X, (2, 2), stride=1, mode="avg").tolist() == [[2, 3], [5, 6]]
    assert pool2d(X16, 3).tolist() == [[[[10]]]]
    assert pool2d(X16, 3, padding=1, stride=2).tolist() == [[[[5, 7], [13, 15]]]]
    assert pool2d(X16, (2, 3), stride=(2, 3), padding=(0, 1)).tolist() == [[[[5, 7], [13, 15]]]]
    two = torch.cat((X16, X16 + 1), 1)
    assert pool2d(two, 3, padding=1, stride=2)[0, 1].tolist() == [[6, 8], [14, 16]]


def test_measured_corner_cases():
    negative = -torch.arange(16.0).reshape(1, 4, 4) - 1
    assert pool2d(negative, 3, 2, 1).tolist() == [[[-1, -2], [-5, -6]]]
    ones = torch.ones(3, 3)
    assert pool2d(ones, 3, 1, 1, mode="avg").mul(9).tolist() == [[4, 6, 4], [6, 9, 6], [4, 6, 4]]
    assert pool2d(ones, 3, 1, 1, mode="avg", count_include_pad=False).tolist() == [[1.0] * 3] * 3
    ceil = pool2d(torch.ones(6, 6), 3, 2, 1, ceil_mode=True, mode="avg")
    assert ceil[1:-1, -1].tolist() == [0.5, 0.5] and ceil[-1, -1] == 0.25
    assert pool2d(torch.ones(2, 2), 2, mode="avg", divisor_override=1).item() == 4
    assert not pool2d(torch.zeros(2, 2), 2, mode="avg", divisor_override=-4).signbit()  # torch: +0.0
    _, index = pool2d(torch.tensor([[1.0, 5], [5, 1]]), 2, return_indices=True)
    assert index.item() == 1  # ties: first maximum in row-major order
    value, index = pool2d(torch.tensor([[float("nan"), 1], [float("nan"), 0]]), 2, return_indices=True)
    assert value.isnan().item() and index.item() == 2  # NaN propagates; index of the last NaN
    assert pool2d(torch.full((2, 2), float("-inf")), 2).item() == float("-inf")
    values, indices = pool2d(X16, 3, 2, 1, return_indices=True)
    assert indices.tolist() == [[[[5, 7], [13, 15]]]]


@pytest.mark.parametrize("divisor_override", [None, 3, -2])
def test_avg_formula_reads_as_arithmetic_that_gives_the_result(divisor_override):
    """Negative taps read "0 - 1", not "0 + -1"; a negative divisor is parenthesised; the arithmetic holds."""
    X = torch.tensor([[0.0, -1, 2, -3], [4, -5, 6, 7], [-8, 9, 10, -11], [12, 13, -14, 15]])
    steps = trace(X, 2, padding=1, mode="avg", divisor_override=divisor_override)
    for step in steps:
        lhs, rhs = step.formula.rsplit(" = ", 1)
        assert "+ -" not in lhs and "/ -" not in lhs, step.formula
        assert eval(lhs) == pytest.approx(float(rhs), abs=1e-3), step.formula  # our own text
    shown_divisor = {None: "4", 3: "3", -2: "(-2)"}[divisor_override]
    assert steps[1].formula == f"(0 + 0 - 1 + 2) / {shown_divisor} = {fmt(steps[1].result)}"
    one = trace(X[1:2, :1], 1, mode="avg", divisor_override=divisor_override)[0]  # a 1x1 window of 4
    assert one.formula == f"4 / {shown_divisor.replace('4', '1')} = {fmt(one.result)}", one.formula
