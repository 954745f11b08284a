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


def softmax_pool(X, kernel_size, temperature):
    N, C, H, W = X.shape
    cols = F.unfold(X, kernel_size, stride=kernel_size).reshape(N, C, kernel_size**2, -1)
    weights = torch.softmax(cols / temperature, dim=2)
    return (weights * cols).sum(dim=2).reshape(N, C, H // kernel_size, W // kernel_size)


X5 = torch.tensor([[1.0, 2.0, 0.0, -1.0],  # exercise 5's input: the bottom-right window has three tied 7s
                   [3.0, 0.0, 5.0, 4.0],
                   [0.0, 0.0, 7.0, 7.0],
                   [-2.0, 1.0, 7.0, 0.0]])
GRAD_MAX = [[0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]  # the first maximum of each window
GRAD_AVG = [[0.25] * 4] * 4


def test_reference_solutions_pass(capsys):
    assert exercises.check_avg_pool_as_conv(avg_pool_as_conv)
    assert exercises.check_max_via_relu(max_via_relu)
    assert exercises.check_max_pool_via_relu(max_pool_via_relu, kernel_size=2)
    assert exercises.check_max_pool_via_relu(lambda X: max_pool_via_relu(X, 3), kernel_size=3)
    assert exercises.check_pool_cost(pool_cost)
    assert exercises.check_min_pool(min_pool)
    assert exercises.check_grad_prediction(X5, "max", GRAD_MAX)
    assert exercises.check_grad_prediction(X5, "avg", torch.tensor(GRAD_AVG))
    assert exercises.check_softmax_pool(softmax_pool)
    assert exercises.check_softmax_limits("max", "avg")
    assert exercises.check_macs_ratio(4)
    out = capsys.readouterr().out
    assert out.count("✓") == 11 and "✗" not in out


def test_quiet_pass_lines_give_no_answer_away(capsys):
    """The reference solutions' cells run on Shift+Enter / Run All: their output is one ✓ line per check
    and shows no value a learner could copy (a counterexample, a count, a layer size, a gradient)."""
    X, Y = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    checks = [
        lambda: exercises.check_avg_pool_as_conv(avg_pool_as_conv, quiet=True),
        lambda: exercises.check_not_additive(X, Y, quiet=True),
        lambda: exercises.check_max_via_relu(max_via_relu, quiet=True),
        lambda: exercises.check_max_pool_via_relu(max_pool_via_relu, quiet=True),
        lambda: exercises.check_relu_net_size(3, 4, [14, 8, 5, 3], quiet=True),
        lambda: exercises.check_pool_cost(pool_cost, quiet=True),
        lambda: exercises.check_grad_prediction(X5, "max", GRAD_MAX, quiet=True),
        lambda: exercises.check_grad_prediction(X5, "avg", GRAD_AVG, quiet=True),
        lambda: exercises.check_min_pool(min_pool, quiet=True),
        lambda: exercises.check_softmax_pool(softmax_pool, quiet=True),
        lambda: exercises.check_softmax_limits("max", "avg", quiet=True),
        lambda: exercises.check_macs_ratio(4.0, quiet=True),
    ]
    for check in checks:
        assert check() is True
        out = capsys.readouterr().out
        assert out.startswith("✓") and out.count("\n") == 1, out
        for answer in ("[[", "3528", "14", "0.25", "1/4", "240,000", "最大池化一致", "=", "−"):
            assert answer not in out, f"{answer!r} in a reference solution's output: {out}"


def test_notebook_solution_cells_run_their_checks_quietly():
    """Shift+Enter runs the source-collapsed reference cells too: each of them calls its checks with
    quiet=True and prints nothing else, and its first line (visible when collapsed) is a signature or a
    comment; the learner's own check cells are never quiet."""
    import re
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parent.parent / "notebooks" / "06-exercises.ipynb"
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    solutions = [c.source for c in cells if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) == 11
    for source in solutions:
        calls = re.findall(r"check_\w+\((?:[^()]|\([^()]*\))*\)", source)
        assert calls and all("quiet=True" in call for call in calls), source
        first = source.splitlines()[0]  # JupyterLab still shows the first line of a collapsed cell
        assert first.startswith("# Reference") or re.fullmatch(r"def \w+\([\w, ]*\):", first), first
        last = source.rstrip().splitlines()[-1]
        assert "print(" not in source and (last.startswith(" ") or last.endswith(";")), source  # no display
    learner = [c.source for c in cells if "solution" not in c.metadata.get("tags", [])]
    assert not any("quiet" in source for source in learner)
    for answer in ("3528", "1200", "240_000", "14 * 14", "5 * 5 * 3"):  # exercise 4's numbers stay hidden
        assert not any(answer in source for source in learner), answer


def test_reference_cells_print_as_many_lines_as_their_text_says():
    """The text before a reference cell says how many ✓ lines it prints (one per check call)."""
    import re
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parent.parent / "notebooks" / "06-exercises.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    for before, cell in zip(cells, cells[1:], strict=False):
        if "solution" not in cell.metadata.get("tags", []):
            continue
        said = re.search(r"只打印(一|两)行 ✓", before.source)
        if said:
            calls = len(re.findall(r"check_\w+\(", cell.source))
            assert calls == {"一": 1, "两": 2}[said.group(1)], (before.source, cell.source)


def test_cost_explanation_check_matches_the_text_and_hides_the_numbers(capsys, monkeypatch):
    """The check next to exercise 4's collapsed explanation verifies the numbers the explanation shows
    (each with its product of factors) and prints none of them; a wrong number in the text raises."""
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parent.parent / "notebooks" / "06-exercises.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    explanation = next(c.source for c in cells if c.cell_type == "markdown"
                       and "<details>" in c.source and "比较次数" in c.source)
    for _, factors, shown, _ in exercises.COST_EXPLANATION_NUMBERS:
        assert f"{shown:,}" in explanation or str(shown) in explanation, shown
        if len(factors) == 4:  # the comparison counts are shown as c × h_out × w_out × (k² − 1)
            assert " × ".join(map(str, factors)) + f" = {shown}" in explanation
    assert exercises.check_cost_explanation() is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and out.count("\n") == 1
    assert not any(str(n) in out for n in (3528, 1200, 240, 14, 28))
    wrong = [(what, factors, shown + 1, computed)
             for what, factors, shown, computed in exercises.COST_EXPLANATION_NUMBERS]
    monkeypatch.setattr(exercises, "COST_EXPLANATION_NUMBERS", wrong)
    try:
        exercises.check_cost_explanation()
    except AssertionError as err:
        assert "3529" in str(err)
    else:
        raise AssertionError("a wrong number in the explanation must fail its check")


def test_learner_pass_lines_are_informative(capsys):
    X, Y = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    assert exercises.check_not_additive(X, Y)
    out = capsys.readouterr().out
    assert "[[1.0]]" in out and "[[2.0]]" in out  # both sides of the broken equation
    assert exercises.check_pool_cost(pool_cost)
    assert "3528" in capsys.readouterr().out  # LeNet's first pooling layer, counted
    assert exercises.check_macs_ratio(4)
    assert "240,000" in capsys.readouterr().out


def rejected(check, fn, capsys, *needles, **kwargs):
    """check(fn) returns False (no exception), prints ✗ and its message contains every needle."""
    assert check(fn, **kwargs) is False
    out = capsys.readouterr().out
    assert out.startswith("✗"), out
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
        pending(check, stub, capsys, "尚未实现", "NotImplementedError")


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

    def select_in_net(X):  # the 3b network with comparisons in place of ReLU
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


def test_relu_net_size_counts_the_design_of_3b_hints(capsys):
    """Another correct network, (a + b)/2 + |a − b|/2 with |x| = ReLU(x) + ReLU(−x), takes 4 channels per
    pair: the message says the count is for 3b's hints (3 per pair, 2 per single value), not "wrong"."""
    out = rejected(exercises.check_relu_net_size, 2, capsys, "3b 提示的设计", "每对 3 个通道",
                   "落单的数 2 个", "别的正确设计", relu_layers=2, channels=[8, 4])
    assert "[6, 3]" not in out


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
    pending(exercises.check_relu_net_size, 2, capsys, "尚未回答", relu_layers=None, channels=None)
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


def test_pool_cost_input_size_instead_of_output(capsys):
    rejected(exercises.check_pool_cost, lambda c, h, w, k, s, p: c * h * w * (k * k - 1), capsys,
             "输出不是 h×w", "floor")


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


def test_grad_prediction_max_rejects_mistakes_without_the_answer(capsys):
    ties = (X5 == 7).float() + torch.tensor(GRAD_MAX) * (X5 != 7)  # every tied 7 gets a gradient
    out = rejected(lambda p: exercises.check_grad_prediction(X5, "max", p), ties, capsys,
                   "3 个相等的最大值 7", "按行优先", "第 2–3 行")
    assert "1 个不对" in out
    rejected(lambda p: exercises.check_grad_prediction(X5, "max", p), GRAD_AVG, capsys, "平均池化的梯度")
    last_seven = [[0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    rejected(lambda p: exercises.check_grad_prediction(X5, "max", p), last_seven, capsys, "按行优先")
    not_max = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    out = rejected(lambda p: exercises.check_grad_prediction(X5, "max", p), not_max,
                   capsys, "X = 1 的格子", "不是这个窗口的最大值")
    assert str(GRAD_MAX) not in out and "tensor" not in out  # names the window, never prints the answer


def test_grad_prediction_avg_rejects_mistakes(capsys):
    rejected(lambda p: exercises.check_grad_prediction(X5, "avg", p), torch.ones(4, 4), capsys,
             "除以窗口大小")
    rejected(lambda p: exercises.check_grad_prediction(X5, "avg", p), GRAD_MAX, capsys, "最大池化的梯度")
    rejected(lambda p: exercises.check_grad_prediction(X5, "avg", p), [[1 / 16] * 4] * 4, capsys,
             "不是 0.0625")


def test_grad_prediction_bad_input_is_a_message(capsys):
    pending(lambda p: exercises.check_grad_prediction(X5, "max", p), None, capsys, "尚未回答")
    rejected(lambda p: exercises.check_grad_prediction(X5, "max", p), [1, 0], capsys, "形状应和 X 一样")
    rejected(lambda p: exercises.check_grad_prediction(X5, "avg", p), "1/4", capsys, "数字列表或张量")
    rejected(lambda p: exercises.check_grad_prediction(X5, "avg", p), [[0.25] * 4, [0.25] * 3], capsys,
             "数字列表或张量")


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
        return exercises.check_softmax_limits(*pair)

    assert exercises.check_softmax_limits("Max pooling", "平均")
    capsys.readouterr()
    rejected(limits, ("avg", "max"), capsys, "正好反了")
    rejected(limits, ("max", "max"), capsys, "T 很大的那个不对")
    rejected(limits, ("avg", "avg"), capsys, "T 很小的那个不对")
    pending(limits, (None, "avg"), capsys, "尚未回答")
    rejected(limits, ("min", "avg"), capsys, "'min'")


def test_macs_ratio_rejects_mistakes(capsys):
    for ratio, needle in [(2, "高和宽两个方向"), (1, "输出形状相同，运算量却不同"), (0.25, "反了"),
                          (241200 / 60000, "比较不是乘加"), (3, "各是多少"), ("4", "应是一个数")]:
        rejected(exercises.check_macs_ratio, ratio, capsys, needle)
    pending(exercises.check_macs_ratio, None, capsys, "尚未回答")
    assert exercises.conv_macs(6, 16, 5, (14, 14)) == 16 * 10 * 10 * 6 * 25  # notebook 05's formula


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
    assert exercises.check_not_additive(X, torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    assert "✓" in capsys.readouterr().out
    rejected(lambda fn: exercises.check_not_additive(X, X), None, capsys, "没有打破可加性")
    rejected(lambda fn: exercises.check_not_additive(X, torch.zeros(2, 2)), None, capsys, "没有打破可加性")
    rejected(lambda fn: exercises.check_not_additive(X, 2 * X), None, capsys, "同一个窗口里的不同位置")
    pending(lambda fn: exercises.check_not_additive(None, None), None, capsys, "尚未回答")
    rejected(lambda fn: exercises.check_not_additive(X, torch.ones(3, 3)), None, capsys, "形状相同")
