"""Self-checks for the pooling exercises (notebook 06).

Each check runs the learner's function on small corner cases first (negatives, padding, ties, odd sizes),
then on random inputs, compares with PyTorch, and prints in Chinese what is wrong: the shape, the values,
the padding, and the smallest input where the answer differs, with both outputs. Nothing raises: a right
answer prints ✓ and returns True; a wrong one prints ✗ and why, and returns False; an exercise not answered
yet (NotImplementedError, None) is not a failure: it prints ☐ and what to do, and returns False.
"""

from contextlib import ExitStack
from functools import partial

import torch
import torch.nn.functional as F

from .checks import refusing, seeded_randn
from .reference import fmt, output_shape, trace


class _Forbidden(Exception):
    """The learner's function called a function the exercise rules out; args: (name, advice)."""


# Functions that compute a maximum directly: the ReLU exercises must not call them.
_MAX_FUNCTIONS = [(torch, "maximum"), (torch, "max"), (torch, "amax"), (torch, "fmax"), (torch, "where"),
                  (torch, "max_pool2d"), (F, "max_pool2d"), (torch, "clamp"), (torch, "clamp_min"),
                  (torch, "clip"), (torch, "sort"), (torch, "topk"),
                  (torch.Tensor, "max"), (torch.Tensor, "maximum"), (torch.Tensor, "amax"),
                  (torch.Tensor, "clamp"), (torch.Tensor, "clamp_min"), (torch.Tensor, "clip"),
                  (torch.Tensor, "sort"), (torch.Tensor, "topk")]
_MAX_ADVICE = "这道题要求只用 ReLU（F.relu / torch.relu）、卷积和加减乘除来求最大值。"

# Comparisons and sign tests pick the larger value without ReLU: (a > b) * a + (a <= b) * b.
_OPERATORS = {"__gt__": ">", "__ge__": ">=", "__lt__": "<", "__le__": "<="}
_COMPARISONS = ([(torch.Tensor, name) for name in _OPERATORS]
                + [(owner, name) for owner in (torch, torch.Tensor)
                   for name in ("gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal",
                                "sign", "sgn", "heaviside", "abs")]
                + [(torch.Tensor, "__abs__")])
_COMPARISON_ADVICE = ("比较（>、<、sign、abs 等）直接挑出大的那个数，绕开了这道题：只用 ReLU 和加减乘除。"
                      "想一想 ReLU(x) = max(x, 0) 和 max(a, b) 的关系；"
                      "|x| 也能用 ReLU 写出来：ReLU(x) + ReLU(−x)。")

