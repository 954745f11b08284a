"""The self-checks of the exercises (notebooks/04-exercises.ipynb), built on poolkit.checks.

The book's six exercises of d2l-zh 6.5 come first, then this collection's own. Each check runs the
learner's function on small corner cases (negatives, padding, ties, odd sizes) and on random inputs,
compares with PyTorch, and prints in Chinese what is wrong: the shape, the values, the padding, and the
smallest input where the answer differs. Nothing raises, whatever the function returns or raises: ✓ right
(returns True), ✗ wrong with the reason, ☐ not done yet (both return False). A hint names a mistake only
when every case's answer shows it (checks.explains); otherwise it asks where to look. No hint prints the
answer.
"""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from . import checks
from .checks import close, compare, failed, kind, passed, run, seeded_randn, show, text
from .costs import count_comparisons
from .explain import template
from .params import MODES, output_shape
from .reference import pool2d
from .trace import fmt

# Functions that compute a maximum directly, or its position, or a minimum (max = −min(−x)): the ReLU
# exercises must not call them. F.max_pool2d_with_indices and friends would pass the check without the idea.
_MAX_NAMES = ("maximum", "max", "amax", "fmax", "argmax", "argsort", "sort", "msort", "topk", "kthvalue",
              "cummax", "median", "nanmedian", "quantile", "nanquantile", "clamp", "clamp_min", "clip",
              "minimum", "min", "amin", "fmin", "aminmax", "argmin", "cummin")
_MAX_FUNCTIONS = ([(owner, name) for owner in (torch, torch.Tensor) for name in _MAX_NAMES]
                  + [(torch, "where"), (torch, "max_pool1d"), (torch, "max_pool1d_with_indices"),
                     (torch, "max_pool2d"), (torch, "adaptive_max_pool1d")]
                  + [(F, name) for name in ("max_pool1d", "max_pool2d", "max_pool2d_with_indices",
                                            "adaptive_max_pool1d", "adaptive_max_pool2d",
                                            "adaptive_max_pool2d_with_indices", "fractional_max_pool2d")]
                  + [(torch._C._nn, name) for name in ("max_pool2d_with_indices", "adaptive_max_pool2d",
                                                       "fractional_max_pool2d")])
_MAX_ADVICE = ("这道题要求只用 ReLU（F.relu / torch.relu）、卷积和加减乘除来求最大值，"
               "不能调用直接求最大值、最小值或它们位置的函数。")

# Comparisons and sign tests pick the larger value without ReLU: (a > b) * a + (a <= b) * b.
_COMPARISONS = ([(torch.Tensor, name) for name in checks.OPERATORS]
                + [(owner, name) for owner in (torch, torch.Tensor)
                   for name in ("gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal",
                                "sign", "sgn", "heaviside", "abs")]
                + [(torch.Tensor, "__abs__")])
_COMPARISON_ADVICE = ("比较（>、<、sign、abs 等）直接挑出大的那个数，绕开了这道题：只用 ReLU 和加减乘除。"
                      "想一想 ReLU(x) = max(x, 0) 和 max(a, b) 的关系；"
                      "|x| 也能用 ReLU 写出来：ReLU(x) + ReLU(−x)。")

# Average pooling itself, or windows averaged without a convolution (F.unfold(...).mean(1)): exercise 1 asks
# for average pooling as a convolution.
_AVG_FUNCTIONS = ([(F, name) for name in ("avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                                          "adaptive_avg_pool2d", "adaptive_avg_pool3d", "lp_pool2d",
                                          "unfold")]
                  + [(torch, "avg_pool1d"), (torch, "adaptive_avg_pool1d")]
                  + [(owner, name) for owner in (torch, torch.Tensor) for name in ("mean", "nanmean")]
                  + [(torch.Tensor, "unfold")]
                  + [(torch._C._nn, name) for name in ("avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d",
                                                       "adaptive_avg_pool3d", "im2col")])
_AVG_ADVICE = ("这道题要求用卷积（F.conv2d）算出平均池化：不能直接调用平均池化（nn.AvgPool2d 也是它），"
               "也不能用 unfold 或 mean 自己取窗口求平均。用一个卷积核，让卷积替你做「相加再除以窗口大小」。")

# A minimum taken directly: exercise 5 asks whether max pooling can stand in for min pooling.
_MIN_FUNCTIONS = [(owner, name) for owner in (torch, torch.Tensor)
                  for name in ("min", "amin", "minimum", "fmin", "aminmax", "sort", "topk")]
_MIN_ADVICE = ("这道题问的是：能不能用已有的最大池化代替最小池化？请只用 F.max_pool2d 和取负（−），"
               "不要直接求最小值。")

_MAX_RULE = [(_MAX_FUNCTIONS, _MAX_ADVICE), (_COMPARISONS, _COMPARISON_ADVICE)]
_AVG_RULE = [(_AVG_FUNCTIONS, _AVG_ADVICE)]
_MIN_RULE = [(_MIN_FUNCTIONS, _MIN_ADVICE)]


def _all_passed(what, n, covered, extra=""):
    return passed(what, f"通过全部 {n} 个测试（{covered}）。{extra}")


def _arange(*shape):
    return torch.arange(float(torch.Size(shape).numel())).reshape(shape)


