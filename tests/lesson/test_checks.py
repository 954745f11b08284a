"""The self-check runtime (poolkit.checks): check_close for the lesson's claims, and attempt / report / run /
as_number / compare / explains / passed / failed / todo / refusing for the exercises' checks: ✓ right, ✗ wrong
with the reason, ☐ not done; one tolerance policy; an exercise check never raises, whatever it is given."""

import sys

import numpy as np
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
    assert "差得最多的位置 (1, 1)：应为 8" in out and "[[4, 5], [7, 8]]" in out
    assert not checks.compare("pool", torch.zeros(3), want, "X", hint="看看步幅。")
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


def test_any_real_number_type_is_one_number():
    for value, number in [(3, 3), (2.5, 2.5), (np.int64(7), 7), (np.float32(0.5), 0.5), (np.array(4), 4),
                          (torch.tensor(6), 6), (torch.tensor([1.5]), 1.5), (float("nan"), float("nan"))]:
        got = checks.as_number(value)
        assert type(got) is type(number) and (got == number or got != got), (value, got)
    for value in [None, True, np.bool_(True), 1j, "3", (1,), [2], torch.tensor([1, 2]), np.zeros(2),
                  torch.tensor(True), torch.tensor(1j), np.array("3")]:
        assert checks.as_number(value) is None, value


def test_attempt_never_raises_and_says_why(capsys):
    class Loud(Exception):
        def __str__(self):
            raise RuntimeError("no text")

    def loud():
        raise Loud

    def stub():
        raise NotImplementedError

    cases = [(stub, "☐", "还没做"),
             (torch.zeros(1), "✗", "应传入一个函数"),
             (lambda x: x, "✗", "检查用 0 个参数调用它"),
             (loud, "✗", "抛出了 Loud"),
             (lambda: sys.exit(3), "✗", "抛出了 SystemExit")]
    for fn, mark, reason in cases:
        outcome = checks.attempt(fn)
        assert outcome.error is not None
        assert checks.report("练习", outcome) is False
        out = capsys.readouterr().out
        assert out.startswith(f"{mark} 练习：") and reason in out, out
    assert checks.attempt(lambda: 5) == checks.Outcome(5)


def test_a_refused_function_given_as_the_answer_is_refused():
    rule = [([(torch, "maximum")], "只用 ReLU。")]
    outcome = checks.attempt(torch.maximum, (torch.ones(1), torch.zeros(1)), rule)
    assert isinstance(outcome.error, checks.Refused) and outcome.error.args[0] == "torch.maximum"


def test_explains_needs_every_case():
    cases = [(torch.tensor([3.0]), torch.tensor([1.0])), (torch.tensor([1.0]), torch.tensor([3.0]))]
    returns_a = [checks.attempt(lambda a, b: a, case) for case in cases]
    assert not checks.explains(torch.minimum, cases, returns_a)  # equals min(a, b) on the second case only
    takes_min = [checks.attempt(torch.minimum, case) for case in cases]
    assert checks.explains(torch.minimum, cases, takes_min)
    assert not checks.explains(torch.minimum, cases, [checks.Outcome(error=ValueError())] * 2)


def test_compare_says_what_is_not_a_plain_tensor(capsys):
    want = torch.zeros(2)
    for got, reason in [(None, "但返回了 None"), (torch.zeros(2) * 1j, "实数张量"),
                        (torch.zeros(2).to_sparse(), "CPU 上的普通张量"), ("ab", "str 'ab'")]:
        assert not checks.compare("pool", got, want, "X")
        assert reason in capsys.readouterr().out
    assert checks.text(object.__new__(type("Bad", (), {"__repr__": lambda self: 1 / 0}))) == "<Bad>"
