"""The self-check runtime (poolkit.checks): check_close for the lesson's claims, and run / compare / passed /
failed / todo / refusing for the exercises' checks: ✓ right, ✗ wrong with the reason, ☐ not done; one
tolerance policy; an exercise check never raises."""

import torch
import torch.nn.functional as F

from poolkit import checks


def test_check_close_passes_loudly_and_fails_with_the_difference(capsys):
    assert checks.check_close(torch.tensor([[4.0, 5.0]]), [[4.0, 5.0]], "known answer") is None
    assert capsys.readouterr().out == "✓ known answer: equal (shape (1, 2))\n"
    try:
        checks.check_close(torch.zeros(2, 2), [[4.0, 5.0], [7.0, 8.0]], "the notes' pool2d")
    except AssertionError as err:
        assert "the notes' pool2d: does not match" in str(err) and "Mismatched elements: 4 / 4" in str(err)
    else:
        raise AssertionError("a wrong claim must raise")


def test_one_tolerance_policy():
    a = torch.tensor([1.0, 2.0])
    assert checks.close(a + 1e-7, a) and not checks.close(a + 1e-3, a)  # floats within RTOL/ATOL
    assert not checks.close(a + 1e-7, a, exact=True)
    assert checks.close(torch.tensor([float("nan")]), torch.tensor([float("nan")]))  # NaN equals NaN
    assert not checks.close(torch.tensor([1, 2]), torch.tensor([1, 3]))  # integers exactly
    assert not checks.close(a, a[None])  # shapes must agree
    checks.check_close(a + 1e-7, a, "rounding", exact=False)  # the same tolerances


def test_run_says_not_done_wrong_or_returns_the_result(capsys):
    def stub(*args):
        raise NotImplementedError

    def broken(X):
        return X[5]

    assert checks.run(stub, "练习 1", (1,)) == (False, None)
    out = capsys.readouterr().out
    assert out.startswith("☐ 练习 1：还没做 (not done yet)") and "✗" not in out
    assert checks.run(broken, "练习 1", (torch.zeros(2),), "X 形状 (2,)") == (False, None)
    out = capsys.readouterr().out
    assert out.startswith("✗ 练习 1：在输入 X 形状 (2,) 上抛出了 IndexError") and "Traceback" not in out
    assert checks.run(lambda x: x + 1, "练习 1", (1,)) == (True, 2)
    assert capsys.readouterr().out == ""


def test_refused_functions_are_named_with_the_advice_and_restored(capsys):
    rule = [([(torch, "maximum"), (torch.Tensor, "__gt__")], "只用 ReLU。")]
    ok, _ = checks.run(lambda a, b: torch.maximum(a, b), "max", (torch.ones(1), torch.zeros(1)), refuse=rule)
    assert not ok and "用到了 torch.maximum。只用 ReLU。" in capsys.readouterr().out
    ok, _ = checks.run(lambda a, b: (a > b) * a, "max", (torch.ones(1), torch.zeros(1)), refuse=rule)
    assert not ok and "比较运算 >" in capsys.readouterr().out
    assert torch.maximum(torch.ones(1), torch.zeros(1)).item() == 1 and bool(torch.ones(1) > 0)  # restored
    args = (torch.ones(1), torch.zeros(1))
    ok, value = checks.run(lambda a, b: F.relu(a - b) + b, "max", args, refuse=rule)
    assert ok and value.item() == 1  # what the exercise allows still works


def test_compare_names_the_case_and_where_it_differs(capsys):
    want = torch.tensor([[4.0, 5.0], [7.0, 8.0]])
    assert checks.compare("pool", want.clone(), want, "the lecture's X")
    assert not checks.compare("pool", torch.zeros(2, 2), want, "the lecture's X", X=torch.arange(9.0))
    out = capsys.readouterr().out
    assert out.startswith("✗ pool：数值不对 (wrong values)：输入 the lecture's X")
    assert "差得最多的位置 (1, 1)：应为 8" in out and "[[4.0, 5.0], [7.0, 8.0]]" in out
    assert not checks.compare("pool", torch.zeros(3), want, "X", hint=lambda got, want: "看看步幅。")
    assert "形状不对 (wrong shape)" in capsys.readouterr().out
    assert not checks.compare("pool", [[4.0]], want, "X")
    assert "应返回 torch.Tensor" in capsys.readouterr().out


def test_show_keeps_messages_short():
    assert checks.show(torch.tensor([[1 / 3, float("inf")]])) == "[[0.3333, ∞]]"
    assert checks.show(torch.zeros(10, 10)) == "<形状 (10, 10) 的张量>"
    assert "空张量" in checks.show(torch.zeros(0, 2))


def test_seeded_randn_leaves_the_global_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    a = checks.seeded_randn(2, 2, seed=1)
    assert torch.equal(torch.rand(3), expected) and torch.equal(a, checks.seeded_randn(2, 2, seed=1))