def size_formula(a="h"):
    """PyTorch's output size along one axis, as explain.TEXT writes it under the widget, for hints:
    'h_out = ⌊(h + 2p − d·(k−1) − 1) / s⌋ + 1（d 是空洞 dilation，这里 d = 1）'."""
    symbolic = " = ".join(template("size_axis").split(" = ")[:2])  # the formula, before the numbers
    return symbolic.format(a=a, lo="⌊", hi="⌋") + "（d 是空洞 dilation，这里 d = 1）"


def _fresh(case):
    """A case's arguments, tensors copied: the learner's function may change its input in place."""
    return tuple(a.clone() if torch.is_tensor(a) else a for a in case)


def _describe(cases):
    return [f"X 形状 {tuple(X.shape)}, kernel_size={k}, stride={s}, padding={p}" for X, k, s, p in cases]


def _check_cases(what, fn, cases, right, describe, covered, refuse=(), mistakes=(), observe=None, look="",
                 show_input=True):
    """✓ if fn(*case) equals right(*case) for every case (describe: their descriptions). Otherwise ☐ or ✗ for
    the first case that raised or differs, with a hint: the first of mistakes = [(mistake, message)] whose
    mistake(*case) explains every case's answer; else what observe(got, want, *case) sees in this answer;
    else, for an answer of the right shape, look (where to look). A message is a string or message(*case)."""
    outcomes = [checks.attempt(fn, _fresh(case), refuse) for case in cases]
    for case, outcome, where in zip(cases, outcomes, describe, strict=True):
        if outcome.error is not None:
            return checks.report(what, outcome, where)
        got, want = outcome.value, right(*case)
        if checks.same(got, want):
            continue
        named = (message for mistake, message in mistakes if checks.explains(mistake, cases, outcomes))
        hint = next(named, None)
        if hint is None and not checks.tensor_problem(got):
            seen = observe(got, want, *case) if observe else ""
            hint = seen or (look if got.shape == want.shape else "")
        hint = hint(*case) if callable(hint) else hint or ""
        return compare(what, got, want, where, case[0] if show_input else None, hint)
    return _all_passed(what, len(cases), covered)


# ----------------------------------------------------------------------------------------------------
# Exercise 1: average pooling as a convolution
# ----------------------------------------------------------------------------------------------------

_AVG_CASES = [  # (X, kernel_size, stride, padding)
    (_arange(1, 1, 3, 3), 2, 1, 0),
    (_arange(1, 1, 4, 4), 2, 2, 0),
    (torch.ones(1, 1, 3, 3), 3, 1, 1),  # padding: corners 4/9, edges 6/9
    (-_arange(1, 1, 5, 5) - 1, 3, 2, 1),  # negatives, odd size, padding
    (torch.cat([_arange(1, 1, 4, 4), -_arange(1, 1, 4, 4)], 1), 2, 2, 0),  # two channels
    (seeded_randn(2, 3, 7, 6, seed=1), 3, 2, 1),
    (seeded_randn(1, 4, 9, 9, seed=2), 3, 3, 0),
]


def _summed_channels(X, k, s, p):  # a convolution without groups: every output channel sums all inputs
    C = X.shape[1]
    return F.conv2d(X, torch.full((C, C, k, k), 1 / (k * k)), stride=s, padding=p)


_AVG_MISTAKES = [
    (lambda X, k, s, p: F.avg_pool2d(X, k, s, p) * k * k,
     lambda X, k, s, p: f"每个数都正好是正确答案的 {k * k} 倍：忘了除以窗口大小？卷积核的每个权重该是多少？"),
    (_summed_channels,
     lambda X, k, s, p: ("每个输出通道都是所有输入通道之和：卷积把通道加在了一起。池化对每个通道单独计算，"
                         f"用 groups={X.shape[1]}（权重形状 ({X.shape[1]}, 1, k, k)）。")),
    (lambda X, k, s, p: F.avg_pool2d(X, k, s, p, count_include_pad=False),
     "只有含填充的边界窗口不同：你除以了窗口里真实输入的个数，而 PyTorch 默认 count_include_pad=True，"
     "填充的 0 也算进分母，总是除以 k·k。"),
    (lambda X, k, s, p: F.avg_pool2d(X, k, 1, p),
     lambda X, k, s, p: (f"这正是步幅为 1 的结果：把 stride={s} 传给 F.conv2d"
                         "（卷积默认步幅是 1，池化默认步幅是窗口大小）。")),
    (lambda X, k, s, p: F.avg_pool2d(X, k, s, 0),
     lambda X, k, s, p: f"这正是不填充的结果：把 padding={p} 传给 F.conv2d。"),
]


def _avg_observe(got, want, X, k, s, p):
    C = X.shape[1]
    if got.shape == want.shape:
        return ""
    if got.dim() == 4 and got.shape[1] != C:
        return f"输出应有 {C} 个通道，和输入一样：池化对每个通道单独计算，不把通道相加。"
    if s != 1 and got.shape == F.avg_pool2d(X, k, 1, p).shape:
        return f"这是步幅为 1 时的形状：stride={s} 传给 F.conv2d 了吗？"
    if p != 0 and got.shape == F.avg_pool2d(X, k, s, 0).shape:
        return f"这是不填充时的形状：padding={p} 传给 F.conv2d 了吗？"
    return f"输出大小是 {size_formula()}：stride 和 padding 都传给 F.conv2d 了吗？"


