"""The exercise self-checks accept the reference solutions and reject realistic mistakes with a message
that names the mistake; the generated dataset is deterministic and balanced."""

import torch
import torch.nn.functional as F

from poolkit import exercises
from poolkit.datasets import SHAPE_NAMES, load_data_shapes, make_shapes

# ----------------------------------------------------------------------------------------------------
# Reference solutions (the same code as the hidden solution cells in notebooks/06-exercises.ipynb)
# ----------------------------------------------------------------------------------------------------


def avg_pool_as_conv(X, kernel_size, stride, padding):
    C = X.shape[1]
    K = torch.full((C, 1, kernel_size, kernel_size), 1 / kernel_size**2)
    return F.conv2d(X, K, stride=stride, padding=padding, groups=C)


def max_via_relu(a, b):
    return F.relu(a - b) + b


def _max_keep_sign(a, b):
    """max(a, b) where b may be negative: ReLU(a - b) + ReLU(b) - ReLU(-b)."""
    return F.relu(a - b) + F.relu(b) - F.relu(-b)


def max_pool_via_relu(X, kernel_size=2):
    k = kernel_size
    eye = torch.eye(k * k).reshape(k * k, 1, k, k)  # one output channel per window position
    values = list(F.conv2d(X, eye, stride=k).unbind(1))
    while len(values) > 1:  # a tournament: pairwise maxima until one is left
        pairs = [_max_keep_sign(a, b) for a, b in zip(values[::2], values[1::2], strict=False)]
        values = pairs + values[len(pairs) * 2:]
    return values[0].unsqueeze(1)


def pool_cost(c, h, w, kernel_size, stride, padding):
    h_out = (h + 2 * padding - kernel_size) // stride + 1
    w_out = (w + 2 * padding - kernel_size) // stride + 1
    return c * h_out * w_out * (kernel_size * kernel_size - 1)


def min_pool(X, kernel_size, stride, padding):
    return -F.max_pool2d(-X, kernel_size, stride, padding)


def test_reference_solutions_pass(capsys):
    assert exercises.check_avg_pool_as_conv(avg_pool_as_conv)
    assert exercises.check_max_via_relu(max_via_relu)
    assert exercises.check_max_pool_via_relu(max_pool_via_relu, kernel_size=2)
    assert exercises.check_max_pool_via_relu(lambda X: max_pool_via_relu(X, 3), kernel_size=3)
    assert exercises.check_pool_cost(pool_cost)
    assert exercises.check_min_pool(min_pool)
    out = capsys.readouterr().out
    assert out.count("✓") == 6 and "✗" not in out


def rejected(check, fn, capsys, *needles, **kwargs):
    """check(fn) returns False (no exception) and its message contains every needle."""
    assert check(fn, **kwargs) is False
    out = capsys.readouterr().out
    assert out.startswith("✗"), out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    return out


# ----------------------------------------------------------------------------------------------------
# Wrong answers are rejected with a message that points at the mistake
# ----------------------------------------------------------------------------------------------------


def test_not_implemented_is_a_message_not_a_traceback(capsys):
    def stub(*args):
        raise NotImplementedError

    for check in (exercises.check_avg_pool_as_conv, exercises.check_max_via_relu,
                  exercises.check_max_pool_via_relu, exercises.check_pool_cost, exercises.check_min_pool):
        rejected(check, stub, capsys, "尚未实现")


def test_avg_forgot_to_divide(capsys):
    def fn(X, k, s, p):
        C = X.shape[1]
        return F.conv2d(X, torch.ones(C, 1, k, k), stride=s, padding=p, groups=C)

    rejected(exercises.check_avg_pool_as_conv, fn, capsys, "4 倍", "忘了除以窗口大小")


def test_avg_forgot_stride(capsys):
    rejected(exercises.check_avg_pool_as_conv, lambda X, k, s, p: avg_pool_as_conv(X, k, 1, p), capsys,
             "形状不对", "stride=2", "卷积默认步幅是 1")


def test_avg_mixes_channels(capsys):
    def fn(X, k, s, p):
        C = X.shape[1]
        return F.conv2d(X, torch.full((C, C, k, k), 1 / k**2), stride=s, padding=p)

    rejected(exercises.check_avg_pool_as_conv, fn, capsys, "通道", "groups=2")


def test_avg_divides_by_valid_cells_only(capsys):
    def fn(X, k, s, p):
        ones = torch.ones_like(X)
        return avg_pool_as_conv(X, k, s, p) / avg_pool_as_conv(ones, k, s, p)

    rejected(exercises.check_avg_pool_as_conv, fn, capsys, "count_include_pad=True", "边界")


