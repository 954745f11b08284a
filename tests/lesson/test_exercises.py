"""The exercise self-checks accept the reference solutions and reject realistic mistakes with a message
that names the mistake; the exercise notebook keeps one convention (stubs, one-line checks, solutions hidden
in <details>, the book's six exercises first); the generated dataset is deterministic and balanced."""

import ast
import contextlib
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from poolkit import exercises
from poolkit.datasets import SHAPE_NAMES, load_data_shapes, make_shapes
from poolkit.explain import say

# ----------------------------------------------------------------------------------------------------
# Reference solutions (the notebook's own, in its <details> blocks, are run by test_notebook_solutions_pass)
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


def softmax_pool(X, kernel_size, temperature):
    N, C, H, W = X.shape
    cols = F.unfold(X, kernel_size, stride=kernel_size).reshape(N, C, kernel_size**2, -1)
    weights = torch.softmax(cols / temperature, dim=2)
    return (weights * cols).sum(dim=2).reshape(N, C, H // kernel_size, W // kernel_size)


X4 = torch.tensor([[1.0, 2.0, 0.0, -1.0],  # exercise 4's input: the bottom-right window has three tied 7s
                   [3.0, 0.0, 5.0, 4.0],
                   [0.0, 0.0, 7.0, 7.0],
                   [-2.0, 1.0, 7.0, 0.0]])
GRAD_MAX = [[0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]  # the first maximum of each window
GRAD_AVG = [[0.25] * 4] * 4


def grads(max_answer=GRAD_MAX, avg_answer=GRAD_AVG):
    return lambda mode: max_answer if mode == "max" else avg_answer


def test_reference_solutions_pass(capsys):
    assert exercises.check_avg_pool_as_conv(avg_pool_as_conv)
    assert exercises.check_max_via_relu(max_via_relu)
    assert exercises.check_max_pool_via_relu(max_pool_via_relu, kernel_size=2)
    assert exercises.check_max_pool_via_relu(lambda X: max_pool_via_relu(X, 3), kernel_size=3)
    assert exercises.check_pool_cost(pool_cost)
    assert exercises.check_min_pool(min_pool)
    assert exercises.check_grad_prediction(grads())
    assert exercises.check_grad_prediction(grads(avg_answer=torch.tensor(GRAD_AVG)))
    assert exercises.check_softmax_pool(softmax_pool)
    assert exercises.check_softmax_limits(lambda: ("max", "avg"))
    out = capsys.readouterr().out
    assert out.count("✓") == 12 and "✗" not in out and "☐" not in out


def test_learner_pass_lines_are_informative(capsys):
    X, Y = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    assert exercises.check_not_additive(lambda: (X, Y))
    out = capsys.readouterr().out
    assert "[[1]]" in out and "[[2]]" in out  # both sides of the broken equation
    assert exercises.check_pool_cost(pool_cost)
    out = capsys.readouterr().out
    assert "3528" in out and "换成最大池化" in out  # the shape of LeNet's first (average) pooling layer


def rejected(check, fn, capsys, *needles, **kwargs):
    """check(fn) returns False (no exception), prints ✗ and its message contains every needle."""
    assert check(fn, **kwargs) is False
    out = capsys.readouterr().out
    assert any(line.startswith("✗") for line in out.splitlines()), out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    return out


def pending(check, fn, capsys, *needles, **kwargs):
    """check(fn) on an exercise not answered yet returns False and prints ☐, never ✗: not done is not
    wrong, and Run All on an untouched notebook must not show a wall of ✗."""
    assert check(fn, **kwargs) is False
    out = capsys.readouterr().out
    assert out.startswith("☐") and "✗" not in out, out
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
        pending(check, stub, capsys, "还没做 (not done yet)", "NotImplementedError")


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


def test_avg_pooling_itself_is_refused(capsys):
    for fn, name in [(lambda X, k, s, p: F.avg_pool2d(X, k, s, p), "torch.nn.functional.avg_pool2d"),
                     (lambda X, k, s, p: torch.nn.AvgPool2d(k, s, p)(X), "torch.nn.functional.avg_pool2d"),
                     (lambda X, k, s, p: F.adaptive_avg_pool2d(X, 1), "adaptive_avg_pool2d"),
                     (lambda X, k, s, p: torch._C._nn.avg_pool2d(X, k, s, p), "torch._C._nn.avg_pool2d")]:
        rejected(exercises.check_avg_pool_as_conv, fn, capsys, name, "用卷积（F.conv2d）")


def test_avg_without_a_convolution_is_refused(capsys):
    def unfold_mean(X, k, s, p):  # averages the windows itself: no convolution
        N, C, H, W = X.shape
        H_out, W_out = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        cols = F.unfold(X, k, padding=p, stride=s).reshape(N, C, k * k, -1)
        return cols.mean(2).reshape(N, C, H_out, W_out)

    def windows_mean(X, k, s, p):
        windows = F.pad(X, (p, p, p, p)).unfold(2, k, s).unfold(3, k, s)
        return windows.mean((-2, -1))

    def loop_mean(X, k, s, p):
        Xp = F.pad(X, (p, p, p, p))
        H_out, W_out = (Xp.shape[2] - k) // s + 1, (Xp.shape[3] - k) // s + 1
        return torch.stack([torch.stack([Xp[:, :, i * s:i * s + k, j * s:j * s + k].mean((2, 3))
                                         for j in range(W_out)], -1) for i in range(H_out)], -2)

    for fn, name in [(unfold_mean, "torch.nn.functional.unfold"), (windows_mean, "torch.Tensor.unfold"),
                     (loop_mean, "torch.Tensor.mean"), (lambda X, k, s, p: torch.nn.Unfold(k)(X), "unfold")]:
        rejected(exercises.check_avg_pool_as_conv, fn, capsys, name, "用卷积（F.conv2d）", "unfold 或 mean")
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert F.unfold(X, 2).shape == (1, 4, 9) and X.mean() == 7.5  # the refusal ends with the check
    assert exercises.check_avg_pool_as_conv(avg_pool_as_conv)  # the convolution still passes


def test_avg_learner_code_raises_is_reported(capsys):
    def fn(X, k, s, p):
        return F.conv2d(X, torch.ones(1, 1, k, k) / k**2, stride=s, padding=p)  # fails for C=2

    rejected(exercises.check_avg_pool_as_conv, fn, capsys, "RuntimeError", "X 形状 (1, 2, 4, 4)")


def test_max_via_relu_wrong_sign_gives_min(capsys):
    out = rejected(exercises.check_max_via_relu, lambda a, b: b - F.relu(b - a), capsys,
                   "min(a, b)", "减法方向")
    assert "ReLU(a − b) + b" not in out  # a question, not the answer


def test_max_via_relu_forgot_b(capsys):
    out = rejected(exercises.check_max_via_relu, lambda a, b: F.relu(a - b), capsys, "a > b 时差多少")
    assert "a = [3], b = [1]" in out and "应为 3" in out and "给出 2" in out  # where, and both outputs


def test_max_via_relu_relu_on_b(capsys):
    rejected(exercises.check_max_via_relu, lambda a, b: F.relu(a - b) + F.relu(b), capsys, "负数")


def test_max_via_relu_comparisons_are_refused(capsys):
    rejected(exercises.check_max_via_relu, lambda a, b: (a > b) * a + (a <= b) * b, capsys,
             "比较运算 >", "只用 ReLU 和加减乘除")
    rejected(exercises.check_max_via_relu, lambda a, b: (a + b + (a - b).abs()) / 2, capsys,
             "torch.Tensor.abs", "ReLU(x) + ReLU(−x)")
    rejected(exercises.check_max_via_relu, lambda a, b: (a + b + abs(a - b)) / 2, capsys, "abs(...)")
    rejected(exercises.check_max_via_relu, lambda a, b: b + (a - b) * torch.heaviside(a - b, a * 0), capsys,
             "torch.heaviside")
    rejected(exercises.check_max_via_relu, lambda a, b: b + (a - b) * (torch.sign(a - b) + 1) / 2, capsys,
             "torch.sign")

    def select_in_net(X):  # the 2b network with comparisons in place of ReLU
        a, b, c, d = F.conv2d(X, torch.eye(4).reshape(4, 1, 2, 2), stride=2).unbind(1)
        m1, m2 = (a > b) * a + (a <= b) * b, (c > d) * c + (c <= d) * d
        return ((m1 > m2) * m1 + (m1 <= m2) * m2).unsqueeze(1)

    rejected(exercises.check_max_pool_via_relu, select_in_net, capsys, "比较运算 >")


def test_comparisons_work_again_after_a_check(capsys):
    exercises.check_max_via_relu(lambda a, b: (a > b) * a + (a <= b) * b)
    capsys.readouterr()
    a, b = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])
    assert (a > b).tolist() == [False, True] and torch.sign(a - b).tolist() == [-1.0, 1.0]
    assert abs(a - b).tolist() == [1.0, 1.0] and F.avg_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0
    assert exercises.check_max_via_relu(lambda a, b: (a + b + F.relu(a - b) + F.relu(b - a)) / 2)


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