def check_avg_pool_as_conv(fn):
    """fn(X, kernel_size, stride, padding) must equal F.avg_pool2d(X, kernel_size, stride, padding)
    for X of shape (N, C, H, W), computed with a convolution (average pooling, unfold and mean are refused).
    """
    return _check_cases(
        "avg_pool_as_conv", fn, _AVG_CASES, lambda X, k, s, p: F.avg_pool2d(X, k, s, p),
        _describe(_AVG_CASES), "多通道、负数、填充、奇数大小、步幅不等于窗口", refuse=_AVG_RULE,
        mistakes=_AVG_MISTAKES, observe=_avg_observe,
        look="在这个输入上核对：卷积核的权重加起来是 1 吗？通道分开了吗？stride、padding 和池化的一样吗？")


# ----------------------------------------------------------------------------------------------------
# Exercise 2a: max pooling is not linear, so no convolution alone can compute it
# ----------------------------------------------------------------------------------------------------


def check_not_additive(counterexample):
    """counterexample() returns two (H, W) tensors X, Y (H, W >= 2) of finite numbers for which 2x2 max
    pooling breaks additivity: maxpool(X + Y) != maxpool(X) + maxpool(Y). Every convolution without bias is
    additive."""
    what = "反例 (counterexample)"
    ok, answer = run(counterexample, what)
    if not ok:
        return False
    if (isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence) or len(answer) != 2
            or not all(map(torch.is_tensor, answer))):
        return failed(what, "应返回两个张量 (X, Y)，例如 return torch.tensor(...), torch.tensor(...)；"
                            f"你的函数返回了 {kind(answer)}。")
    X, Y = answer
    if X.is_complex() or Y.is_complex():
        return failed(what, f"X 和 Y 应是实数张量，现在的 dtype 是 {X.dtype} 和 {Y.dtype}。")
    if X.shape != Y.shape or X.dim() != 2 or min(X.shape) < 2:
        return failed(what, f"X 和 Y 应是形状相同、至少 2×2 的二维张量；现在是 {tuple(X.shape)} 和 "
                            f"{tuple(Y.shape)}。")
    X, Y = X.detach().double(), Y.detach().double()
    if not (X.isfinite().all() and Y.isfinite().all() and (X + Y).isfinite().all()):
        return failed(what, "X、Y 和 X + Y 里都应是有限的数：有 ∞ 时，∞ + (−∞) 得到 NaN，打破等式的是 NaN，"
                            "不是最大池化。用普通的数找一个反例。")
    pool = lambda Z: F.max_pool2d(Z[None, None], 2)[0, 0]  # noqa: E731
    together, apart = pool(X + Y), pool(X) + pool(Y)
    if close(together, apart):
        return failed(what, f"对这两个输入，maxpool(X + Y) = maxpool(X) + maxpool(Y) = {show(together)}，"
                            "没有打破可加性 (additivity)。"
                            "提示：让 X 和 Y 的最大值落在同一个窗口里的不同位置。")
    return passed(what, f"maxpool(X + Y) = {show(together)}，而 maxpool(X) + maxpool(Y) = {show(apart)}："
                        "最大池化不满足可加性，而任何不带偏置的卷积都满足，所以单靠卷积算不出最大池化。")


# ----------------------------------------------------------------------------------------------------
# Exercise 2b: max from ReLU, then max pooling from convolutions and ReLUs
# ----------------------------------------------------------------------------------------------------

_PAIRS = [
    (torch.tensor([3.0]), torch.tensor([1.0])),
    (torch.tensor([1.0]), torch.tensor([3.0])),
    (torch.tensor([-2.0, -5.0, 4.0, 0.0]), torch.tensor([-5.0, -2.0, 4.0, -0.0])),  # negatives, ties
    (torch.tensor([-1.5, 2.5]), torch.tensor([0.5, -3.5])),
    (seeded_randn(4, 5, seed=3) * 100, seeded_randn(4, 5, seed=4) * 100),
]


_MAX_MISTAKES = [
    (torch.minimum,
     "你算出的是 min(a, b)：检查 ReLU 里的减法方向。a > b 和 a < b 时，ReLU(a − b) 各是多少？"),
    (lambda a, b: F.relu(a - b), "你算出的是 ReLU(a − b)：和 max(a, b) 比，a > b 时差多少？a ≤ b 时呢？"),
    (lambda a, b: F.relu(a) + F.relu(b), "b 被 ReLU 截掉了负数部分：b 本身可以是负数，不要对它取 ReLU。"),
    (lambda a, b: F.relu(a - b) + F.relu(b), "b 被 ReLU 截掉了负数部分：b 本身可以是负数，不要对它取 ReLU。"),
]


def check_max_via_relu(fn):
    """fn(a, b) must equal torch.maximum(a, b) elementwise, using only ReLU and + - * / (max functions,
    comparisons, sign and abs are refused)."""
    return _check_cases(
        "max_via_relu", fn, _PAIRS, torch.maximum, [f"a = {show(a)}, b = {show(b)}" for a, b in _PAIRS],
        "负数、相等的值、大数", refuse=_MAX_RULE, mistakes=_MAX_MISTAKES, show_input=False,
        look="在这一组 a、b 上，分别看 a > b 和 a ≤ b 的位置：把数代入你的式子，得到的是较大的那个吗？")