def test_avg_learner_code_raises_is_reported(capsys):
    def fn(X, k, s, p):
        return F.conv2d(X, torch.ones(1, 1, k, k) / k**2, stride=s, padding=p)  # fails for C=2

    rejected(exercises.check_avg_pool_as_conv, fn, capsys, "RuntimeError", "X 形状 (1, 2, 4, 4)")


def test_max_via_relu_wrong_sign_gives_min(capsys):
    rejected(exercises.check_max_via_relu, lambda a, b: b - F.relu(b - a), capsys, "min(a, b)")


def test_max_via_relu_forgot_b(capsys):
    out = rejected(exercises.check_max_via_relu, lambda a, b: F.relu(a - b), capsys, "还要加上 b")
    assert "a = [3.0], b = [1.0]" in out and "应为 3" in out and "给出 2" in out  # where, and both outputs


def test_max_via_relu_relu_on_b(capsys):
    rejected(exercises.check_max_via_relu, lambda a, b: F.relu(a - b) + F.relu(b), capsys, "负数")


def test_max_via_relu_builtin_max_is_refused(capsys):
    rejected(exercises.check_max_via_relu, lambda a, b: torch.maximum(a, b), capsys,
             "torch.maximum", "只用 ReLU")
    rejected(exercises.check_max_via_relu, lambda a, b: torch.stack([a, b]).max(0).values, capsys,
             "torch.Tensor.max")


def test_max_pool_via_relu_loses_negatives(capsys):
    def fn(X):
        a, b, c, d = F.conv2d(X, torch.eye(4).reshape(4, 1, 2, 2), stride=2).unbind(1)
        m1, m2 = F.relu(a - b) + F.relu(b), F.relu(c - d) + F.relu(d)
        return (F.relu(m1 - m2) + F.relu(m2)).unsqueeze(1)

    rejected(exercises.check_max_pool_via_relu, fn, capsys, "全为负数", "ReLU(b) − ReLU(−b)")


def test_max_pool_via_relu_pads_odd_sizes(capsys):
    def fn(X):
        H, W = X.shape[-2:]
        return max_pool_via_relu(F.pad(X, (0, W % 2, 0, H % 2)), 2)  # ceil instead of floor

    rejected(exercises.check_max_pool_via_relu, fn, capsys, "形状不对", "5×5", "向下取整")


def test_max_pool_via_relu_average_is_not_max(capsys):
    rejected(exercises.check_max_pool_via_relu, lambda X: F.avg_pool2d(X, 2), capsys, "平均池化")


def test_max_pool_via_relu_builtin_is_refused(capsys):
    rejected(exercises.check_max_pool_via_relu, lambda X: F.max_pool2d(X, 2), capsys, "max_pool2d")


def test_relu_net_size_accepts_the_counts_of_3b(capsys):
    assert exercises.relu_net_channels(2) == [6, 3]  # 4 values: 2 pairs -> 2 values: 1 pair -> 1
    assert exercises.relu_net_channels(3) == [14, 8, 5, 3]  # 9 -> 5 -> 3 -> 2 -> 1, singles take 2
    assert exercises.check_relu_net_size(2, 2, [6, 3])
    assert exercises.check_relu_net_size(3, 4, (14, 8, 5, 3))
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "[6, 3]" not in out  # a pass does not print the answer


def test_relu_net_size_forgot_the_negative_channel(capsys):
    rejected(exercises.check_relu_net_size, 2, capsys, "第 1 个 ReLU 层", "ReLU(b) − ReLU(−b)",
             relu_layers=2, channels=[4, 2])


def test_relu_net_size_one_pair_per_layer(capsys):
    rejected(exercises.check_relu_net_size, 3, capsys, "要 8 层", "数目减半", relu_layers=8, channels=[3] * 8)


def test_relu_net_size_single_value_skipped(capsys):
    rejected(exercises.check_relu_net_size, 3, capsys, "1 个落单", "穿过这一层 ReLU",
             relu_layers=4, channels=[12, 6, 3, 3])
    rejected(exercises.check_relu_net_size, 3, capsys, "落单的数 v 也可能是负数",
             relu_layers=4, channels=[13, 8, 5, 3])


def test_relu_net_size_copied_2x2_for_3x3_and_bad_types(capsys):
    out = rejected(exercises.check_relu_net_size, 3, capsys, "从 9 个数开始", relu_layers=2, channels=[6, 3])
    assert "14" not in out  # the hint says how to count, not the answer
    rejected(exercises.check_relu_net_size, 2, capsys, "尚未回答", relu_layers=None, channels=None)
    rejected(exercises.check_relu_net_size, 2, capsys, "整数列表", relu_layers=2, channels="6, 3")
    rejected(exercises.check_relu_net_size, 2, capsys, "channels 有 1 个数", relu_layers=2, channels=[6])