# Average pooling itself: exercise 1 asks for it as a convolution.
_AVG_FUNCTIONS = ([(F, name) for name in ("avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                                          "adaptive_avg_pool2d", "adaptive_avg_pool3d", "lp_pool2d")]
                  + [(torch, "avg_pool1d"), (torch, "adaptive_avg_pool1d")]
                  + [(torch._C._nn, name) for name in ("avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d",
                                                       "adaptive_avg_pool3d")])
_AVG_ADVICE = ("这道题要求用卷积（F.conv2d）算出平均池化，不能直接调用平均池化（nn.AvgPool2d 也是它）。"
               "用一个卷积核，让卷积替你做「相加再除以窗口大小」。")

# A minimum taken directly: exercise 6 asks whether max pooling can stand in for min pooling.
_MIN_FUNCTIONS = [(owner, name) for owner in (torch, torch.Tensor)
                  for name in ("min", "amin", "minimum", "fmin", "aminmax", "sort", "topk")]
_MIN_ADVICE = ("这道题问的是：能不能用已有的最大池化代替最小池化？请只用 F.max_pool2d 和取负（−），"
               "不要直接求最小值。")

_MAX_RULE = [(_MAX_FUNCTIONS, _MAX_ADVICE), (_COMPARISONS, _COMPARISON_ADVICE)]
_AVG_RULE = [(_AVG_FUNCTIONS, _AVG_ADVICE)]
_MIN_RULE = [(_MIN_FUNCTIONS, _MIN_ADVICE)]


def _display_name(owner, name):
    if name in _OPERATORS:
        return f"比较运算 {_OPERATORS[name]}（torch.Tensor.{name}）"
    if name == "__abs__":
        return "abs(...)（torch.Tensor.__abs__）"
    prefix = "torch.Tensor." if owner is torch.Tensor else f"{owner.__name__}."
    return prefix + name


def _forbid(rule):
    """A context in which calling any function of rule = [(functions, advice), ...] raises _Forbidden
    naming it and giving its advice. Functions the reference solutions need, such as F.relu and F.conv2d,
    call torch's C functions directly and are not affected."""
    stack = ExitStack()
    for functions, advice in rule:
        stack.enter_context(refusing(
            functions, lambda owner, name, advice=advice: _Forbidden(_display_name(owner, name), advice)))
    return stack


def _rounded(values):
    """Nested lists of numbers with floats cut to 4 significant digits."""
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return float(f"{values:.4g}") if isinstance(values, float) else values


def _show(t):
    """A tensor as short text: its values if small, otherwise its shape."""
    if not torch.is_tensor(t):
        return repr(t)
    if t.numel() <= 36:
        values = (t.squeeze() if t.dim() > 2 else t).tolist()
        return str(_rounded(values)).replace("inf", "∞")
    return f"<tensor shape {tuple(t.shape)}>"


def _fail(what, message):
    print(f"✗ {what}：{message}")
    return False


def _todo(what, message):
    """Not answered yet: not a failure, so no ✗ (Run All on an untouched notebook shows a list of ☐)."""
    print(f"☐ {what}：{message}")
    return False


def _run(fn, what, args, describe, forbid=None):
    """Call fn(*args), with the functions of forbid = [(functions, advice), ...] refused;
    return (True, result) or (False, None) after printing why it failed."""
    try:
        if forbid:
            with _forbid(forbid):
                return True, fn(*args)
        return True, fn(*args)
    except NotImplementedError:
        name = getattr(fn, "__name__", what)
        _todo(what, f"尚未实现。请在上面的单元格里完成 {name}（删去 raise NotImplementedError），"
                    "运行它，再运行这个检查。")
    except _Forbidden as err:
        name, advice = err.args
        _fail(what, f"用到了 {name}。{advice}")
    except Exception as err:  # the learner's code raised: say where, without a traceback
        _fail(what, f"在输入 {describe} 上抛出了 {type(err).__name__}: {err}")
    return False, None


def _close(got, want):
    return got.shape == want.shape and torch.allclose(got, want, rtol=1e-5, atol=1e-5)


def _compare(what, got, want, describe, X, hint):
    """True if got equals want; otherwise print what differs, hint(got, want) and the case, return False."""
    if not torch.is_tensor(got):
        return _fail(what, f"应返回 torch.Tensor，但返回了 {type(got).__name__}（输入 {describe}）。")
    if got.shape != want.shape:
        return _fail(what, f"形状不对：输入 {describe}，应得到形状 {tuple(want.shape)}，"
                           f"你的函数给出 {tuple(got.shape)}。{hint(got, want)}")
    got = got.to(want.dtype)
    if _close(got, want):
        return True
    diff = (got - want).abs()
    diff[diff.isnan()] = float("inf")
    where = tuple(int(i) for i in (diff == diff.max()).nonzero()[0])
    lines = [f"数值不对：输入 {describe}。{hint(got, want)}".rstrip(),
             f"  差得最多的位置 {where}：应为 {want[where].item():.4g}，"
             f"你的函数给出 {got[where].item():.4g}。"]
    if X is not None and X.numel() <= 36:
        lines.append(f"  输入      X = {_show(X)}")
    if want.numel() <= 36:
        lines += [f"  应得到    {_show(want)}", f"  你的结果  {_show(got)}"]
    return _fail(what, "\n".join(lines))


def _passed(what, n, covered, quiet=False, extra=""):
    """Print the pass line. quiet (the reference solutions): only that it passed, nothing a learner who has
    not solved the exercise yet could read an answer from."""
    if quiet:
        print(f"✓ {what}：参考答案通过全部 {n} 个测试。")
    else:
        print(f"✓ {what}：通过全部 {n} 个测试（{covered}）。{extra}")
    return True


def _arange(*shape):
    return torch.arange(float(torch.Size(shape).numel())).reshape(shape)


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


def _avg_hint(got, want, X, k, s, p):
    C = X.shape[1]
    if got.shape != want.shape:
        if got.dim() == 4 and got.shape[1] != C:
            return (f"输出应有 {C} 个通道，和输入一样：池化对每个通道单独计算，不把通道相加"
                    f"（卷积用 groups={C}，或把通道并入批量维）。")
        if s != 1 and got.shape == F.avg_pool2d(X, k, 1, p).shape:
            return (f"这正是步幅为 1 的形状：把 stride={s} 传给 F.conv2d"
                    "（卷积默认步幅是 1，池化默认步幅是窗口大小）。")
        if p != 0 and got.shape == F.avg_pool2d(X, k, s, 0).shape:
            return f"这正是不填充的形状：把 padding={p} 传给 F.conv2d。"
        return ""
    if _close(got, want * k * k):
        return (f"每个数都正好是正确答案的 {k * k} 倍：卷积核的每个权重应为 1/(k·k) = 1/{k * k}，"
                "忘了除以窗口大小。")
    if C > 1 and all(_close(got[:, i], want.sum(1)) for i in range(C)):
        return ("每个输出通道都是所有输入通道之和：卷积把通道加在了一起。池化对每个通道单独计算，"
                f"用 groups={C}（权重形状 ({C}, 1, k, k)）。")
    if p > 0 and _close(got, F.avg_pool2d(X, k, s, p, count_include_pad=False)):
        return ("只有含填充的边界窗口不同：你除以了窗口里真实输入的个数，而 PyTorch 默认 "
                "count_include_pad=True，填充的 0 也算进分母，总是除以 k·k。")
    return ""


def check_avg_pool_as_conv(fn, quiet=False):
    """fn(X, kernel_size, stride, padding) must equal F.avg_pool2d(X, kernel_size, stride, padding)
    for X of shape (N, C, H, W), computed with a convolution (average pooling functions are refused).
    quiet=True (reference solutions) prints only that it passed."""
    what = "avg_pool_as_conv"
    for X, k, s, p in _AVG_CASES:
        describe = f"X 形状 {tuple(X.shape)}, kernel_size={k}, stride={s}, padding={p}"
        ok, got = _run(fn, what, (X.clone(), k, s, p), describe, forbid=_AVG_RULE)
        hint = partial(_avg_hint, X=X, k=k, s=s, p=p)
        if not ok or not _compare(what, got, F.avg_pool2d(X, k, s, p), describe, X, hint):
            return False
    return _passed(what, len(_AVG_CASES), "多通道、负数、填充、奇数大小、步幅不等于窗口", quiet)


# ----------------------------------------------------------------------------------------------------
# Exercise 3: max from ReLU, then max pooling from convolutions and ReLUs
# ----------------------------------------------------------------------------------------------------

_PAIRS = [
    (torch.tensor([3.0]), torch.tensor([1.0])),
    (torch.tensor([1.0]), torch.tensor([3.0])),
    (torch.tensor([-2.0, -5.0, 4.0, 0.0]), torch.tensor([-5.0, -2.0, 4.0, -0.0])),  # negatives, ties
    (torch.tensor([-1.5, 2.5]), torch.tensor([0.5, -3.5])),
    (seeded_randn(4, 5, seed=3) * 100, seeded_randn(4, 5, seed=4) * 100),
]


def _max_hint(got, want, a, b):
    if _close(got, torch.minimum(a, b)):
        return "你算出的是 min(a, b)：检查 ReLU 里的减法方向，max(a, b) = ReLU(a − b) + b。"
    if _close(got, F.relu(a - b)):
        return "你算出的是 ReLU(a − b)：a ≤ b 时它等于 0，还要加上 b。"
    if _close(got, F.relu(a) + F.relu(b)) or _close(got, F.relu(a - b) + F.relu(b)):
        return "b 被 ReLU 截掉了负数部分：b 本身可以是负数，不要对它取 ReLU。"
    return ""


def check_max_via_relu(fn, quiet=False):
    """fn(a, b) must equal torch.maximum(a, b) elementwise, using only ReLU and + - * / (max functions,
    comparisons, sign and abs are refused). quiet=True (reference solutions) prints only that it passed."""
    what = "max_via_relu"
    for a, b in _PAIRS:
        describe = f"a = {_show(a)}, b = {_show(b)}"
        ok, got = _run(fn, what, (a.clone(), b.clone()), describe, forbid=_MAX_RULE)
        hint = partial(_max_hint, a=a, b=b)
        if not ok or not _compare(what, got, torch.maximum(a, b), describe, None, hint):
            return False
    return _passed(what, len(_PAIRS), "负数、相等的值、大数", quiet)


def _max_pool_cases(k):
    return [
        (_arange(1, 1, 2 * k, 2 * k), "0 到 15 的 4×4" if k == 2 else "按行编号"),
        (-_arange(1, 1, 2 * k, 2 * k) - 1, "全为负数"),
        ((_arange(1, 1, 2 * k, 2 * k) % 2) * 4 + 1, "有相等的最大值"),
        (seeded_randn(1, 1, 2 * k + 1, 2 * k + 1, seed=5), f"{2 * k + 1}×{2 * k + 1}，奇数大小"),
        (seeded_randn(2, 1, 3 * k, 4 * k, seed=6) * 10, "随机"),
    ]


def _max_pool_hint(got, want, X, k):
    H, W = X.shape[-2:]
    if got.shape != want.shape:
        if H % k or W % k:
            return (f"{H}×{W} 的输入用 {k}×{k}、步幅 {k} 的窗口应得到 {H // k}×{W // k}："
                    f"放不下整个窗口的最后几行/列被丢掉（向下取整），卷积的步幅也要是 {k}、不填充。")
        return ""
    if _close(got, F.avg_pool2d(X, k)):
        return "这是平均池化的结果，不是最大值。"
    if bool(((got - want).abs() > 1e-5).le(want < 0).all()):
        return ("只在最大值为负数的窗口出错：ReLU(b) ≠ b。"
                "要保留一个可能为负的值，用 b = ReLU(b) − ReLU(−b)。")
    return ""


def check_max_pool_via_relu(fn, kernel_size=2, quiet=False):
    """fn(X) must equal F.max_pool2d(X, kernel_size) for X of shape (N, 1, H, W),
    built from convolutions and ReLUs only. quiet=True (reference solutions) prints only that it passed."""
    k = kernel_size
    what = f"max_pool_via_relu（{k}×{k}）"
    cases = _max_pool_cases(k)
    for X, label in cases:
        describe = f"X 形状 {tuple(X.shape)}（{label}）"
        ok, got = _run(fn, what, (X.clone(),), describe, forbid=_MAX_RULE)
        hint = partial(_max_pool_hint, X=X, k=k)
        if not ok or not _compare(what, got, F.max_pool2d(X, k), describe, X, hint):
            return False
    return _passed(what, len(cases), "负数、相等的最大值、奇数大小、多个样本", quiet)


# ----------------------------------------------------------------------------------------------------
# Exercise 3c: how many ReLU layers and channels 3b's network needs
# ----------------------------------------------------------------------------------------------------


def relu_net_channels(kernel_size):
    """Channels entering each ReLU layer of 3b's tournament on a k x k window. Each layer is one round of
    pairwise maxima: a pair (a, b) needs 3 channels (a - b, b, -b), a value left without a partner needs 2
    (v, -v), and the round leaves ceil(n / 2) values."""
    n, channels = kernel_size * kernel_size, []
    while n > 1:
        channels.append(3 * (n // 2) + 2 * (n % 2))
        n = (n + 1) // 2
    return channels


_DESIGN_3B = "3b 提示的设计（每对 3 个通道：a − b、b、−b；落单的数 2 个：v、−v）"


def _relu_net_hint(k, relu_layers, channels):
    """Why the learner's (relu_layers, channels) differs from relu_net_channels(k), without the answer."""
    want, n = relu_net_channels(k), k * k
    if relu_layers != len(want):
        if relu_layers == n - 1:
            return (f"一层只比一对，要 {n - 1} 层；同一层里可以同时比所有的对（不同的通道），"
                    "所以每一层让数目减半。")
        if relu_layers == 1:
            return f"一层 ReLU 只能完成一轮两两比较：{n} 个数比一轮还剩 {(n + 1) // 2} 个，还要再比。"
        return f"从 {n} 个数开始，每一层两两比较，剩下 ⌈n/2⌉ 个，直到剩 1 个：数一数要几层。"
    for i, (mine, right) in enumerate(zip(channels, want, strict=True)):
        if mine == right:
            n = (n + 1) // 2
            continue
        pairs, single = n // 2, n % 2
        layer = f"第 {i + 1} 个 ReLU 层前有 {n} 个数（{pairs} 对" + ("，1 个落单）" if single else "）")
        if mine == 2 * pairs + single:
            return (f"{layer}：每对只用了 a − b 和 b 两个通道。b 可能是负数，ReLU(b) 会把它变成 0，"
                    "所以要 b = ReLU(b) − ReLU(−b)：每对 3 个通道。")
        if single and mine == 3 * pairs + 1:
            return f"{layer}：落单的数 v 也可能是负数，要 v = ReLU(v) − ReLU(−v)，占 2 个通道。"
        if single and mine == 3 * pairs:
            return f"{layer}：落单的数不参加这一轮比较，但它也要穿过这一层 ReLU（占 2 个通道：v 和 −v）。"
        return f"{layer}：这一层有几对、几个落单的数，各占几个通道？"
    return ""


def check_relu_net_size(kernel_size, relu_layers, channels, quiet=False):
    """relu_layers (int) and channels (the channels entering each ReLU layer, a list of ints) must describe
    the network of 3b's hints for a kernel_size x kernel_size window: one round of pairwise maxima per ReLU
    layer, 3 channels per pair and 2 per value left without a partner. Other correct designs count
    differently; a wrong answer's message says so. quiet=True (reference solutions) prints only that it
    passed."""
    k = kernel_size
    what = f"3c（{k}×{k}）"
    if relu_layers is None or channels is None:
        return _todo(what, "尚未回答。在上面的单元格里填上 relu_layers 和 channels，运行它，再运行这个检查。")
    if isinstance(relu_layers, bool) or not isinstance(relu_layers, int):
        return _fail(what, f"relu_layers 应是一个整数，但它是 {relu_layers!r}。")
    if not isinstance(channels, (list, tuple)) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in channels):
        return _fail(what, f"channels 应是整数列表（每个 ReLU 层一个数），但它是 {channels!r}。")
    if len(channels) != relu_layers:
        return _fail(what, f"channels 有 {len(channels)} 个数，relu_layers 是 {relu_layers}："
                           "每个 ReLU 层写一个通道数。")
    if list(channels) == relu_net_channels(k):
        if quiet:
            print(f"✓ {what}：参考答案的 ReLU 层数和每层的通道数都对。")
            return True
        print(f"✓ {what}：ReLU 层数和每层的通道数都对（卷积层比 ReLU 层多 1 个：最后一个卷积把结果加起来）。")
        return True
    return _fail(what, f"你的答案是 relu_layers={relu_layers}, channels={list(channels)}，和按 {_DESIGN_3B}"
                       f"数出来的不一样。{_relu_net_hint(k, relu_layers, list(channels))}"
                       "（别的正确设计，例如 max(a, b) = (a + b)/2 + |a − b|/2，每对要 4 个通道，"
                       "数目会不同；这道题只数 3b 提示里的这一种。）")


# ----------------------------------------------------------------------------------------------------
# Exercise 4: the computational cost of max pooling, checked by counting
# ----------------------------------------------------------------------------------------------------

_COST_CASES = [  # (c, h, w, kernel_size, stride, padding)
    (1, 4, 4, 2, 2, 0),
    (3, 5, 5, 3, 2, 1),
    (2, 6, 7, 2, 1, 0),
    (16, 10, 10, 2, 2, 0),
    (6, 28, 28, 3, 2, 1),
    (4, 7, 9, 3, 3, 1),
]


def count_comparisons(c, h, w, kernel_size, stride, padding):
    """Count max pooling's comparisons one window at a time with poolkit.trace: a window of n values
    (input and padding) needs n - 1 comparisons, and every one of the c channels has the same windows."""
    steps = trace(torch.zeros(h, w), kernel_size, stride, padding)
    return c * sum(len(step.values) - 1 for step in steps)


def _cost_mistakes(c, h, w, k, s, p):
    """What some realistic wrong formulas give for one case, each with what it gets wrong."""
    oh, ow = output_shape((h, w), k, s, p)
    oh0, ow0 = output_shape((h, w), k, s, 0) if k <= min(h, w) else (0, 0)
    return [
        (c * oh * ow * k * k, "你数的是读了多少个值（每个窗口 k·k 个）：n 个值求最大只需 n − 1 次比较。"),
        (oh * ow * (k * k - 1), "少乘了通道数 c：每个通道都单独池化。"),
        (c * h * w * (k * k - 1), "输出不是 h×w 个：输出大小是 floor((h + 2p − k)/s) + 1。"),
        (c * oh0 * ow0 * (k * k - 1), "忘了填充：输出大小要用 h + 2p（填充的位置也参与比较）。"),
        (c * (h // s) * (w // s) * (k * k - 1), "输出大小不是 h/s：要用 floor((h + 2p − k)/s) + 1。"),
        (c * ((h + 2 * p - k) / s + 1) * ((w + 2 * p - k) / s + 1) * (k * k - 1),
         "用整数除法 //：输出大小向下取整（放不下整个窗口的位置不算），就像 floor((h + 2p − k)/s) + 1。"),
        (c * ((h + 2 * p - k + s - 1) // s + 1) * ((w + 2 * p - k + s - 1) // s + 1) * (k * k - 1),
         "输出大小向上取整了：PyTorch 默认 ceil_mode=False，放不下整个窗口的位置不算，要向下取整（//）。"),
    ]


def check_pool_cost(fn, quiet=False):
    """fn(c, h, w, kernel_size, stride, padding) must return the number of comparisons max pooling
    makes on a c x h x w input, as counted window by window. quiet=True (reference solutions) prints only
    that it passed; otherwise a pass also shows the learner's count for LeNet's first pooling layer."""
    what = "pool_cost"
    answers = []
    for case in _COST_CASES:
        describe = "c={}, h={}, w={}, kernel_size={}, stride={}, padding={}".format(*case)
        ok, got = _run(fn, what, case, describe)
        if not ok:
            return False
        if torch.is_tensor(got) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return _fail(what, f"应返回一个数（int），但返回了 {type(got).__name__}（{describe}）。")
        answers.append((case, describe, got))
    wrong = [(case, describe, got) for case, describe, got in answers if got != count_comparisons(*case)]
    if not wrong:
        lenet = count_comparisons(6, 28, 28, 2, 2, 0)  # what the learner's formula gives: it matched counting
        return _passed(what, len(_COST_CASES), "多通道、填充、步幅 1 和步幅大于 1、非正方形输入", quiet,
                       extra=f"例如 LeNet 的第一个池化层（6×28×28，2×2，步幅 2）：{lenet} 次比较。")
    # Name a mistake only if that wrong formula explains every answer, not one by coincidence.
    mistakes = [_cost_mistakes(*case) for case, _, _ in answers]
    hint = next((msg for i, (_, msg) in enumerate(mistakes[0])
                 if all(abs(got - m[i][0]) <= 1e-9 * max(1, abs(m[i][0]))
                        for (_, _, got), m in zip(answers, mistakes, strict=True))), "")
    if not hint and any(isinstance(got, float) for _, _, got in wrong):
        hint = ("你的公式给出的是小数 (float)：某处用了 / 吧？输出大小要用整数除法 // 向下取整"
                "（放不下整个窗口的位置不算），就像 floor((h + 2p − k)/s) + 1。")
    if not hint:
        hint = "分别核对三个因子：每个通道有几个窗口（输出大小）、每个窗口要几次比较、有几个通道。"
    (c, h, w, k, s, p), describe, got = wrong[0]
    oh, ow = output_shape((h, w), k, s, p)
    return _fail(what, f"输入 {describe}：逐窗口数出来是 {count_comparisons(c, h, w, k, s, p)} 次比较"
                       f"（每个通道 {oh}×{ow} 个窗口），你的公式给出 {got}。{hint}")


# The numbers that exercise 4's explanation shows (as written there), each with the factors it shows and
# how the check computes it independently. They live here so that the notebook's check cell, visible next to
# the collapsed explanation, does not give away the formula.
COST_EXPLANATION_NUMBERS = [  # (what, factors shown, number shown, computed)
    ("LeNet 第一个池化层的比较次数", (6, 14, 14, 3), 3528, lambda: count_comparisons(6, 28, 28, 2, 2, 0)),
    ("LeNet 第二个池化层的比较次数", (16, 5, 5, 3), 1200, lambda: count_comparisons(16, 10, 10, 2, 2, 0)),
    ("LeNet 第二个卷积的乘加次数", (16, 10, 10, 6, 5, 5), 240_000, lambda: conv_macs(6, 16, 5, (14, 14))),
]


def check_cost_explanation():
    """Check the numbers of exercise 4's explanation: each comparison count against poolkit.trace's
    window-by-window count, the multiply-adds against notebook 05's formula, and each product of the
    factors shown. Prints one ✓ line without the numbers; a mismatch is an error in the notebook's text
    and raises AssertionError (like poolkit.check_close)."""
    for what, factors, shown, computed in COST_EXPLANATION_NUMBERS:
        product, counted = torch.tensor(factors).prod().item(), computed()
        assert product == shown == counted, (f"exercise 4's explanation, {what}: shows {shown}, "
                                             f"its factors {factors} give {product}, computed {counted}")
    print(f"✓ 练习 4 答案解读里的 {len(COST_EXPLANATION_NUMBERS)} 个数：比较次数逐窗口数过，"
          "乘加次数按笔记本 05 的公式算过，都和文中写的一致。")
    return True


# ----------------------------------------------------------------------------------------------------
# Exercise 6: min pooling
# ----------------------------------------------------------------------------------------------------

_MIN_CASES = [  # (X, kernel_size, stride, padding)
    (_arange(1, 1, 3, 3), 2, 1, 0),
    (torch.ones(1, 1, 4, 4) + _arange(1, 1, 4, 4), 3, 2, 1),  # positive input with padding
    (-_arange(1, 1, 4, 4), 2, 2, 0),  # negatives
    (torch.tensor([[[[1.0, 5.0], [1.0, 1.0]]]]), 2, 2, 0),  # ties
    (seeded_randn(2, 3, 5, 5, seed=7), 3, 2, 1),  # odd size, padding, channels
]


def _min_hint(got, want, X, k, s, p):
    if got.shape != want.shape:
        return f"最小池化的输出形状和最大池化一样：floor((H + 2p − k)/s) + 1，这里 stride={s}。"
    if _close(got, F.max_pool2d(X, k, s, p)):
        return "这是最大池化的结果：maxpool(X) 取的是每个窗口的最大值。最小值 = −maxpool(−X)。"
    if _close(got, -F.max_pool2d(X, k, s, p)):
        return "−maxpool(X) 只是把最大值取负，不是最小值：要先对输入取负，−maxpool(−X)。"
    if _close(got, F.max_pool2d(-X, k, s, p)):
        return "符号全反了：maxpool(−X) 是最小值的相反数，外面还要再取一次负。"
    if p > 0 and _close(got, -F.max_pool2d(-F.pad(X, (p, p, p, p)), k, s, 0)):
        return ("只有边界窗口不同：你用 0 填充了。对最小池化，填充必须永远不会“赢”，相当于 +∞；"
                "−maxpool(−X) 自动做到（max_pool2d 用 −∞ 填充）。")
    return ""


def check_min_pool(fn, quiet=False):
    """fn(X, kernel_size, stride, padding) must give each window's minimum (padding never wins),
    for X of shape (N, C, H, W)."""
    what = "min_pool"
    for X, k, s, p in _MIN_CASES:
        describe = f"X 形状 {tuple(X.shape)}, kernel_size={k}, stride={s}, padding={p}"
        ok, got = _run(fn, what, (X.clone(), k, s, p), describe, forbid=_MIN_RULE)
        hint = partial(_min_hint, X=X, k=k, s=s, p=p)
        if not ok or not _compare(what, got, -F.max_pool2d(-X, k, s, p), describe, X, hint):
            return False
    return _passed(what, len(_MIN_CASES), "正数加填充、负数、相等的值、奇数大小、多通道", quiet)


# ----------------------------------------------------------------------------------------------------
# Exercise 2: max pooling is not linear, so no convolution alone can compute it
# ----------------------------------------------------------------------------------------------------


def check_not_additive(X, Y, quiet=False):
    """X, Y: two (H, W) tensors, H, W >= 2, for which 2x2 max pooling breaks additivity:
    maxpool(X + Y) != maxpool(X) + maxpool(Y). Every convolution (without bias) is additive.
    quiet=True (reference solutions) prints only that it passed, not the values."""
    what = "反例 (counterexample)"
    if X is None or Y is None:
        return _todo(what, "尚未回答。请在上面的单元格里给 X2 和 Y2 赋值（两个形状相同的二维张量），"
                           "再运行这个检查。")
    if not (torch.is_tensor(X) and torch.is_tensor(Y)):
        return _fail(what, "X2 和 Y2 都应是 torch.Tensor，例如 torch.tensor([[1.0, 0.0], [0.0, 0.0]])。")
    if X.shape != Y.shape or X.dim() != 2 or min(X.shape) < 2:
        return _fail(what, f"X2 和 Y2 应是形状相同、至少 2×2 的二维张量；现在是 {tuple(X.shape)} 和 "
                           f"{tuple(Y.shape)}。")
    X, Y = X.float(), Y.float()
    pool = lambda Z: F.max_pool2d(Z[None, None], 2)[0, 0]  # noqa: E731
    together, apart = pool(X + Y), pool(X) + pool(Y)
    if _close(together, apart):
        return _fail(what, f"对这两个输入，maxpool(X + Y) = maxpool(X) + maxpool(Y) = {_show(together)}，"
                           "没有打破可加性。提示：让 X 和 Y 的最大值落在同一个窗口里的不同位置。")
    if quiet:
        print(f"✓ {what}：参考答案打破了可加性。")
        return True
    print(f"✓ {what}：maxpool(X + Y) = {_show(together)}，而 maxpool(X) + maxpool(Y) = {_show(apart)}。"
          "最大池化不满足可加性，而任何（不带偏置的）卷积都满足，所以单靠卷积算不出最大池化。")
    return True


# ----------------------------------------------------------------------------------------------------
# Exercise 5: predict where max and average pooling send the gradient
# ----------------------------------------------------------------------------------------------------


def pool_grad(X, mode):
    """X.grad after 2x2 pooling (mode "max" or "avg") of the (H, W) tensor X and summing the output."""
    X = X.detach().clone().float().requires_grad_(True)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    pool(X[None, None], 2).sum().backward()
    return X.grad


def _window_hint(mode, x, mine, right):
    """Why the learner's gradient for one 2x2 window (x: its input values) is wrong, without the answer."""
    top = x.max()
    ties = int((x == top).sum())
    if mode == "max":
        if _close(mine, torch.full_like(x, 0.25)):
            return "这是平均池化的梯度。最大池化的输出只等于窗口里的一个数，其他数变一点，输出不变。"
        if not mine.any():
            return "全是 0？窗口的输出等于窗口里的某个数：那个数变大一点，输出也跟着变大。"
        if ties > 1 and _close(mine, (x == top).float()):
            return (f"窗口里有 {ties} 个相等的最大值 {fmt(top.item())}：PyTorch 只把梯度传给其中一个——"
                    "按行优先（先第一行从左到右，再第二行）的第一个。")
        if int((mine != 0).sum()) == 1 and x[mine != 0].item() != top.item():
            return f"你把梯度给了 X = {fmt(x[mine != 0].item())} 的格子，但它不是这个窗口的最大值。"
        if int((mine != 0).sum()) == 1 and ties > 1:
            return (f"窗口里有 {ties} 个相等的最大值 {fmt(top.item())}：PyTorch 选的是按行优先"
                    "（先第一行从左到右，再第二行）的第一个。")
        return "最大池化的输出等于窗口里的一个数：对那个数的导数是多少，对其他数呢？"
    if _close(mine, torch.ones_like(x)):
        return "平均 = 四个数之和 ÷ 4：每个数对输出的导数要除以窗口大小。"
    if _close(mine, (x == top).float()) or int((mine != 0).sum()) == 1:
        return "这像是最大池化的梯度。平均池化的输出用到了窗口里的每一个数。"
    if bool((mine == mine.flatten()[0]).all()):
        return (f"窗口里每个数的梯度确实应该一样，但不是 {fmt(mine.flatten()[0].item())}："
                "输出 = (x₁ + x₂ + x₃ + x₄) / 4，对每个 xᵢ 求导。")
    return "平均池化对窗口里的每个数一视同仁：它们的梯度应该相同。"


def check_grad_prediction(X, mode, predicted, quiet=False):
    """predicted: the learner's X.grad (a list of lists or a tensor shaped like X) after 2x2 pooling of X
    (mode "max" or "avg") and .sum().backward(). A wrong prediction names the first wrong window and why,
    not the whole answer. quiet=True (reference solutions) prints only that it passed."""
    name = {"max": "最大池化 (max pooling)", "avg": "平均池化 (average pooling)"}[mode]
    what = f"X.grad，{name}"
    H, W = X.shape
    if predicted is None:
        return _todo(what, "尚未回答。在上面的单元格里填上你预测的梯度（和 X 一样的 4×4 列表），"
                           "运行它，再运行这个检查。")
    try:
        mine = torch.as_tensor(predicted, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return _fail(what, f"应是和 X 一样形状 ({H}, {W}) 的数字列表或张量，但它是 {predicted!r}。")
    if mine.shape != X.shape:
        return _fail(what, f"形状应和 X 一样是 ({H}, {W})，每个输入一个梯度；"
                           f"你给的形状是 {tuple(mine.shape)}。")
    right = pool_grad(X, mode)
    if _close(mine, right):
        if quiet:
            print(f"✓ {what}：参考答案和 autograd 算出的一致。")
        else:
            print(f"✓ {what}：你的预测和 autograd 算出的 X.grad 完全一致。")
        return True
    windows = [(r, c) for r in range(0, H - 1, 2) for c in range(0, W - 1, 2)
               if not _close(mine[r:r + 2, c:c + 2], right[r:r + 2, c:c + 2])]
    if not windows:  # only the rows/columns that no 2x2 window covers are wrong
        return _fail(what, "不属于任何 2×2 窗口的格子不影响输出，梯度是 0。")
    r, c = windows[0]
    hint = _window_hint(mode, X[r:r + 2, c:c + 2].float(), mine[r:r + 2, c:c + 2], right[r:r + 2, c:c + 2])
    return _fail(what, f"{H // 2 * (W // 2)} 个窗口里有 {len(windows)} 个不对。先看第 {r}–{r + 1} 行、"
                       f"第 {c}–{c + 1} 列（从 0 数）的窗口：{hint}")


# ----------------------------------------------------------------------------------------------------
# Exercise 7: softmax pooling, and its two limits
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


def _softmax_hint(got, want, X, k, T):
    N, C, H, W = X.shape
    if got.shape != want.shape:
        return (f"步幅等于窗口大小、不填充：{H}×{W} 的输入用 {k}×{k} 窗口应得到 {H // k}×{W // k}"
                "（放不下整个窗口的行/列丢掉），每个通道单独池化。")
    if not torch.isfinite(got).all():
        return ("结果里有 nan 或 inf：T 很小时 exp(x / T) 溢出了。先从每个窗口减去它的最大值"
                "（softmax 的结果不变），或者直接用 torch.softmax，它内部就这么做。")
    if T != 1 and _close(got, softmax_pool2d(X, k, 1.0)):
        return f"结果和 temperature=1 时一样：忘了把 x 除以 T（这里 T = {T}）。"
    if T != 1 and _close(got, softmax_pool2d(X, k, 1 / T)):
        return f"x 应该除以 T，而不是乘以 T（这里 T = {T}）。"
    cols = F.unfold(X, k, stride=k).reshape(N, C, k * k, -1)
    across = (torch.softmax(cols / T, dim=3) * cols).sum(2).reshape(want.shape)
    if _close(got, across):
        return ("softmax 做在了窗口之间：权重应在每个窗口自己的 k² 个数之间归一化"
                "（每个窗口的权重加起来为 1）。")
    if _close(got, torch.ones_like(want)):
        return "每个输出都是 1：这是权重之和。权重还要乘以窗口里的数再相加。"
    if _close(got, F.max_pool2d(X, k)):
        return "这是最大池化：softmax 池化用 softmax(x / T) 作权重，对窗口里的数加权平均。"
    if _close(got, F.avg_pool2d(X, k)):
        return "这是平均池化（每个数权重 1/k²）：softmax 池化的权重是 softmax(x / T)，大的数权重大。"
    return ""


def check_softmax_pool(fn, quiet=False):
    """fn(X, kernel_size, temperature) must equal softmax_pool2d for X (N, C, H, W), including a small
    temperature where a naive exp overflows. quiet=True (reference solutions) prints only that it passed."""
    what = "softmax_pool"
    for X, k, T in _SOFTMAX_CASES:
        describe = f"X 形状 {tuple(X.shape)}, kernel_size={k}, temperature={T}"
        ok, got = _run(fn, what, (X.clone(), k, T), describe)
        hint = partial(_softmax_hint, X=X, k=k, T=T)
        if not ok or not _compare(what, got, softmax_pool2d(X, k, T), describe, X, hint):
            return False
    return _passed(what, len(_SOFTMAX_CASES), "多通道、负数、奇数大小、3×3 窗口、很小的温度", quiet)


_POOLS = {"max": ("max", "maximum", "max pooling", "最大", "最大池化"),
          "avg": ("avg", "average", "mean", "avg pooling", "average pooling", "平均", "平均池化")}


def _pool_name(answer):
    text = str(answer).strip().lower().replace("_", " ")
    return next((mode for mode, names in _POOLS.items() if text in names), None)


def check_softmax_limits(small_T, large_T, quiet=False):
    """small_T, large_T: "max" or "avg", what softmax pooling becomes as the temperature goes to 0 and to
    infinity. The check measures both limits with softmax_pool2d before judging."""
    what = "softmax 池化的两个极限 (limits)"
    if small_T is None or large_T is None:
        return _todo(what, '尚未回答。把 limit_small_T 和 limit_large_T 设为 "max" 或 "avg"，'
                           "运行它，再运行这个检查。")
    answers = [_pool_name(small_T), _pool_name(large_T)]
    if None in answers:
        bad = small_T if answers[0] is None else large_T
        return _fail(what, f'答案应是 "max" 或 "avg"，但有一个是 {bad!r}。')
    X = seeded_randn(2, 3, 8, 8, seed=12)
    measured = []
    for T in (1e-4, 1e6):
        out = softmax_pool2d(X, 2, T)
        near_max, near_avg = _close(out, F.max_pool2d(X, 2)), _close(out, F.avg_pool2d(X, 2))
        assert near_max != near_avg, "softmax_pool2d should reach exactly one of the two limits"
        measured.append("max" if near_max else "avg")
    if answers == measured:
        if quiet:
            print(f"✓ {what}：参考答案和测量一致。")
        else:
            print(f"✓ {what}：对。在随机输入上量过：T = 1e-4 时和最大池化一致，T = 1e6 时和平均池化一致"
                  "（误差 < 1e-5）。")
        return True
    if answers == measured[::-1]:
        return _fail(what, "两个极限正好反了。")
    if answers[0] != measured[0]:
        return _fail(what, "T 很小的那个不对。T → 0 时 x / T 把窗口里数的差距放大 1/T 倍：exp 之后，"
                           "最大的数的权重和其他数的权重相比会怎样？")
    return _fail(what, "T 很大的那个不对。T → ∞ 时每个 x / T 都趋于 0，exp(x / T) 都趋于 1：权重会怎样？")


# ----------------------------------------------------------------------------------------------------
# Q&A: why pooling is used less: a stride-2 convolution instead of convolution + pooling
# ----------------------------------------------------------------------------------------------------


def conv_macs(c_in, c_out, kernel_size, input_hw, stride=1):
    """Multiply-adds of a k x k convolution without padding: output elements x (c_in k^2) each."""
    h_out, w_out = output_shape(input_hw, kernel_size, stride, 0)
    return c_out * h_out * w_out * c_in * kernel_size * kernel_size


def check_macs_ratio(ratio, quiet=False):
    """ratio: how many times the multiply-adds of route A (5x5 conv 6 -> 16 on 6 x 14 x 14, then 2x2 max
    pooling) are those of route B (the same conv with stride 2), as in notebook 05, section 3."""
    what = "乘加次数之比 A / B"
    if ratio is None:
        return _todo(what, "尚未回答。把 macs_ratio 设为一个数，运行它，再运行这个检查。")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        return _fail(what, f"macs_ratio 应是一个数，但它是 {ratio!r}。")
    a, b = conv_macs(6, 16, 5, (14, 14)), conv_macs(6, 16, 5, (14, 14), stride=2)
    right = a / b
    if abs(ratio - right) < 1e-6:
        if quiet:
            print(f"✓ {what}：参考答案和公式一致。")
        else:
            print(f"✓ {what}：对。A 的卷积做 {a:,} 次乘加，B 做 {b:,} 次；池化本身只做比较，不做乘加。")
        return True
    if abs(ratio * right - 1) < 1e-6:
        return _fail(what, "反了：问的是 A 是 B 的几倍，A 更贵。")
    if abs(ratio - 1) < 1e-6:
        return _fail(what, "输出形状相同，运算量却不同：A 的卷积在池化之前先在每一个位置上都算了一遍。"
                           "数一数 A 的卷积输出有几个位置，B 有几个。")
    if abs(ratio - right ** 0.5) < 1e-6:
        return _fail(what, "步幅 2 在高和宽两个方向上都起作用：输出的格子数少的不止一半。")
    if abs(ratio - (a + 16 * 5 * 5 * 3) / b) < 1e-3:
        return _fail(what, "池化的比较不是乘加：只数两个卷积的乘加。")
    return _fail(what, "每个卷积的乘加 = 输出元素个数 × 每个输出元素的乘加（c_in·k²）。两条路的卷积核一样，"
                       "只有输出的位置数不同：各是多少？")