def _max_pool_cases(k):
    return [
        (_arange(1, 1, 2 * k, 2 * k), "0 到 15 的 4×4" if k == 2 else "按行编号"),
        (-_arange(1, 1, 2 * k, 2 * k) - 1, "全为负数"),
        ((_arange(1, 1, 2 * k, 2 * k) % 2) * 4 + 1, "有相等的最大值"),
        (seeded_randn(1, 1, 2 * k + 1, 2 * k + 1, seed=5), f"{2 * k + 1}×{2 * k + 1}，奇数大小"),
        (seeded_randn(2, 1, 3 * k, 4 * k, seed=6) * 10, "随机"),
    ]


def _max_pool_observe(got, want, X, k):
    H, W = X.shape[-2:]
    if got.shape != want.shape:
        if H % k or W % k:
            return (f"{H}×{W} 的输入用 {k}×{k}、步幅 {k} 的窗口应得到 {H // k}×{W // k}："
                    f"放不下整个窗口的最后几行/列被丢掉（向下取整），卷积的步幅也要是 {k}、不填充。")
        return f"每个 {k}×{k} 窗口给出一个输出：卷积的步幅是 {k} 吗？"
    wrong = (got.detach().to(want.dtype) - want).abs() > 1e-5
    if bool(wrong.le(want < 0).all()):  # wrong only where the window's maximum is negative
        return ("只在最大值为负数的窗口出错：哪一步的 ReLU 把负数变成了 0？ReLU(b) ≠ b；"
                "要保留一个可能为负的值，用 b = ReLU(b) − ReLU(−b)。")
    return ""


def check_max_pool_via_relu(fn, kernel_size=2):
    """fn(X) must equal F.max_pool2d(X, kernel_size) for X of shape (N, 1, H, W),
    built from convolutions and ReLUs only."""
    k = kernel_size
    cases = _max_pool_cases(k)
    return _check_cases(
        f"max_pool_via_relu（{k}×{k}）", fn, [(X,) for X, _ in cases], lambda X: F.max_pool2d(X, k),
        [f"X 形状 {tuple(X.shape)}（{label}）" for X, label in cases],
        "负数、相等的最大值、奇数大小、多个样本", refuse=_MAX_RULE,
        mistakes=[(lambda X: F.avg_pool2d(X, k), "这是平均池化的结果，不是最大值。")],
        observe=lambda got, want, X: _max_pool_observe(got, want, X, k),
        look="挑一个不对的窗口，把它的数一层一层代入你的网络：每一层的输出是什么？")


# ----------------------------------------------------------------------------------------------------
# Exercise 3: the computational cost of max pooling, checked by counting
# ----------------------------------------------------------------------------------------------------

_COST_CASES = [  # (c, h, w, kernel_size, stride, padding)
    (1, 4, 4, 2, 2, 0),
    (3, 5, 5, 3, 2, 1),
    (2, 6, 7, 2, 1, 0),
    (16, 10, 10, 2, 2, 0),
    (6, 28, 28, 3, 2, 1),
    (4, 7, 9, 3, 3, 1),
]