def test_pool_cost_counts_reads_not_comparisons(capsys):
    def fn(c, h, w, k, s, p):
        return pool_cost(c, h, w, k, s, p) // (k * k - 1) * k * k

    rejected(exercises.check_pool_cost, fn, capsys, "n − 1 次比较")


def test_pool_cost_forgot_channels(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: pool_cost(1, h, w, k, s, p), capsys,
             "少乘了通道数 c")


def test_pool_cost_forgot_padding(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: pool_cost(c, h, w, k, s, 0), capsys,
             "忘了填充", "padding=1")


def test_pool_cost_unexplained_answer_gets_no_misleading_hint(capsys):
    out = rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w, capsys, "给出 16")
    assert "你数的是" not in out  # 16 equals the "reads" formula for this case only by coincidence


def test_pool_cost_input_size_instead_of_output(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w * (k * k - 1), capsys,
             "输出不是 h×w", "floor")


def test_count_comparisons_matches_a_hand_count():
    assert exercises.count_comparisons(1, 4, 4, 2, 2, 0) == 4 * 3  # 4 windows, 3 comparisons each
    assert exercises.count_comparisons(3, 4, 4, 3, 2, 1) == 3 * 4 * 8


def test_min_pool_as_maxpool(capsys):
    rejected(exercises.check_min_pool, lambda X, k, s, p: F.max_pool2d(X, k, s, p), capsys, "最大池化")


def test_min_pool_negated_output_only(capsys):
    rejected(exercises.check_min_pool, lambda X, k, s, p: -F.max_pool2d(X, k, s, p), capsys,
             "要先对输入取负")


def test_min_pool_zero_padding(capsys):
    def fn(X, k, s, p):
        return -F.max_pool2d(-F.pad(X, (p, p, p, p)), k, s)

    out = rejected(exercises.check_min_pool, fn, capsys, "用 0 填充", "+∞")
    assert "应得到" in out and "你的结果" in out  # a small input: both outputs are shown


def test_min_pool_wrong_shape(capsys):
    rejected(exercises.check_min_pool, lambda X, k, s, p: min_pool(X, k, k, p), capsys, "形状不对")


# ----------------------------------------------------------------------------------------------------
# The generated dataset
# ----------------------------------------------------------------------------------------------------


def test_shapes_are_deterministic_and_seeded():
    X1, y1 = make_shapes(60, seed=3)
    X2, y2 = make_shapes(60, seed=3)
    X3, _ = make_shapes(60, seed=4)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)


def test_shapes_have_the_right_shape_range_and_balanced_labels():
    X, y = make_shapes(100, seed=0)
    assert X.shape == (100, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (100,) and y.dtype == torch.int64
    assert 0 <= X.min() and X.max() <= 1
    counts = torch.bincount(y, minlength=len(SHAPE_NAMES))
    assert counts.max() - counts.min() <= 1 and counts.sum() == 100


def test_shapes_appear_at_many_positions():
    X, _ = make_shapes(300, seed=0)
    bright = (X[:, 0] > 0.45).float()  # stamps are >= 0.5, the background noise < 0.25
    rows = bright.sum(2).argmax(1)  # row of each image's brightest line
    cols = bright.sum(1).argmax(1)
    assert len(rows.unique()) > 10 and len(cols.unique()) > 10


def test_loaders_are_reproducible():
    first = [y for _, y in load_data_shapes(32, n_train=96, n_test=32)[0]]
    again = [y for _, y in load_data_shapes(32, n_train=96, n_test=32)[0]]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    _, test_iter = load_data_shapes(32, n_train=96, n_test=40)
    assert sum(len(y) for _, y in test_iter) == 40


def test_make_shapes_rejects_bad_n():
    try:
        make_shapes(0)
    except ValueError as err:
        assert "positive int" in str(err)
    else:
        raise AssertionError("make_shapes(0) should raise ValueError")


def test_not_additive_accepts_a_counterexample_and_rejects_others(capsys):
    X = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert exercises.check_not_additive(X, torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    assert "✓" in capsys.readouterr().out
    rejected(lambda fn: exercises.check_not_additive(X, X), None, capsys, "没有打破可加性")
    rejected(lambda fn: exercises.check_not_additive(None, None), None, capsys, "尚未实现")
    rejected(lambda fn: exercises.check_not_additive(X, torch.ones(3, 3)), None, capsys, "形状相同")