def _unfold_argmax(X):  # picks each window's maximum by its position
    N, _, H, W = X.shape
    cols = F.unfold(X, 2, stride=2)
    return cols.gather(1, cols.argmax(1, keepdim=True)).reshape(N, 1, H // 2, W // 2)


def _unfold_negated_min(X):  # max = −min(−x)
    N, _, H, W = X.shape
    return -(-F.unfold(X, 2, stride=2)).min(1).values.reshape(N, 1, H // 2, W // 2)


def test_max_pool_via_relu_bypasses_are_refused(capsys):
    """Every route to a maximum that skips the ReLU idea gets ✗ naming the function and the rule."""
    bypasses = [
        (lambda X: F.max_pool2d_with_indices(X, 2)[0], "torch.nn.functional.max_pool2d_with_indices"),
        (lambda X: torch.nn.MaxPool2d(2, return_indices=True)(X)[0], "max_pool2d"),
        (lambda X: torch._C._nn.max_pool2d_with_indices(X, 2, 2)[0], "torch._C._nn.max_pool2d_with_indices"),
        (lambda X: F.adaptive_max_pool2d(X, (X.shape[2] // 2, X.shape[3] // 2)), "adaptive_max_pool2d"),
        (lambda X: F.fractional_max_pool2d(X, 2, output_ratio=0.5), "fractional_max_pool2d"),
        (_unfold_argmax, "torch.Tensor.argmax"),
        (lambda X: torch.gather(X, 1, torch.argmax(X, 1, keepdim=True)), "torch.argmax"),
        (_unfold_negated_min, "torch.Tensor.min"),
        (lambda X: F.unfold(X, 2, stride=2).sort(1).values[:, -1:], "torch.Tensor.sort"),
        (lambda X: F.unfold(X, 2, stride=2).quantile(1.0, dim=1), "torch.Tensor.quantile"),
        (lambda X: F.unfold(X, 2, stride=2).cummax(1).values[:, -1:], "torch.Tensor.cummax"),
    ]
    for fn, name in bypasses:
        rejected(exercises.check_max_pool_via_relu, fn, capsys, name, "只用 ReLU", "最小值")
    for fn, name in [(lambda a, b: -torch.minimum(-a, -b), "torch.minimum"),
                     (lambda a, b: torch.stack([a, b]).argsort(0)[-1] * (a - b) + b, "torch.Tensor.argsort"),
                     (lambda a, b: -torch.stack([-a, -b]).median(0).values, "torch.Tensor.median")]:
        rejected(exercises.check_max_via_relu, fn, capsys, name, "只用 ReLU")
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert F.max_pool2d_with_indices(X, 2)[1].tolist() == [[[[5, 7], [13, 15]]]]  # restored after the check
    assert X.argmax() == 15 and torch.argmax(X) == 15 and X.min() == 0
    assert exercises.check_max_via_relu(max_via_relu)  # the honest solutions still pass
    assert exercises.check_max_pool_via_relu(max_pool_via_relu)
    assert exercises.check_max_pool_via_relu(lambda X: max_pool_via_relu(X, 3), kernel_size=3)
    out = capsys.readouterr().out
    assert out.count("✓") == 3 and "✗" not in out


def test_pool_cost_counts_reads_not_comparisons(capsys):
    def fn(c, h, w, k, s, p):
        return pool_cost(c, h, w, k, s, p) // (k * k - 1) * k * k

    rejected(exercises.check_pool_cost, fn, capsys, "n − 1 次比较")


def test_pool_cost_forgot_channels(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: pool_cost(1, h, w, k, s, p), capsys,
             "少乘了通道数 c")


def test_pool_cost_forgot_padding(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: pool_cost(c, h, w, k, s, 0), capsys,
             "忘了填充", "padding=1", "简化的模型")


def test_pool_cost_unexplained_answer_gets_no_misleading_hint(capsys):
    out = rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w, capsys, "给出 16")
    assert "你数的是" not in out  # 16 equals the "reads" formula for this case only by coincidence


def test_pool_cost_true_division(capsys):
    def fn(c, h, w, k, s, p):  # "/" instead of "//": output sizes like 14.5
        return c * ((h + 2 * p - k) / s + 1) * ((w + 2 * p - k) / s + 1) * (k * k - 1)

    out = rejected(exercises.check_pool_cost, fn, capsys, "整数除法 //", "向下取整")
    assert "10092.0" in out

    def half(c, h, w, k, s, p):  # "//" for the height only
        return c * ((h + 2 * p - k) // s + 1) * ((w + 2 * p - k) / s + 1) * (k * k - 1)

    rejected(exercises.check_pool_cost, half, capsys, "小数 (float)", "整数除法 //")


def test_pool_cost_ceil_instead_of_floor(capsys):
    def fn(c, h, w, k, s, p):
        return c * ((h + 2 * p - k + s - 1) // s + 1) * ((w + 2 * p - k + s - 1) // s + 1) * (k * k - 1)

    rejected(exercises.check_pool_cost, fn, capsys, "向上取整", "ceil_mode=False")


def test_count_comparisons_matches_a_hand_count():
    assert exercises.count_comparisons(1, 4, 4, 2, 2, 0) == 4 * 3  # 4 windows, 3 comparisons each
    assert exercises.count_comparisons(3, 4, 4, 3, 2, 1) == 3 * 4 * 8


def test_min_pool_taken_directly_is_refused(capsys):
    def unfold_min(X, k, s, p):  # a correct minimum, but not from max pooling
        N, C, H, W = X.shape
        cols = F.unfold(F.pad(X, (p, p, p, p), value=float("inf")), k, stride=s)
        H_out, W_out = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        return cols.reshape(N, C, k * k, -1).min(dim=2).values.reshape(N, C, H_out, W_out)

    rejected(exercises.check_min_pool, unfold_min, capsys, "torch.Tensor.min", "F.max_pool2d 和取负")
    rejected(exercises.check_min_pool, lambda X, k, s, p: torch.amin(X, dim=(2, 3), keepdim=True), capsys,
             "torch.amin")
    assert torch.tensor([3.0, 1.0]).min() == 1  # the refusal ends with the check


def test_min_pool_as_maxpool(capsys):
    out = rejected(exercises.check_min_pool, lambda X, k, s, p: F.max_pool2d(X, k, s, p), capsys, "最大池化",
                   "取负")
    assert "−maxpool(−X)" not in out
    out = rejected(exercises.check_min_pool, lambda X, k, s, p: F.max_pool2d(-X, k, s, p), capsys, "相反数")
    assert "−maxpool(−X)" not in out


def test_min_pool_negated_output_only(capsys):
    out = rejected(exercises.check_min_pool, lambda X, k, s, p: -F.max_pool2d(X, k, s, p), capsys,
                   "输入也要变")
    assert "−maxpool(−X)" not in out


def test_min_pool_zero_padding(capsys):
    def fn(X, k, s, p):
        return -F.max_pool2d(-F.pad(X, (p, p, p, p)), k, s)

    out = rejected(exercises.check_min_pool, fn, capsys, "用 0 填充", "+∞")
    assert "应得到" in out and "你的结果" in out  # a small input: both outputs are shown
    assert "−maxpool(−X)" not in out


def test_min_pool_wrong_shape(capsys):
    rejected(exercises.check_min_pool, lambda X, k, s, p: min_pool(X, k, k, p), capsys, "形状不对")


def max_grad(p):
    return exercises.check_grad_prediction(grads(max_answer=p))


def avg_grad(p):
    return exercises.check_grad_prediction(grads(avg_answer=p))


def test_grad_prediction_max_rejects_mistakes_without_the_answer(capsys):
    ties = (X4 == 7).float() + torch.tensor(GRAD_MAX) * (X4 != 7)  # every tied 7 gets a gradient
    out = rejected(max_grad, ties, capsys, "3 个相等的最大值 7", "按行优先", "第 2–3 行",
                   "题目里说的 PyTorch CPU 实现")
    assert "1 个不对" in out
    rejected(max_grad, GRAD_AVG, capsys, "平均池化的梯度")
    last_seven = [[0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    rejected(max_grad, last_seven, capsys, "按行优先")
    not_max = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    out = rejected(max_grad, not_max, capsys, "X = 1 的格子", "不是这个窗口的最大值")
    assert str(GRAD_MAX) not in out and "tensor" not in out  # names the window, never prints the answer


def test_grad_prediction_avg_rejects_mistakes(capsys):
    rejected(avg_grad, torch.ones(4, 4), capsys, "除以窗口大小")
    rejected(avg_grad, GRAD_MAX, capsys, "最大池化的梯度")
    rejected(avg_grad, [[1 / 16] * 4] * 4, capsys, "不是 0.0625")


def test_grad_prediction_bad_input_is_a_message(capsys):
    def stub(mode):
        raise NotImplementedError

    pending(exercises.check_grad_prediction, stub, capsys, "还没做")
    rejected(max_grad, [1, 0], capsys, "形状应和 X 一样")
    rejected(avg_grad, "1/4", capsys, "数字列表")
    rejected(avg_grad, [[0.25] * 4, [0.25] * 3], capsys, "数字列表")


def _naive_softmax_pool(X, k, T):  # exp without subtracting the maximum
    N, C, H, W = X.shape
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)
    weights = torch.exp(cols / T) / torch.exp(cols / T).sum(2, keepdim=True)
    return (weights * cols).sum(2).reshape(N, C, H // k, W // k)


def test_softmax_pool_rejects_mistakes(capsys):
    rejected(exercises.check_softmax_pool, _naive_softmax_pool, capsys, "溢出", "torch.softmax")
    rejected(exercises.check_softmax_pool, lambda X, k, T: softmax_pool(X, k, 1.0), capsys, "忘了把 x 除以 T")
    rejected(exercises.check_softmax_pool, lambda X, k, T: softmax_pool(X, k, 1 / T), capsys, "而不是乘以 T")
    rejected(exercises.check_softmax_pool, lambda X, k, T: F.avg_pool2d(X, k), capsys, "这是平均池化")

    def across_windows(X, k, T):
        N, C, H, W = X.shape
        cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)
        return (torch.softmax(cols / T, dim=3) * cols).sum(2).reshape(N, C, H // k, W // k)

    rejected(exercises.check_softmax_pool, across_windows, capsys, "窗口之间")

    def keeps_odd_rows(X, k, T):
        return softmax_pool(F.pad(X, (0, X.shape[-1] % k, 0, X.shape[-2] % k)), k, T)

    rejected(exercises.check_softmax_pool, keeps_odd_rows, capsys, "形状不对", "丢掉")


def test_softmax_limits_rejects_mistakes(capsys):
    def limits(pair):
        return exercises.check_softmax_limits(lambda: pair)

    def stub():
        raise NotImplementedError

    assert exercises.check_softmax_limits(lambda: ("Max pooling", "平均"))
    assert exercises.check_softmax_limits(lambda: ["max", "avg"])  # any sequence of two answers
    capsys.readouterr()
    rejected(limits, ("avg", "max"), capsys, "正好反了")
    rejected(limits, ("max", "max"), capsys, "T 很大的那个不对")
    rejected(limits, ("avg", "avg"), capsys, "T 很小的那个不对")
    pending(exercises.check_softmax_limits, stub, capsys, "还没做")
    rejected(limits, ("min", "avg"), capsys, "'min'")
    rejected(limits, "max", capsys, "两个答案")


def test_zero_padding_trap_accepts_a_trap_and_names_the_window_that_exposes(capsys):
    def trap():
        X = torch.arange(16.0).reshape(4, 4)
        X[3, 3] = -1.0
        return X

    assert exercises.check_zero_padding_trap(trap)
    capsys.readouterr()
    trap_check = exercises.check_zero_padding_trap
    out = rejected(trap_check, lambda: -torch.arange(16.0).reshape(4, 4) - 1, capsys,
                   "输出 (0, 0)", "全是负数")
    assert "≥ 0" not in out  # a window to look at, not the recipe
    rejected(trap_check, lambda: torch.arange(16.0).reshape(4, 4), capsys, "没有负数")
    rejected(trap_check, lambda: torch.arange(16).reshape(4, 4) - 1, capsys, "浮点数")


def test_predict_shape_explains_ceil_mode_without_the_answer(capsys):
    def floor_or_ceil(H, k, s, p, ceil_mode):  # forgets that the last window must start inside
        span = H + 2 * p - k
        return (-(-span // s) if ceil_mode else span // s) + 1

    def right(H, k, s, p, ceil_mode):
        out = floor_or_ceil(H, k, s, p, ceil_mode)
        return out - 1 if ceil_mode and (out - 1) * s >= H + p else out

    rejected(exercises.check_predict_shape, floor_or_ceil, capsys, "ceil_mode=True", "左边的填充里开始")
    assert exercises.check_predict_shape(right)


# ----------------------------------------------------------------------------------------------------
# Every check survives any answer: a table of right, wrong and hostile answers, each with its mark
# ----------------------------------------------------------------------------------------------------

RIGHT, WRONG, HOSTILE = "right", "wrong", "hostile"


def _raise(error):
    def fn(*args):
        raise error
    return fn


def _exit(*args):
    raise SystemExit(1)


def _stub(*args):
    raise NotImplementedError


def _scaled(solution, factor):  # the right answer times factor: NaN or ∞ everywhere it is not 0
    return lambda *args: solution(*args) * factor


def _taking(n):
    """A function of n arguments (x0, x1, ...) that returns None."""
    return eval(f"lambda {', '.join(f'x{i}' for i in range(n))}: None")  # noqa: S307


def _kinds_of_nonsense(right, arity):
    """Hostile answers every function-taking check meets: (label, answer, expected reason)."""
    fewer = [("one argument too few", _taking(arity - 1), "接受不了")] if arity else []
    return fewer + [
        ("returns None", lambda *args: None, None),
        ("returns a string", lambda *args: "max", None),
        ("returns a tuple", lambda *args: (1, 2), None),
        ("returns a 2-element tensor", lambda *args: torch.tensor([1.0, 2.0]), None),
        ("returns a 2-element array", lambda *args: np.array([1.0, 2.0]), None),
        ("raises ValueError", _raise(ValueError("boom")), "抛出了 ValueError: boom"),
        ("raises an error whose str fails", _raise(_Unprintable()), "抛出了 _Unprintable"),
        ("calls sys.exit", _exit, "抛出了 SystemExit"),
        ("one argument too many", _taking(arity + 1), "接受不了"),
        ("a required keyword argument", lambda *args, extra: right(*args), "接受不了"),
        ("not a function", torch.zeros(2), "应传入一个函数"),
        ("not done", _stub, None),
    ]


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text")

    def __repr__(self):
        raise RuntimeError("no text")


TENSOR_HOSTILE_REASONS = {"returns None": "应返回 torch.Tensor，但返回了 None",
                          "returns a string": "应返回 torch.Tensor，但返回了 str 'max'",
                          "returns a tuple": "应返回 torch.Tensor，但返回了 tuple (1, 2)",
                          "returns a 2-element tensor": "形状不对",
                          "returns a 2-element array": "应返回 torch.Tensor，但返回了 形状 (2,) 的数组"}
NUMBER_HOSTILE_REASONS = {"returns None": "但返回了 None", "returns a string": "但返回了 str 'max'",
                          "returns a tuple": "但返回了 tuple (1, 2)",
                          "returns a 2-element tensor": "但返回了 形状 (2,) 的张量",
                          "returns a 2-element array": "但返回了 形状 (2,) 的数组"}


def _hostile_rows(name, check, right, arity, reasons, extra=()):
    rows = []
    for label, answer, reason in _kinds_of_nonsense(right, arity):
        mark = "☐" if label == "not done" else "✗"
        rows.append((name, HOSTILE, label, check, answer, mark, reason or reasons.get(label)))
    return rows + [(name, HOSTILE, *row) for row in extra]


def _tensor_hostile(name, check, right, arity):
    """What a tensor-returning exercise meets beyond the common nonsense."""
    return _hostile_rows(name, check, right, arity, TENSOR_HOSTILE_REASONS, [
        ("NaN everywhere", check, _scaled(right, float("nan")), "✗", "数值不对"),
        ("+∞ everywhere", check, _scaled(right, float("inf")), "✗", "数值不对"),
        ("−∞ everywhere", check, _scaled(right, -float("inf")), "✗", "数值不对"),
        ("complex tensor", check, lambda *args: right(*args) * (1 + 0j), "✗", "应返回实数张量"),
        ("meta tensor", check, lambda *args: right(*args).to("meta"), "✗", "CPU 上的普通张量"),
        ("sparse tensor", check, lambda *args: right(*args).to_sparse(), "✗", "CPU 上的普通张量"),
        ("bool tensor", check, lambda *args: torch.zeros_like(right(*args), dtype=torch.bool), "✗",
         "数值不对"),
        ("a number", check, lambda *args: 3.0, "✗", "应返回 torch.Tensor，但返回了 float 3.0"),
    ])


def _max_pool_3(fn):
    return exercises.check_max_pool_via_relu(fn, kernel_size=3)


def _pool_cost_numpy(c, h, w, k, s, p):
    return np.prod([c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1, k * k - 1])


def _predict_shape(H, k, s, p, ceil_mode):
    span = H + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    return out - 1 if ceil_mode and (out - 1) * s >= H + p else out


def _floor_or_ceil(H, k, s, p, ceil_mode):  # forgets that the last window must start inside
    span = H + 2 * p - k
    return (-(-span // s) if ceil_mode else span // s) + 1


def _stable_softmax_pool(X, k, T):
    N, C, H, W = X.shape
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1) / T
    e = torch.exp(cols - cols.amax(2, keepdim=True))
    return (e / e.sum(2, keepdim=True) * cols * T).sum(2).reshape(N, C, H // k, W // k)


def _trap():
    X = torch.arange(16.0).reshape(4, 4)
    X[3, 3] = -1.0
    return X


_X2 = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
_Y2 = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
_INF2 = torch.tensor([[float("inf"), 0.0], [0.0, 0.0]])
_grad_hostile_reason = "数字列表"

ANSWERS = [  # (check name, kind, label, check, answer, mark, substring of the reason for ✗)
    # exercise 1
    ("avg_pool_as_conv", RIGHT, "grouped convolution", exercises.check_avg_pool_as_conv, avg_pool_as_conv,
     "✓", None),
    ("avg_pool_as_conv", RIGHT, "float64 result", exercises.check_avg_pool_as_conv,
     lambda *args: avg_pool_as_conv(*args).double(), "✓", None),
    ("avg_pool_as_conv", RIGHT, "changes X in place", exercises.check_avg_pool_as_conv,
     lambda *args: (avg_pool_as_conv(*args), args[0].zero_())[0], "✓", None),
    ("avg_pool_as_conv", WRONG, "rounded to integers", exercises.check_avg_pool_as_conv,
     lambda *args: avg_pool_as_conv(*args).round().long(), "✗", "数值不对"),
    ("avg_pool_as_conv", RIGHT, "result requires grad", exercises.check_avg_pool_as_conv,
     lambda *args: avg_pool_as_conv(*args).requires_grad_(), "✓", None),
    ("avg_pool_as_conv", WRONG, "forgot to divide", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: avg_pool_as_conv(X, k, s, p) * k * k, "✗", "忘了除以窗口大小"),
    ("avg_pool_as_conv", WRONG, "forgot stride", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: avg_pool_as_conv(X, k, 1, p), "✗", "卷积默认步幅是 1"),
    ("avg_pool_as_conv", WRONG, "forgot padding", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: avg_pool_as_conv(X, k, s, 0), "✗", "把 padding=1 传给 F.conv2d"),
    ("avg_pool_as_conv", WRONG, "forgot stride and divided wrong", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: avg_pool_as_conv(X, k, 1, p) * 2 if s != 1 else avg_pool_as_conv(X, k, s, p), "✗",
     "这是步幅为 1 时的形状"),
    ("avg_pool_as_conv", WRONG, "no groups", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: F.conv2d(X, torch.full((X.shape[1],) * 2 + (k, k), 1 / k**2), stride=s, padding=p),
     "✗", "groups=2"),
    ("avg_pool_as_conv", WRONG, "avg_pool2d itself", exercises.check_avg_pool_as_conv,
     lambda X, k, s, p: F.avg_pool2d(X, k, s, p), "✗", "用到了 torch.nn.functional.avg_pool2d"),
    ("avg_pool_as_conv", WRONG, "F.avg_pool2d as the answer", exercises.check_avg_pool_as_conv, F.avg_pool2d,
     "✗", "用到了 torch.nn.functional.avg_pool2d"),
    ("avg_pool_as_conv", WRONG, "off by a little", exercises.check_avg_pool_as_conv,
     lambda *args: avg_pool_as_conv(*args) + 0.01, "✗", "权重加起来是 1 吗"),
    *_tensor_hostile("avg_pool_as_conv", exercises.check_avg_pool_as_conv, avg_pool_as_conv, 4),
    # exercise 2a
    ("not_additive", RIGHT, "two maxima in one window", exercises.check_not_additive, lambda: (_X2, _Y2),
     "✓", None),
    ("not_additive", RIGHT, "a list of int tensors", exercises.check_not_additive,
     lambda: [_X2.long(), _Y2.long()], "✓", None),
    ("not_additive", RIGHT, "3x3", exercises.check_not_additive,
     lambda: (torch.eye(3), 1 - torch.eye(3)), "✓", None),
    ("not_additive", WRONG, "X and X", exercises.check_not_additive, lambda: (_X2, _X2), "✗",
     "没有打破可加性"),
    ("not_additive", WRONG, "zeros", exercises.check_not_additive, lambda: (_X2, torch.zeros(2, 2)), "✗",
     "没有打破可加性"),
    ("not_additive", WRONG, "shapes differ", exercises.check_not_additive, lambda: (_X2, torch.ones(3, 3)),
     "✗", "形状相同"),
    ("not_additive", WRONG, "1-D", exercises.check_not_additive, lambda: (torch.ones(4), torch.ones(4)), "✗",
     "二维张量"),
    ("not_additive", HOSTILE, "X = [[∞, 0], [0, 0]], Y = −X", exercises.check_not_additive,
     lambda: (_INF2, -_INF2), "✗", "有限的数"),
    ("not_additive", HOSTILE, "NaN", exercises.check_not_additive, lambda: (_X2 * float("nan"), _Y2), "✗",
     "有限的数"),
    ("not_additive", HOSTILE, "float64 overflow", exercises.check_not_additive,
     lambda: (_X2.double() * 1e308, _X2.double() * 1e308), "✗", "有限的数"),
    ("not_additive", HOSTILE, "one tensor", exercises.check_not_additive, lambda: _X2, "✗", "两个张量"),
    ("not_additive", HOSTILE, "lists", exercises.check_not_additive, lambda: ([[1, 0]], [[0, 1]]), "✗",
     "两个张量"),
    ("not_additive", HOSTILE, "a string of two", exercises.check_not_additive, lambda: "XY", "✗", "两个张量"),
    ("not_additive", HOSTILE, "three tensors", exercises.check_not_additive, lambda: (_X2, _Y2, _X2), "✗",
     "两个张量"),
    ("not_additive", HOSTILE, "complex", exercises.check_not_additive, lambda: (_X2 * 1j, _Y2), "✗",
     "实数张量"),
    *_hostile_rows("not_additive", exercises.check_not_additive, lambda: (_X2, _Y2), 0,
                   {label: "两个张量" for label in TENSOR_HOSTILE_REASONS}),
    # exercise 2b
    ("max_via_relu", RIGHT, "ReLU(a − b) + b", exercises.check_max_via_relu, max_via_relu, "✓", None),
    ("max_via_relu", RIGHT, "(a + b + |a − b|) / 2 with ReLUs", exercises.check_max_via_relu,
     lambda a, b: (a + b + F.relu(a - b) + F.relu(b - a)) / 2, "✓", None),
    ("max_via_relu", WRONG, "min(a, b)", exercises.check_max_via_relu, lambda a, b: b - F.relu(b - a), "✗",
     "你算出的是 min(a, b)"),
    ("max_via_relu", WRONG, "ReLU(a − b)", exercises.check_max_via_relu, lambda a, b: F.relu(a - b), "✗",
     "你算出的是 ReLU(a − b)"),
    ("max_via_relu", WRONG, "ReLU on b", exercises.check_max_via_relu, lambda a, b: F.relu(a - b) + F.relu(b),
     "✗", "b 被 ReLU 截掉了负数部分"),
    ("max_via_relu", WRONG, "returns a", exercises.check_max_via_relu, lambda a, b: a, "✗",
     "a > b 和 a ≤ b 的位置"),
    ("max_via_relu", WRONG, "ReLU(a − b) + ReLU(b − a)", exercises.check_max_via_relu,
     lambda a, b: F.relu(a - b) + F.relu(b - a), "✗", "a > b 和 a ≤ b 的位置"),
    ("max_via_relu", WRONG, "torch.maximum", exercises.check_max_via_relu, torch.maximum, "✗",
     "用到了 torch.maximum"),
    ("max_via_relu", WRONG, "builtin max", exercises.check_max_via_relu, max, "✗", "比较运算"),
    ("max_via_relu", WRONG, "a comparison", exercises.check_max_via_relu,
     lambda a, b: (a > b) * a + (a <= b) * b, "✗", "比较运算 >"),
    *_tensor_hostile("max_via_relu", exercises.check_max_via_relu, max_via_relu, 2),
    ("max_pool_via_relu", RIGHT, "2x2 tournament", exercises.check_max_pool_via_relu, max_pool_via_relu, "✓",
     None),
    ("max_pool_via_relu", RIGHT, "3x3 tournament", _max_pool_3, lambda X: max_pool_via_relu(X, 3), "✓", None),
    ("max_pool_via_relu", WRONG, "loses negatives", exercises.check_max_pool_via_relu,
     lambda X: F.relu(max_pool_via_relu(X)), "✗", "只在最大值为负数的窗口出错"),
    ("max_pool_via_relu", WRONG, "average", exercises.check_max_pool_via_relu, lambda X: F.avg_pool2d(X, 2),
     "✗", "这是平均池化的结果"),
    ("max_pool_via_relu", WRONG, "keeps odd rows", exercises.check_max_pool_via_relu,
     lambda X: max_pool_via_relu(F.pad(X, (0, X.shape[-1] % 2, 0, X.shape[-2] % 2))), "✗", "向下取整"),
    ("max_pool_via_relu", WRONG, "2x2 network for 3x3", _max_pool_3, max_pool_via_relu, "✗", "形状不对"),
    ("max_pool_via_relu", WRONG, "F.max_pool2d as the answer", exercises.check_max_pool_via_relu,
     F.max_pool2d, "✗", "max_pool2d"),
    ("max_pool_via_relu", WRONG, "max_pool2d itself", exercises.check_max_pool_via_relu,
     lambda X: F.max_pool2d(X, 2), "✗", "max_pool2d"),
    *_tensor_hostile("max_pool_via_relu", exercises.check_max_pool_via_relu, max_pool_via_relu, 1),
    # exercise 3
    ("pool_cost", RIGHT, "int", exercises.check_pool_cost, pool_cost, "✓", None),
    ("pool_cost", RIGHT, "np.prod (NumPy int64)", exercises.check_pool_cost, _pool_cost_numpy, "✓", None),
    ("pool_cost", RIGHT, "a 0-d tensor", exercises.check_pool_cost,
     lambda *args: torch.tensor(pool_cost(*args)), "✓", None),
    ("pool_cost", RIGHT, "a float", exercises.check_pool_cost, lambda *args: float(pool_cost(*args)), "✓",
     None),
    ("pool_cost", RIGHT, "np.float32", exercises.check_pool_cost,
     lambda *args: np.float32(pool_cost(*args)), "✓", None),
    ("pool_cost", WRONG, "reads", exercises.check_pool_cost,
     lambda c, h, w, k, s, p: pool_cost(c, h, w, k, s, p) // (k * k - 1) * k * k, "✗", "n − 1 次比较"),
    ("pool_cost", WRONG, "no channels", exercises.check_pool_cost,
     lambda c, h, w, k, s, p: pool_cost(1, h, w, k, s, p), "✗", "少乘了通道数 c"),
    ("pool_cost", WRONG, "input size", exercises.check_pool_cost,
     lambda c, h, w, k, s, p: c * h * w * (k * k - 1), "✗", "输出不是 h×w"),
    ("pool_cost", WRONG, "unexplained", exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w, "✗",
     "分别核对三个因子"),
    ("pool_cost", HOSTILE, "NaN", exercises.check_pool_cost, lambda *args: float("nan"), "✗",
     "不是一个有限的数"),
    ("pool_cost", HOSTILE, "∞", exercises.check_pool_cost, lambda *args: np.inf, "✗", "不是一个有限的数"),
    ("pool_cost", HOSTILE, "True", exercises.check_pool_cost, lambda *args: True, "✗", "应返回一个数"),
    ("pool_cost", HOSTILE, "complex", exercises.check_pool_cost, lambda *args: 1j, "✗", "应返回一个数"),
    *_hostile_rows("pool_cost", exercises.check_pool_cost, pool_cost, 6, NUMBER_HOSTILE_REASONS),
    # exercise 4
    ("grad_prediction", RIGHT, "lists", exercises.check_grad_prediction, grads(), "✓", None),
    ("grad_prediction", RIGHT, "tensors", exercises.check_grad_prediction,
     grads(torch.tensor(GRAD_MAX), torch.tensor(GRAD_AVG)), "✓", None),
    ("grad_prediction", RIGHT, "arrays", exercises.check_grad_prediction,
     grads(np.array(GRAD_MAX), np.array(GRAD_AVG)), "✓", None),
    ("grad_prediction", WRONG, "every tie", exercises.check_grad_prediction,
     grads((X4 == 7).float() + torch.tensor(GRAD_MAX) * (X4 != 7)), "✗", "3 个相等的最大值 7"),
    ("grad_prediction", WRONG, "avg for max", exercises.check_grad_prediction, grads(GRAD_AVG), "✗",
     "平均池化的梯度"),
    ("grad_prediction", WRONG, "ones for avg", exercises.check_grad_prediction,
     grads(avg_answer=torch.ones(4, 4)), "✗", "除以窗口大小"),
    ("grad_prediction", WRONG, "wrong shape", exercises.check_grad_prediction, grads([1, 0]), "✗",
     "形状应和 X 一样"),
    ("grad_prediction", HOSTILE, "NaN", exercises.check_grad_prediction, grads(torch.full((4, 4), np.nan)),
     "✗", "个不对"),
    ("grad_prediction", HOSTILE, "∞", exercises.check_grad_prediction, grads(avg_answer=[[np.inf] * 4] * 4),
     "✗", "个不对"),
    ("grad_prediction", HOSTILE, "text", exercises.check_grad_prediction, grads(avg_answer="1/4"), "✗",
     _grad_hostile_reason),
    ("grad_prediction", HOSTILE, "ragged", exercises.check_grad_prediction,
     grads(avg_answer=[[0.25] * 4, [0.25] * 3]), "✗", _grad_hostile_reason),
    ("grad_prediction", HOSTILE, "None", exercises.check_grad_prediction, grads(None), "✗",
     _grad_hostile_reason),
    ("grad_prediction", HOSTILE, "a dict", exercises.check_grad_prediction, grads({}), "✗",
     _grad_hostile_reason),
    ("grad_prediction", HOSTILE, "complex", exercises.check_grad_prediction,
     grads(torch.tensor(GRAD_MAX) * 1j), "✗", _grad_hostile_reason),
    ("grad_prediction", HOSTILE, "strings", exercises.check_grad_prediction, grads([["0"] * 4] * 4), "✗",
     _grad_hostile_reason),
    *_hostile_rows("grad_prediction", exercises.check_grad_prediction, grads(), 1,
                   {"returns None": _grad_hostile_reason, "returns a string": _grad_hostile_reason,
                    "returns a tuple": "形状应和 X 一样", "returns a 2-element tensor": "形状应和 X 一样",
                    "returns a 2-element array": "形状应和 X 一样"}),
    # exercise 5
    ("min_pool", RIGHT, "−maxpool(−X)", exercises.check_min_pool, min_pool, "✓", None),
    ("min_pool", RIGHT, "nn.MaxPool2d", exercises.check_min_pool,
     lambda X, k, s, p: -torch.nn.MaxPool2d(k, s, p)(-X), "✓", None),
    ("min_pool", RIGHT, "changes X in place", exercises.check_min_pool,
     lambda X, k, s, p: -F.max_pool2d(X.neg_(), k, s, p), "✓", None),
    ("min_pool", WRONG, "maxpool", exercises.check_min_pool, lambda X, k, s, p: F.max_pool2d(X, k, s, p), "✗",
     "这是最大池化的结果"),
    ("min_pool", WRONG, "−maxpool(X)", exercises.check_min_pool, lambda X, k, s, p: -F.max_pool2d(X, k, s, p),
     "✗", "输入也要变"),
    ("min_pool", WRONG, "maxpool(−X)", exercises.check_min_pool, lambda X, k, s, p: F.max_pool2d(-X, k, s, p),
     "✗", "相反数"),
    ("min_pool", WRONG, "zero padding", exercises.check_min_pool,
     lambda X, k, s, p: -F.max_pool2d(-F.pad(X, (p, p, p, p)), k, s), "✗", "用 0 填充"),
    ("min_pool", WRONG, "wrong stride", exercises.check_min_pool, lambda X, k, s, p: min_pool(X, k, k, p),
     "✗", "最小池化的输出形状和最大池化一样"),
    ("min_pool", WRONG, "torch.amin", exercises.check_min_pool,
     lambda X, k, s, p: torch.amin(X, dim=(2, 3), keepdim=True), "✗", "torch.amin"),
    *_tensor_hostile("min_pool", exercises.check_min_pool, min_pool, 4),
    # exercise 6a
    ("softmax_pool", RIGHT, "torch.softmax", exercises.check_softmax_pool, softmax_pool, "✓", None),
    ("softmax_pool", RIGHT, "exp after subtracting the maximum", exercises.check_softmax_pool,
     _stable_softmax_pool, "✓", None),
    ("softmax_pool", WRONG, "naive exp", exercises.check_softmax_pool, _naive_softmax_pool, "✗", "溢出"),
    ("softmax_pool", WRONG, "overflows to ∞, not NaN", exercises.check_softmax_pool,
     lambda X, k, T: softmax_pool(X, k, T) if T >= 0.1 else softmax_pool(X, k, T) / 0, "✗",
     "exp(x / T) 有多大"),
    ("softmax_pool", WRONG, "T = 1", exercises.check_softmax_pool, lambda X, k, T: softmax_pool(X, k, 1.0),
     "✗", "忘了把 x 除以 T"),
    ("softmax_pool", WRONG, "x · T", exercises.check_softmax_pool, lambda X, k, T: softmax_pool(X, k, 1 / T),
     "✗", "而不是乘以 T"),
    ("softmax_pool", WRONG, "average", exercises.check_softmax_pool, lambda X, k, T: F.avg_pool2d(X, k), "✗",
     "这是平均池化"),
    ("softmax_pool", WRONG, "average, T = 1 case right", exercises.check_softmax_pool,
     lambda X, k, T: softmax_pool(X, k, T) if T == 1.0 else F.avg_pool2d(X, k), "✗", "softmax(x / T) 是多少"),
    *_tensor_hostile("softmax_pool", exercises.check_softmax_pool, softmax_pool, 3),
    # exercise 6b
    ("softmax_limits", RIGHT, "max, avg", exercises.check_softmax_limits, lambda: ("max", "avg"), "✓", None),
    ("softmax_limits", RIGHT, "a list in words", exercises.check_softmax_limits,
     lambda: ["Max pooling", "平均"], "✓", None),
    ("softmax_limits", WRONG, "reversed", exercises.check_softmax_limits, lambda: ("avg", "max"), "✗",
     "正好反了"),
    ("softmax_limits", WRONG, "max, max", exercises.check_softmax_limits, lambda: ("max", "max"), "✗",
     "T 很大的那个不对"),
    ("softmax_limits", WRONG, "avg, avg", exercises.check_softmax_limits, lambda: ("avg", "avg"), "✗",
     "T 很小的那个不对"),
    ("softmax_limits", WRONG, "min", exercises.check_softmax_limits, lambda: ("min", "avg"), "✗", "'min'"),
    ("softmax_limits", HOSTILE, "one answer", exercises.check_softmax_limits, lambda: "max", "✗", "两个答案"),
    ("softmax_limits", HOSTILE, "max, None", exercises.check_softmax_limits, lambda: ("max", None), "✗",
     "每个答案应是"),
    ("softmax_limits", HOSTILE, "numbers", exercises.check_softmax_limits, lambda: (0, float("inf")), "✗",
     "每个答案应是"),
    ("softmax_limits", HOSTILE, "an array of two strings", exercises.check_softmax_limits,
     lambda: np.array(["max", "avg"]), "✗", "两个答案"),
    ("softmax_limits", HOSTILE, "unprintable answers", exercises.check_softmax_limits,
     lambda: (_Unprintable(), _Unprintable()), "✗", "每个答案应是"),
    *_hostile_rows("softmax_limits", exercises.check_softmax_limits, lambda: ("max", "avg"), 0,
                   {"returns None": "两个答案", "returns a string": "两个答案",
                    "returns a tuple": "每个答案应是", "returns a 2-element tensor": "两个答案",
                    "returns a 2-element array": "两个答案"}),
    # exercise 7
    ("predict_shape", RIGHT, "integers", exercises.check_predict_shape, _predict_shape, "✓", None),
    ("predict_shape", RIGHT, "NumPy int64", exercises.check_predict_shape,
     lambda *args: np.int64(_predict_shape(*args)), "✓", None),
    ("predict_shape", RIGHT, "a 0-d tensor", exercises.check_predict_shape,
     lambda *args: torch.tensor(_predict_shape(*args)), "✓", None),
    ("predict_shape", RIGHT, "PyTorch itself", exercises.check_predict_shape,
     lambda H, k, s, p, c: F.max_pool2d(torch.zeros(1, H, 1), (k, 1), (s, 1), (p, 0), ceil_mode=c).shape[1],
     "✓", None),
    ("predict_shape", WRONG, "ceil without the rule", exercises.check_predict_shape, _floor_or_ceil, "✗",
     "左边的填充里开始"),
    ("predict_shape", WRONG, "no padding", exercises.check_predict_shape,
     lambda H, k, s, p, c: _predict_shape(H, k, s, 0, c), "✗", "两边的填充都算上了吗"),
    ("predict_shape", WRONG, "true division", exercises.check_predict_shape,
     lambda H, k, s, p, c: (H + 2 * p - k) / s + 1, "✗", "高度是整数"),
    ("predict_shape", WRONG, "ceil wrong, floor off by one too", exercises.check_predict_shape,
     lambda *args: _floor_or_ceil(*args) + (not args[-1] and args[0] == 12), "✗",
     "多出来的最后一个窗口从哪里开始"),
    ("predict_shape", HOSTILE, "NaN", exercises.check_predict_shape, lambda *args: float("nan"), "✗",
     "不是一个有限的数"),
    ("predict_shape", HOSTILE, "−∞", exercises.check_predict_shape, lambda *args: -np.inf, "✗",
     "不是一个有限的数"),
    ("predict_shape", HOSTILE, "wrong after some settings, then raises", exercises.check_predict_shape,
     lambda H, k, s, p, c: 0 if H == 1 else 1 / 0, "✗", "PyTorch 给出 1"),
    ("predict_shape", HOSTILE, "right, then raises", exercises.check_predict_shape,
     lambda H, k, s, p, c: _predict_shape(H, k, s, p, c) if H < 12 else 1 / 0, "✗",
     "在输入 H=12, k=1, s=1, p=0, ceil_mode=False 上抛出了 ZeroDivisionError"),
    *_hostile_rows("predict_shape", exercises.check_predict_shape, _predict_shape, 5,
                   {label: "应返回一个整数（输出的高度），" + reason
                    for label, reason in NUMBER_HOSTILE_REASONS.items()}),
    # exercise 8
    ("zero_padding_trap", RIGHT, "a trap", exercises.check_zero_padding_trap, _trap, "✓", None),
    ("zero_padding_trap", RIGHT, "float64, requires grad", exercises.check_zero_padding_trap,
     lambda: _trap().double().requires_grad_(), "✓", None),
    ("zero_padding_trap", WRONG, "exposes the bug", exercises.check_zero_padding_trap,
     lambda: -torch.arange(16.0).reshape(4, 4) - 1, "✗", "全是负数"),
    ("zero_padding_trap", WRONG, "no negative", exercises.check_zero_padding_trap,
     lambda: torch.arange(16.0).reshape(4, 4), "✗", "没有负数"),
    ("zero_padding_trap", WRONG, "integers", exercises.check_zero_padding_trap,
     lambda: torch.arange(16).reshape(4, 4) - 1, "✗", "浮点数"),
    ("zero_padding_trap", WRONG, "3x3", exercises.check_zero_padding_trap, lambda: -torch.ones(3, 3), "✗",
     "应是 4×4"),
    ("zero_padding_trap", HOSTILE, "NaN", exercises.check_zero_padding_trap,
     lambda: _trap() * torch.tensor(float("nan")), "✗", "∞ 或 NaN"),
    ("zero_padding_trap", HOSTILE, "−∞", exercises.check_zero_padding_trap,
     lambda: -torch.full((4, 4), float("inf")), "✗", "∞ 或 NaN"),
    ("zero_padding_trap", HOSTILE, "complex", exercises.check_zero_padding_trap, lambda: _trap() * 1j, "✗",
     "浮点数"),
    ("zero_padding_trap", HOSTILE, "a list", exercises.check_zero_padding_trap, lambda: _trap().tolist(), "✗",
     "应返回 4×4 的 torch.Tensor"),
    *_hostile_rows("zero_padding_trap", exercises.check_zero_padding_trap, _trap, 0,
                   {"returns None": "返回了 None", "returns a string": "返回了 str",
                    "returns a tuple": "返回了 tuple", "returns a 2-element tensor": "应是 4×4",
                    "returns a 2-element array": "返回了 形状 (2,) 的数组"}),
]


def mark_of(out, result):
    """The one mark a check printed: ✗ if any line is ✗, else ☐ if any is ☐, else ✓."""
    marks = {line[0] for line in out.splitlines() if line[:1] in "✓✗☐"}
    return "✗" if "✗" in marks else "☐" if "☐" in marks else "✓" if marks and result else "?"


@pytest.mark.parametrize("name, kind, label, check, answer, mark, reason",
                         ANSWERS, ids=[f"{row[0]}-{row[1]}-{row[2]}" for row in ANSWERS])
def test_every_answer_gets_a_mark_never_a_traceback(capsys, name, kind, label, check, answer, mark, reason):
    result = check(answer)  # raising here is the failure this table guards against
    out = capsys.readouterr().out
    assert isinstance(result, bool) and (result is True) == (mark == "✓"), out
    assert mark_of(out, result) == mark, out
    assert "Traceback" not in out
    if mark == "✗":
        assert reason and reason in out, f"{reason!r} not in:\n{out}"


def test_the_table_holds_right_wrong_and_hostile_answers_for_every_check():
    checks_of = {row[3] for row in ANSWERS}
    every = {getattr(exercises, name) for name in dir(exercises) if name.startswith("check_")}
    assert every <= checks_of, every - checks_of
    for name in {row[0] for row in ANSWERS}:
        kinds = {row[1] for row in ANSWERS if row[0] == name}
        assert kinds == {RIGHT, WRONG, HOSTILE}, (name, kinds)


def test_a_hint_names_a_mistake_only_when_every_case_shows_it(capsys):
    """Returning a equals min(a, b) on the pair (1, 3), and |a − b| equals ReLU(a − b) on (3, 1): one input
    does not tell those mistakes apart, so the hint asks where to look instead of naming one."""
    for fn in (lambda a, b: a, lambda a, b: F.relu(a - b) + F.relu(b - a)):
        out = rejected(exercises.check_max_via_relu, fn, capsys, "a > b 和 a ≤ b 的位置")
        assert "你算出的是" not in out and "截掉" not in out


def test_learner_text_takes_the_size_formula_from_explain(capsys):
    formula = exercises.size_formula().split("（")[0]
    worked = say("size_axis", a="h", lo="⌊", hi="⌋", n=4, p=0, d=1, k=2, s=2, raw=2)
    assert formula.startswith("h_out = ⌊(h + 2p") and worked.startswith(formula + " = ")
    source = Path(exercises.__file__).read_text()
    assert "floor((" not in source and "2p − k)/s" not in source  # not typed anywhere in the checks
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w * (k * k - 1), capsys,
             "输出不是 h×w", exercises.size_formula())


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


def test_loaders_normalize_with_the_training_statistics():
    train_iter, test_iter = load_data_shapes(50, n_train=200, n_test=100, seed=2)
    X_train, X_test = train_iter.dataset.tensors[0], test_iter.dataset.tensors[0]
    assert abs(X_train.mean()) < 1e-5 and abs(X_train.std() - 1) < 1e-5
    raw_train, _ = make_shapes(200, seed=2)
    raw_test, _ = make_shapes(100, seed=3)
    expected = (raw_test - raw_train.mean()) / raw_train.std()  # the training set's numbers, not the test's
    assert torch.allclose(X_test, expected)
    raw_iter, _ = load_data_shapes(50, n_train=200, n_test=100, seed=2, normalize=False)
    assert torch.equal(raw_iter.dataset.tensors[0], raw_train)


def test_make_shapes_rejects_bad_n():
    try:
        make_shapes(0)
    except ValueError as err:
        assert "positive int" in str(err)
    else:
        raise AssertionError("make_shapes(0) should raise ValueError")


def test_not_additive_accepts_a_counterexample_and_rejects_others(capsys):
    X = torch.tensor([[1.0, 0.0], [0.0, 0.0]])

    def answer(Y):
        return exercises.check_not_additive(lambda: (X, Y))

    def stub():
        raise NotImplementedError

    assert answer(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    assert "✓" in capsys.readouterr().out
    rejected(answer, X, capsys, "没有打破可加性")
    rejected(answer, torch.zeros(2, 2), capsys, "没有打破可加性")
    rejected(answer, 2 * X, capsys, "同一个窗口里的不同位置")
    pending(exercises.check_not_additive, stub, capsys, "还没做")
    rejected(answer, torch.ones(3, 3), capsys, "形状相同")
    rejected(lambda fn: exercises.check_not_additive(lambda: X), None, capsys, "两个张量")


# ----------------------------------------------------------------------------------------------------
# One exercise convention in the notebooks
# ----------------------------------------------------------------------------------------------------

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXERCISES = NOTEBOOKS / "04-exercises.ipynb"
BOOK_EXERCISES = [  # d2l-zh 6.5「汇聚层」, the current Chinese edition's six exercises, verbatim
    "尝试将平均汇聚层作为卷积层的特殊情况实现。",
    "尝试将最大汇聚层作为卷积层的特殊情况实现。",
    "假设汇聚层的输入大小为 $c\\times h\\times w$，则汇聚窗口的形状为 $p_h\\times p_w$，填充为 $(p_h, p_w)$，"
    "步幅为 $(s_h, s_w)$。这个汇聚层的计算成本是多少？",
    "为什么最大汇聚层和平均汇聚层的工作方式不同？",
    "我们是否需要最小汇聚层？可以用已知函数替换它吗？",
    "除了平均汇聚层和最大汇聚层，是否有其它函数可以考虑（提示：回想一下`softmax`）？为什么它不流行？",
]


def notebook_cells(path):
    return nbformat.read(path, as_version=4).cells


def stubs(path):
    """Names of the functions whose body is the exercise stub `raise NotImplementedError`."""
    names = []
    for cell in notebook_cells(path):
        if cell.cell_type == "code" and "raise NotImplementedError" in cell.source:
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    body = node.body
                    assert len(body) == 1 and isinstance(body[0], ast.Raise), (
                        f"{path.name}: the stub {node.name} must be only `raise NotImplementedError`")
                    names.append(node.name)
    return names


def test_the_book_exercises_come_first_in_the_books_order_and_wording():
    quoted = [line[2:].strip() for c in notebook_cells(EXERCISES) if c.cell_type == "markdown"
              for line in c.source.splitlines() if line.startswith("> ")]
    assert quoted == BOOK_EXERCISES
    headings = [line for c in notebook_cells(EXERCISES) if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## 练习")]
    assert [h.split("：")[0] for h in headings] == [f"## 练习 {n}" for n in range(1, 7)] + [
        "## 练习 7（本笔记本自己的）", "## 练习 8（本笔记本自己的）"]


def test_padding_exercise_says_pytorch_refuses_and_gives_the_legal_version():
    text = "\n".join(c.source for c in notebook_cells(EXERCISES))
    assert "PyTorch 不接受" in text and "最接近的合法版本" in text and "p ≤ k/2" in text


def test_one_stub_style_and_one_line_checks():
    cells = notebook_cells(EXERCISES)
    names = stubs(EXERCISES)
    assert len(names) == len(set(names)) >= 10
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and "raise NotImplementedError" in cell.source:
            check = cells[index + 1]
            lines = check.source.splitlines()
            assert check.cell_type == "code" and 1 <= len(lines) <= 2, check.source
            assert all(re.fullmatch(r"exercises\.check_\w+\(\w+\);?", line) for line in lines), check.source


def every_notebook():
    return [p for p in NOTEBOOKS.glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts]


def test_no_exercise_twice_and_only_the_exercise_notebook_has_them():
    every = {path.name: stubs(path) for path in every_notebook()}
    assert all(not names for name, names in every.items() if name != EXERCISES.name), every
    for path in every_notebook():
        for cell in notebook_cells(path):
            assert "solution" not in cell.metadata.get("tags", []), "solutions go in <details> markdown"


def solutions():
    """(check cell source, solution code) for every <details> block of the exercise notebook."""
    cells, pairs = notebook_cells(EXERCISES), []
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and "<details>" in cell.source:
            code = re.search(r"```python\n(.*?)```", cell.source, re.S).group(1)
            check = cells[index - 1]
            assert check.cell_type == "code" and "exercises.check_" in check.source, "check first"
            pairs.append((check.source, code))
    return pairs


def test_every_exercise_has_a_hidden_solution_that_passes_its_check():
    imports = next(c.source for c in notebook_cells(EXERCISES) if c.cell_type == "code")
    pairs = solutions()
    assert len(pairs) == 10
    for check, code in pairs:
        namespace = {}
        exec(imports, namespace)
        exec(code, namespace)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(check, namespace)
        text = out.getvalue()
        assert "✓" in text and "✗" not in text and "☐" not in text, (check, text)


def test_the_checks_can_fail_and_their_source_shows_no_answer():
    """An untouched notebook prints only ☐; a wrong answer ✗. The check cells hold no expected value."""
    imports = next(c.source for c in notebook_cells(EXERCISES) if c.cell_type == "code")
    for check, code in solutions():
        namespace = {}
        exec(imports, namespace)
        exec(code, namespace)
        for name in re.findall(r"check_\w+\((\w+)\)", check):
            namespace[name] = lambda *args: torch.zeros(1)  # a wrong answer of the wrong kind
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(check, namespace)
        assert "✗" in out.getvalue() and "✓" not in out.getvalue().splitlines()[0], (check, out.getvalue())


def test_earlier_notebooks_do_not_give_away_an_exercise():
    answers = ["-F.max_pool2d(-X", "F.relu(a - b) + b", "ReLU(a − b) + b", "groups=C", "kernel_size ** 2 - 1",
               "k² − 1", "−maxpool(−", "softmax", "[[0, 0, 0, 0], [1, 0, 1, 0]", "0.25] * 4"]
    for path in sorted(NOTEBOOKS.glob("0[1-3]-*.ipynb")):
        for cell in notebook_cells(path):
            for answer in answers:
                assert answer not in cell.source, f"{path.name} gives away {answer!r}"
            # this deep dive reveals exercise 4 (ties, gradients): link it only from the exercises onwards
            assert "pytorch-pooling-in-detail" not in cell.source, path.name