def _cost_mistakes(c, h, w, k, s, p):
    """What some realistic wrong formulas give for one case, each with what it gets wrong."""
    oh, ow = output_shape((h, w), k, s, p)
    oh0, ow0 = output_shape((h, w), k, s, 0) if k <= min(h, w) else (0, 0)
    size = size_formula()
    return [
        (c * oh * ow * k * k, "你数的是读了多少个值（每个窗口 k·k 个）：n 个值求最大只需 n − 1 次比较。"),
        (oh * ow * (k * k - 1), "少乘了通道数 c：每个通道都单独池化。"),
        (c * h * w * (k * k - 1), f"输出不是 h×w 个：输出大小是 {size}。"),
        (c * oh0 * ow0 * (k * k - 1),
         "忘了填充：输出大小要用 h + 2p（这里的计数把填充也当作窗口里要比较的数，是简化的模型）。"),
        (c * (h // s) * (w // s) * (k * k - 1), f"输出大小不是 h/s：要用 {size}。"),
        (c * ((h + 2 * p - k) / s + 1) * ((w + 2 * p - k) / s + 1) * (k * k - 1),
         f"用整数除法 //：输出大小向下取整（放不下整个窗口的位置不算），就是 {size} 里的 ⌊·⌋。"),
        (c * ((h + 2 * p - k + s - 1) // s + 1) * ((w + 2 * p - k + s - 1) // s + 1) * (k * k - 1),
         "输出大小向上取整了：PyTorch 默认 ceil_mode=False，放不下整个窗口的位置不算，要向下取整（//）。"),
    ]


def _cost_describe(case):
    return "c={}, h={}, w={}, kernel_size={}, stride={}, padding={}".format(*case)


def check_pool_cost(fn):
    """fn(c, h, w, kernel_size, stride, padding) must return the number of comparisons max pooling
    makes on a c x h x w input, as counted window by window (padding counted as values). Any real number
    type counts (int, float, NumPy, a one-element tensor). A pass also shows the count for the shape of
    LeNet's first pooling layer, as max pooling."""
    what = "pool_cost"
    answers = []
    for case in _COST_CASES:
        describe = _cost_describe(case)
        ok, answer = run(fn, what, case, describe)
        if not ok:
            return False
        got = checks.as_number(answer)
        if got is None:
            return failed(what, f"应返回一个数（比较的次数），但返回了 {kind(answer)}（{describe}）。")
        if not math.isfinite(got):
            return failed(what, f"输入 {describe}：你的函数给出 {got}，不是一个有限的数。")
        answers.append((case, describe, got))
    wrong = [(case, describe, got) for case, describe, got in answers if got != count_comparisons(*case)]
    if not wrong:
        lenet = count_comparisons(6, 28, 28, 2, 2, 0)  # what the learner's formula gives: it matched counting
        # (d2l's LeNet pools by averaging; the message borrows only the layer's shape)
        return _all_passed(what, len(_COST_CASES), "多通道、填充、步幅 1 和步幅大于 1、非正方形输入",
                           extra=f"例如 LeNet 第一个池化层的形状（6×28×28，2×2，步幅 2）换成最大池化："
                                 f"{lenet} 次比较。")
    # Name a mistake only if that wrong formula explains every answer, not one by coincidence.
    mistakes = [_cost_mistakes(*case) for case, _, _ in answers]
    hint = next((msg for i, (_, msg) in enumerate(mistakes[0])
                 if all(abs(got - m[i][0]) <= 1e-9 * max(1, abs(m[i][0]))
                        for (_, _, got), m in zip(answers, mistakes, strict=True))), "")
    if not hint and any(isinstance(got, float) for _, _, got in wrong):
        hint = ("你的公式给出的是小数 (float)：某处用了 / 吧？输出大小要用整数除法 // 向下取整"
                f"（放不下整个窗口的位置不算），就是 {size_formula()} 里的 ⌊·⌋。")
    if not hint:
        hint = "分别核对三个因子：每个通道有几个窗口（输出大小）、每个窗口要几次比较、有几个通道。"
    (c, h, w, k, s, p), describe, got = wrong[0]
    oh, ow = output_shape((h, w), k, s, p)
    return failed(what, f"输入 {describe}：逐窗口数出来是 {count_comparisons(c, h, w, k, s, p)} 次比较"
                       f"（每个通道 {oh}×{ow} 个窗口），你的公式给出 {got}。{hint}")


# ----------------------------------------------------------------------------------------------------
# Exercise 4: predict where max and average pooling send the gradient
# ----------------------------------------------------------------------------------------------------


def pool_grad(X, mode):
    """X.grad after 2x2 pooling (mode "max" or "avg") of the (H, W) tensor X and summing the output."""
    X = X.detach().clone().float().requires_grad_(True)
    pool = getattr(F, MODES[mode].functional)  # the table of modes names PyTorch's function
    pool(X[None, None], 2).sum().backward()
    return X.grad


_TIE_NOTE = "（题目里说的 PyTorch CPU 实现的做法，文档没有保证。）"


def _window_hint(mode, x, mine, right):
    """Why the learner's gradient for one 2x2 window (x: its input values) is wrong, without the answer."""
    top = x.max()
    ties = int((x == top).sum())
    if mode == "max":
        if close(mine, torch.full_like(x, 0.25)):
            return "这是平均池化的梯度。最大池化的输出只等于窗口里的一个数，其他数变一点，输出不变。"
        if not mine.any():
            return "全是 0？窗口的输出等于窗口里的某个数：那个数变大一点，输出也跟着变大。"
        if ties > 1 and close(mine, (x == top).float()):
            return (f"窗口里有 {ties} 个相等的最大值 {fmt(top.item())}：PyTorch 只把梯度传给其中一个，"
                    "按行优先的顺序选。" + _TIE_NOTE)
        if int((mine != 0).sum()) == 1 and x[mine != 0].item() != top.item():
            return f"你把梯度给了 X = {fmt(x[mine != 0].item())} 的格子，但它不是这个窗口的最大值。"
        if int((mine != 0).sum()) == 1 and ties > 1:
            return (f"窗口里有 {ties} 个相等的最大值 {fmt(top.item())}：按行优先的顺序，"
                    "你选的是第一个吗？" + _TIE_NOTE)
        return "最大池化的输出等于窗口里的一个数：对那个数的导数是多少，对其他数呢？"
    if close(mine, torch.ones_like(x)):
        return "平均 = 四个数之和 ÷ 4：每个数对输出的导数要除以窗口大小。"
    if close(mine, (x == top).float()) or int((mine != 0).sum()) == 1:
        return "这像是最大池化的梯度。平均池化的输出用到了窗口里的每一个数。"
    if bool((mine == mine.flatten()[0]).all()):
        return (f"窗口里每个数的梯度确实应该一样，但不是 {fmt(mine.flatten()[0].item())}："
                "输出 = (x₁ + x₂ + x₃ + x₄) / 4，对每个 xᵢ 求导。")
    return "平均池化对窗口里的每个数一视同仁：它们的梯度应该相同。"


GRAD_EXAMPLE = torch.tensor([[1.0, 2.0, 0.0, -1.0],
                             [3.0, 0.0, 5.0, 4.0],
                             [0.0, 0.0, 7.0, 7.0],
                             [-2.0, 1.0, 7.0, 0.0]])  # the bottom-right window holds three equal maxima


def _grad_what(mode):
    return "X.grad，" + {"max": "最大池化 (max pooling)", "avg": "平均池化 (average pooling)"}[mode]


def _check_one_grad(mode, mine, X):
    what, (H, W) = _grad_what(mode), X.shape
    answer = mine
    try:
        if isinstance(mine, (str, bytes)) or (torch.is_tensor(mine) and mine.is_complex()):
            raise TypeError(type(mine).__name__)
        mine = torch.as_tensor(mine.detach() if torch.is_tensor(mine) else mine, dtype=torch.float32)
    except Exception:  # noqa: BLE001  (whatever could not become numbers: None, text, ragged lists, ...)
        return failed(what, f"应是和 X 一样形状 ({H}, {W}) 的数字列表，但它是 {text(answer)}。")
    if mine.shape != X.shape:
        return failed(what, f"形状应和 X 一样是 ({H}, {W})，每个输入一个梯度；"
                            f"你给的形状是 {tuple(mine.shape)}。")
    right = pool_grad(X, mode)
    if close(mine, right):
        return passed(what, "你的预测和 autograd 算出的 X.grad 完全一致。")
    windows = [(r, c) for r in range(0, H - 1, 2) for c in range(0, W - 1, 2)
               if not close(mine[r:r + 2, c:c + 2], right[r:r + 2, c:c + 2])]
    if not windows:  # only the rows/columns that no 2x2 window covers are wrong
        return failed(what, "不属于任何 2×2 窗口的格子不影响输出，梯度是 0。")
    r, c = windows[0]
    hint = _window_hint(mode, X[r:r + 2, c:c + 2].float(), mine[r:r + 2, c:c + 2], right[r:r + 2, c:c + 2])
    return failed(what, f"{H // 2 * (W // 2)} 个窗口里有 {len(windows)} 个不对。先看第 {r}–{r + 1} 行、"
                        f"第 {c}–{c + 1} 列（从 0 数）的窗口：{hint}")


def check_grad_prediction(predicted_grad, X=GRAD_EXAMPLE):
    """predicted_grad(mode) returns the learner's prediction of X.grad (a 4x4 list) after 2x2 pooling of X
    (mode "max" or "avg") and .sum().backward(). A wrong prediction names the first wrong window and why,
    not the whole answer. Prints one line per mode."""
    results = []
    for mode in ("max", "avg"):
        ok, mine = run(predicted_grad, _grad_what(mode), (mode,), f"mode={mode!r}")
        results.append(ok and _check_one_grad(mode, mine, X))
    return all(results)


# ----------------------------------------------------------------------------------------------------
# Exercise 5: min pooling
# ----------------------------------------------------------------------------------------------------

_MIN_CASES = [  # (X, kernel_size, stride, padding)
    (_arange(1, 1, 3, 3), 2, 1, 0),
    (torch.ones(1, 1, 4, 4) + _arange(1, 1, 4, 4), 3, 2, 1),  # positive input with padding
    (-_arange(1, 1, 4, 4), 2, 2, 0),  # negatives
    (torch.tensor([[[[1.0, 5.0], [1.0, 1.0]]]]), 2, 2, 0),  # ties
    (seeded_randn(2, 3, 5, 5, seed=7), 3, 2, 1),  # odd size, padding, channels
]


_MIN_MISTAKES = [
    (lambda X, k, s, p: F.max_pool2d(X, k, s, p),
     "这是最大池化的结果。想一想：把每个数取负之后，原来最小的数变成了什么？"),
    (lambda X, k, s, p: -F.max_pool2d(X, k, s, p),
     "−maxpool(X) 只是把最大值取负，不是最小值：只对输出取负不够，输入也要变。"),
    (lambda X, k, s, p: F.max_pool2d(-X, k, s, p), "符号全反了：你的每个数都正好是正确答案的相反数。"),
    (lambda X, k, s, p: -F.max_pool2d(-F.pad(X, (p, p, p, p)), k, s, 0),
     "只有边界窗口不同：你用 0 填充了。对最小池化，填充必须永远不会“赢”，相当于 +∞。"
     "F.max_pool2d 自己用 −∞ 填充：能不能让它替你填？"),
]


def check_min_pool(fn):
    """fn(X, kernel_size, stride, padding) must give each window's minimum (padding never wins),
    for X of shape (N, C, H, W)."""
    return _check_cases(
        "min_pool", fn, _MIN_CASES, lambda X, k, s, p: -F.max_pool2d(-X, k, s, p), _describe(_MIN_CASES),
        "正数加填充、负数、相等的值、奇数大小、多通道", refuse=_MIN_RULE, mistakes=_MIN_MISTAKES,
        observe=lambda got, want, X, k, s, p: (
            f"最小池化的输出形状和最大池化一样：{size_formula('H')}，这里 stride={s}。"
            if got.shape != want.shape else ""),
        look="挑一个不对的窗口：它的最小值是多少？取负之后，它成了那个窗口里的什么？填充碰到它了吗？")


# ----------------------------------------------------------------------------------------------------
# Exercise 6: softmax pooling (6a), and its two limits (6b)
# ----------------------------------------------------------------------------------------------------


def softmax_pool2d(X, kernel_size, temperature):
    """The softmax-weighted average of every kernel_size x kernel_size window (stride = kernel_size, no
    padding) of X (N, C, H, W): sum_i softmax(x / T)_i * x_i."""
    N, C, H, W = X.shape
    k = kernel_size
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)  # one column per window
    weights = torch.softmax(cols / temperature, dim=2)
    return (weights * cols).sum(dim=2).reshape(N, C, H // k, W // k)


_SOFTMAX_CASES = [  # (X, kernel_size, temperature)
    (_arange(1, 1, 4, 4), 2, 1.0),
    (-_arange(1, 1, 4, 4) / 4, 2, 0.5),  # negatives, T < 1
    (seeded_randn(2, 3, 6, 6, seed=8), 2, 2.0),  # channels, T > 1
    (seeded_randn(1, 2, 5, 7, seed=9), 2, 1.0),  # odd sizes: the last row/column is dropped
    (seeded_randn(1, 1, 6, 6, seed=10), 3, 0.7),  # 3x3 windows
    (seeded_randn(1, 1, 4, 4, seed=11) * 10, 2, 0.01),  # small T: exp(x / T) overflows unless stabilised
]


def _naive_softmax_pool2d(X, k, T):  # exp(x / T) without subtracting the maximum: overflows for small T
    N, C, H, W = X.shape
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)
    weights = torch.exp(cols / T) / torch.exp(cols / T).sum(2, keepdim=True)
    return (weights * cols).sum(2).reshape(N, C, H // k, W // k)


def _across_windows(X, k, T):  # softmax over the windows instead of within each
    N, C, H, W = X.shape
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)
    return (torch.softmax(cols / T, dim=3) * cols).sum(2).reshape(N, C, H // k, W // k)


_SOFTMAX_MISTAKES = [
    (_naive_softmax_pool2d, "结果里有 nan 或 inf：T 很小时 exp(x / T) 溢出了。先从每个窗口减去它的最大值"
                            "（softmax 的结果不变），或者直接用 torch.softmax，它内部就这么做。"),
    (lambda X, k, T: softmax_pool2d(X, k, 1.0),
     lambda X, k, T: f"结果和 temperature=1 时一样：忘了把 x 除以 T（这里 T = {T}）。"),
    (lambda X, k, T: softmax_pool2d(X, k, 1 / T),
     lambda X, k, T: f"x 应该除以 T，而不是乘以 T（这里 T = {T}）。"),
    (_across_windows, "softmax 做在了窗口之间：权重应在每个窗口自己的 k² 个数之间归一化"
                      "（每个窗口的权重加起来为 1）。"),
    (lambda X, k, T: torch.ones(X.shape[0], X.shape[1], X.shape[2] // k, X.shape[3] // k),
     "每个输出都是 1：这是权重之和。权重还要乘以窗口里的数再相加。"),
    (lambda X, k, T: F.max_pool2d(X, k),
     "这是最大池化：softmax 池化用 softmax(x / T) 作权重，对窗口里的数加权平均。"),
    (lambda X, k, T: F.avg_pool2d(X, k),
     "这是平均池化（每个数权重 1/k²）：softmax 池化的权重是 softmax(x / T)，大的数权重大。"),
]


def _softmax_observe(got, want, X, k, T):
    N, C, H, W = X.shape
    if got.shape != want.shape:
        return (f"步幅等于窗口大小、不填充：{H}×{W} 的输入用 {k}×{k} 窗口应得到 {H // k}×{W // k}"
                "（放不下整个窗口的行/列丢掉），每个通道单独池化。")
    if not got.isfinite().all():
        return f"结果里有 nan 或 inf：T = {T} 时，exp(x / T) 有多大？float32 放得下吗？"
    return ""


def check_softmax_pool(fn):
    """fn(X, kernel_size, temperature) must equal softmax_pool2d for X (N, C, H, W), including a small
    temperature where a naive exp overflows."""
    return _check_cases(
        "softmax_pool", fn, _SOFTMAX_CASES, softmax_pool2d,
        [f"X 形状 {tuple(X.shape)}, kernel_size={k}, temperature={T}" for X, k, T in _SOFTMAX_CASES],
        "多通道、负数、奇数大小、3×3 窗口、很小的温度", mistakes=_SOFTMAX_MISTAKES, observe=_softmax_observe,
        look="挑一个不对的窗口一步一步核对：每个数的权重 softmax(x / T) 是多少？加起来是 1 吗？"
             "权重乘的是窗口里的数吗？")


_POOLS = {"max": ("max", "maximum", "max pooling", "最大", "最大池化"),
          "avg": ("avg", "average", "mean", "avg pooling", "average pooling", "平均", "平均池化")}


def _pool_name(answer):
    if not isinstance(answer, str):
        return None
    name = answer.strip().lower().replace("_", " ")
    return next((mode for mode, names in _POOLS.items() if name in names), None)


def check_softmax_limits(softmax_limits):
    """softmax_limits() returns ("max" or "avg", "max" or "avg"): what softmax pooling becomes as the
    temperature goes to 0 and to infinity. The check measures both limits with softmax_pool2d first."""
    what = "softmax 池化的两个极限 (limits)"
    ok, answer = run(softmax_limits, what)
    if not ok:
        return False
    if not (isinstance(answer, Sequence) and not isinstance(answer, (str, bytes)) and len(answer) == 2):
        return failed(what, f'应返回两个答案，例如 return "max", "avg"；你的函数返回了 {kind(answer)}。')
    answers = [_pool_name(a) for a in answer]
    if None in answers:
        return failed(what, f'每个答案应是 "max" 或 "avg"，但你的是 {text(answer)}。')
    X = seeded_randn(2, 3, 8, 8, seed=12)
    measured = []
    for T in (1e-4, 1e6):
        out = softmax_pool2d(X, 2, T)
        near_max, near_avg = close(out, F.max_pool2d(X, 2)), close(out, F.avg_pool2d(X, 2))
        assert near_max != near_avg, "softmax_pool2d should reach exactly one of the two limits"
        measured.append("max" if near_max else "avg")
    if answers == measured:
        return passed(what, "对。在随机输入上量过：T = 1e-4 和 T = 1e6 时各自和你说的那种池化一致"
                            "（误差 < 1e-5）。")
    if answers == measured[::-1]:
        return failed(what, "两个极限正好反了。")
    if answers[0] != measured[0]:
        return failed(what, "T 很小的那个不对。T → 0 时 x / T 把窗口里数的差距放大 1/T 倍：exp 之后，"
                            "最大的数的权重和其他数的权重相比会怎样？")
    return failed(what, "T 很大的那个不对。T → ∞ 时每个 x / T 都趋于 0，exp(x / T) 都趋于 1：权重会怎样？")


# ----------------------------------------------------------------------------------------------------
# Exercises 7 and 8: this collection's own (predict a shape, a test input that misses zero padding)
# ----------------------------------------------------------------------------------------------------


def _pytorch_height(H, k, s, p, ceil_mode):
    return F.max_pool2d(torch.zeros(1, H, 1), (k, 1), (s, 1), (p, 0), ceil_mode=ceil_mode).shape[1]


def _shape_hint(wrong, complete):
    """The end of predict_shape's message for its wrong answers [(setting, got, expected)]; complete: every
    setting ran."""
    (_, _, _, _, ceil_mode), got, _ = wrong[0]
    if not math.isfinite(got):
        return "：这不是一个有限的数。"
    if not float(got).is_integer():
        return "。高度是整数：除法用的是 // 吗？"
    if complete and all(setting[-1] and got == expected + 1 for setting, got, expected in wrong):
        return "（ceil_mode：最后一个窗口必须从输入或左边的填充里开始，否则去掉它）。"  # the one mistake left
    if ceil_mode:
        return "。ceil_mode=True 时向上取整：多出来的最后一个窗口从哪里开始？"
    return "。代入输出形状的公式核对这一组：两边的填充都算上了吗？放不下整个窗口的位置算不算？"


def check_predict_shape(predict_shape):
    """predict_shape(H, k, s, p, ceil_mode) must be the output height PyTorch gives, for every legal setting
    with H <= 12, k <= 5, s <= 4. Any real number type counts (int, NumPy, a one-element tensor)."""
    what = "predict_shape"
    settings = [(H, k, s, p, ceil_mode) for H in range(1, 13) for k in range(1, 6) for s in range(1, 5)
                for p in range(k // 2 + 1) for ceil_mode in (False, True) if H + 2 * p >= k]
    wrong, stop = [], None
    for setting in settings:
        describe = "H={}, k={}, s={}, p={}, ceil_mode={}".format(*setting)
        outcome = checks.attempt(predict_shape, setting)
        got = None if outcome.error else checks.as_number(outcome.value)
        if got is None:
            stop = (describe, outcome)
            break
        expected = _pytorch_height(*setting)
        if got != expected:
            wrong.append((setting, got, expected))
    if not wrong and stop:  # it raised, or returned what is not one number, before any wrong answer
        describe, outcome = stop
        if outcome.error:
            return checks.report(what, outcome, describe)
        return failed(what, f"{describe}：应返回一个整数（输出的高度），但返回了 {kind(outcome.value)}。")
    if not wrong:
        return _all_passed(what, len(settings), "H ≤ 12、k ≤ 5、s ≤ 4、合法的填充、floor 和 ceil_mode")
    hint = _shape_hint(wrong, stop is None)
    setting, got, expected = wrong[0]
    describe = "H={}, k={}, s={}, p={}, ceil_mode={}".format(*setting)
    return failed(what, f"{describe}：你的函数给出 {got!r}，PyTorch 给出 {expected}{hint}")


def check_zero_padding_trap(make_trap):
    """make_trap() returns a 4x4 float tensor with a negative number on which zero padding (k=3, p=1, s=2)
    still gives max pooling's answer."""
    what = "make_trap"
    ok, X = run(make_trap, what)
    if not ok:
        return False
    if not torch.is_tensor(X):
        return failed(what, f"返回了 {kind(X)}，应返回 4×4 的 torch.Tensor。")
    if not X.is_floating_point():
        return failed(what, f"dtype 是 {X.dtype}：用浮点数（-1.0 而不是 -1，或 .float()）。")
    if X.shape != (4, 4):
        return failed(what, f"形状是 {tuple(X.shape)}，应是 4×4。")
    X = X.detach().float()
    if not X.isfinite().all():
        return failed(what, "里面有 ∞ 或 NaN：测试输入要用普通的、有限的数。")
    if not (X < 0).any():
        return failed(what, "里面没有负数，至少要有一个。")
    expected = pool2d(X, 3, stride=2, padding=1)
    got = pool2d(F.pad(X, (1, 1, 1, 1), value=0.0), 3, stride=2)
    if not torch.equal(got, expected):
        r, c = (int(i) for i in (got != expected).nonzero()[0])
        return failed(what, f"用 0 填充得到 {show(got)}，nn.MaxPool2d 得到 {show(expected)}："
                            "这个输入暴露了错误（和题目要的正好相反）。"
                            f"输出 ({r}, {c}) 的窗口碰到了填充，里面真实的数全是负数：0 填充在那里「赢」了。")
    return passed(what, "有负数，用 0 填充却碰巧和 nn.MaxPool2d 一样：这样的测试输入抓不住 0 填充的错误。")
