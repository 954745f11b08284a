"""poolkit.pool2d_vectorized against PyTorch and against the reference loop, bit for bit; and the bench."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pooling_cases import assert_bitwise, is_valid, settings_and_input, torch_pool

from poolkit import bench, pool2d, pool2d_vectorized
from poolkit.params import MODES

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])

# ------------------------------------------------------------------------------------------------
# Differential tests: vs torch and vs the reference loop
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(data=st.data())
def test_values_and_indices_equal_torch_and_loop(mode, data):
    X, params = data.draw(settings_and_input(mode))
    if not is_valid(X, params):
        return
    if MODES[mode].picks_one:
        values, indices = pool2d_vectorized(X, **params, return_indices=True)
        torch_values, torch_indices = torch_pool(X, params, return_indices=True)
        loop_values, loop_indices = pool2d(X, **params, return_indices=True)
        assert_bitwise(values, torch_values)
        assert torch.equal(indices, torch_indices)
        assert_bitwise(values, loop_values)
        assert torch.equal(indices, loop_indices)
    # without indices max pooling takes a different (two-pass) path for overlapping windows: same bits
    Y = pool2d_vectorized(X, **params)
    assert_bitwise(Y, torch_pool(X, params))
    assert_bitwise(Y, pool2d(X, **params))


def test_zero_mean_over_a_negative_divisor_is_positive_zero_like_torch():
    X = torch.tensor([[-0.0, 0.0]])
    Y = pool2d_vectorized(X, (1, 2), mode="avg", divisor_override=-2)
    assert_bitwise(Y, F.avg_pool2d(X[None], (1, 2), divisor_override=-2)[0])
    assert not Y.signbit().any()


def test_nan_rule_is_used_even_when_the_sum_hides_nothing():
    """The NaN fast path is chosen from the input's sum; +inf and -inf make that sum NaN too."""
    X = torch.tensor([[float("inf"), float("-inf"), 1.0, 2.0]])
    assert_bitwise(pool2d_vectorized(X, (1, 2)), F.max_pool2d(X[None], (1, 2))[0])
    X = torch.tensor([[float("nan"), 1.0], [float("nan"), 0.0]])
    values, index = pool2d_vectorized(X, 2, return_indices=True)
    assert values.isnan().all() and index.item() == 2  # the LAST NaN, like torch


def test_fixed_anchors():
    X = torch.arange(16, dtype=torch.float32).reshape(4, 4)
    values, index = pool2d_vectorized(X, 3, stride=2, padding=1, return_indices=True)
    assert values.tolist() == [[5, 7], [13, 15]] and index.tolist() == [[5, 7], [13, 15]]
    assert pool2d_vectorized(X, (2, 3), stride=(2, 3), padding=(0, 1)).tolist() == [[5, 7], [13, 15]]
    ones = torch.ones(6, 6)
    Y = pool2d_vectorized(ones, 3, stride=2, padding=1, ceil_mode=True, mode="avg")
    assert Y[1, -1].item() == 0.5 and Y[-1, -1].item() == 0.25  # the overhang is never counted


def test_large_batch_equals_torch():
    X = torch.randn(4, 8, 56, 56, generator=torch.Generator().manual_seed(0))
    for k, s, p in bench.TARGET_SETTINGS:
        assert_bitwise(pool2d_vectorized(X, k, s, p), F.max_pool2d(X, k, s, p))
        assert_bitwise(pool2d_vectorized(X, k, s, p, mode="avg"), F.avg_pool2d(X, k, s, p))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_integer_max_pooling_equals_torch(dtype):
    X = torch.randint(-5, 5, (2, 7, 7), generator=torch.Generator().manual_seed(1)).to(dtype)
    for params in [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, padding=1, dilation=3)]:
        values, indices = pool2d_vectorized(X, **params, return_indices=True)
        expected_values, expected_indices = F.max_pool2d(X, **params, return_indices=True)
        assert torch.equal(values, expected_values) and torch.equal(indices, expected_indices)
        assert torch.equal(pool2d_vectorized(X, **params), expected_values)


# ------------------------------------------------------------------------------------------------
# Invalid input: the same error, word for word, as the reference
# ------------------------------------------------------------------------------------------------

X44 = torch.arange(16.0).reshape(4, 4)
INVALID = [
    ([1, 2, 3], dict(kernel_size=2)),
    (torch.zeros(5), dict(kernel_size=2)),
    (torch.zeros(0, 3, 3), dict(kernel_size=2)),
    (torch.ones(3, 3, dtype=torch.bool), dict(kernel_size=2)),
    (torch.ones(3, 3, dtype=torch.int64), dict(kernel_size=2, mode="avg")),
    (X44, dict(kernel_size=0)),
    (X44, dict(kernel_size=2.5)),
    (X44, dict(kernel_size=(2, 2, 2))),
    (X44, dict(kernel_size=2, stride=0)),
    (X44, dict(kernel_size=2, padding=2)),
    (X44, dict(kernel_size=2, padding=2, dilation=3)),
    (X44, dict(kernel_size=2, padding=-1)),
    (X44, dict(kernel_size=5)),
    (X44, dict(kernel_size=3, dilation=2)),
    (X44, dict(kernel_size=2, mode="min")),
    (X44, dict(kernel_size=2, mode="avg", dilation=2)),
    (X44, dict(kernel_size=2, mode="avg", divisor_override=0)),
    (X44, dict(kernel_size=2, mode="avg", divisor_override=1.5)),
    (X44, dict(kernel_size=2, divisor_override=2)),
    (X44, dict(kernel_size=2, mode="avg", return_indices=True)),
    (X44, dict(kernel_size=2, ceil_mode=1)),
    (X44, dict(kernel_size=2, count_include_pad="yes", mode="avg")),
]


@pytest.mark.parametrize("X, params", INVALID, ids=[str(p) for _, p in INVALID])
def test_invalid_input_raises_the_same_error_as_pool2d(X, params):
    with pytest.raises((ValueError, TypeError)) as expected:
        pool2d(X, **params)
    with pytest.raises(expected.type) as actual:
        pool2d_vectorized(X, **params)
    assert str(actual.value) == str(expected.value)


# ------------------------------------------------------------------------------------------------
# The benchmark runs (timing itself is not asserted: the bench command prints it)
# ------------------------------------------------------------------------------------------------


def test_bench_runs_on_a_tiny_setting(capsys):
    rows = [bench.run_case(case, rounds=1, min_seconds=0) for case in bench.cases([(1, 1, 4, 4)])]
    assert len(rows) == 2 * len(bench.TARGET_SETTINGS)
    assert all(row.loop is not None and row.loop > 0 and row.vectorized > 0 and row.torch > 0 for row in rows)
    text = bench.table(rows)
    assert text.count("\n") == len(rows) and "(1, 1, 4, 4)" in text and "vec/torch" in text
    assert bench.worst_target_ratio(rows, (1, 1, 4, 4)) == max(r.vectorized / r.torch for r in rows)
    skipped = bench.run_case(bench.Case((1, 1, 4, 4), "avg", 2, 2, 0), rounds=1, min_seconds=0, loop=False)
    assert skipped.loop is None and "skipped" in bench.table([skipped])


def test_bench_command_prints_the_worst_ratio(capsys):
    threads = torch.get_num_threads()
    try:
        bench.main(["--quick", "--rounds", "1", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out.strip().splitlines()
    assert "1 thread(s)" in out[0]
    assert out[-1].startswith("worst vectorized/torch ratio: ")
    float(out[-1].split(": ")[1].split()[0].removesuffix("x"))
