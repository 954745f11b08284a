"""The one self-check runtime behind every check a notebook prints.

Two kinds of check share it:

    check_close(actual, expected, what)   a claim of the lesson: prints ✓, or raises AssertionError with
                                          the difference (a wrong claim must stop Run All)
    run / compare / passed / failed / todo / refusing
                                          the parts of an exercise's self-check (poolkit.exercises): it never
                                          raises and prints one of three symbols:
                                          ✓ right · ✗ wrong, with the reason · ☐ not done yet

One convention for the learner: an exercise's starting code is a function whose body is
`raise NotImplementedError`; until the learner replaces it, the check prints ☐ (not done is not wrong).
One tolerance policy: floats are equal within RTOL/ATOL, everything else (ints, bools, shapes) exactly.
Feedback is Chinese with the English term beside it.
"""

import contextlib
import unittest.mock

import torch

RTOL, ATOL = 1e-5, 1e-5  # float32 results computed in a different order (a sum, a mean) differ by ~1e-7


def close(got, want, exact=False):
    """True if the tensors have the same shape and values (NaN equals NaN); floats within RTOL/ATOL."""
    if got.shape != want.shape:
        return False
    got = got.to(want.dtype)
    if not want.is_floating_point():
        return torch.equal(got, want)
    rtol, atol = (0.0, 0.0) if exact else (RTOL, ATOL)
    return bool(torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True).all())


def check_close(actual, expected, what="result", exact=True):
    """Assert actual == expected (shape, dtype, values; NaN equals NaN) and print one ✓ line saying so.

    exact=False allows float rounding (RTOL/ATOL). Returns None, so a cell ending with it shows only the
    printed line. A mismatch raises AssertionError naming what and the difference."""
    expected = expected if torch.is_tensor(expected) else torch.as_tensor(expected, dtype=actual.dtype)
    tol = {"rtol": 0, "atol": 0} if exact else {"rtol": RTOL, "atol": ATOL}
    try:
        torch.testing.assert_close(actual, expected, equal_nan=True, **tol)
    except AssertionError as err:
        raise AssertionError(f"{what}: does not match.\n{err}") from None
    print(f"✓ {what}: {'equal' if exact else 'close'} (shape {tuple(actual.shape)})")


def seeded_randn(*shape, seed):
    """A seeded random tensor that leaves the global random state alone (for self-checks)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _number(value):
    """A number as a learner reads it: 4.0 -> 4.0, 1/3 -> 0.3333, inf -> ∞."""
    if isinstance(value, list):
        return [_number(v) for v in value]
    return float(f"{value:.4g}") if isinstance(value, float) else value


def show(t):
    """A value as short text: a small tensor's values, a large one's shape."""
    if not torch.is_tensor(t):
        return repr(t)
    if t.numel() == 0:
        return f"空张量 (empty tensor)，形状 {tuple(t.shape)}"
    if t.numel() <= 36:
        values = (t.squeeze() if t.dim() > 2 else t).tolist()
        return str(_number(values)).replace("inf", "∞")
    return f"<形状 {tuple(t.shape)} 的张量>"


def passed(what, message):
    print(f"✓ {what}：{message}")
    return True


def failed(what, message):
    print(f"✗ {what}：{message}")
    return False


def todo(what, message="还没做 (not done yet)。把上面单元格里的 raise NotImplementedError 换成你的代码，"
                       "运行它，再运行这个检查。"):
    """Not answered yet: not a failure, so no ✗ (Run All on an untouched notebook shows a list of ☐)."""
    print(f"☐ {what}：{message}")
    return False


class Refused(Exception):
    """The learner's code called a function the exercise rules out; args: (name, advice)."""


_OPERATORS = {"__gt__": ">", "__ge__": ">=", "__lt__": "<", "__le__": "<="}


def _display_name(owner, name):
    if name in _OPERATORS:
        return f"比较运算 {_OPERATORS[name]}（torch.Tensor.{name}）"
    if name == "__abs__":
        return "abs(...)（torch.Tensor.__abs__）"
    return ("torch.Tensor." if owner is torch.Tensor else f"{owner.__name__}.") + name


@contextlib.contextmanager
def refusing(rules):
    """Within the block, calling any function of rules = [(functions, advice), ...] raises Refused naming it
    and its advice. Each (owner, name) is patched where learner code looks it up (torch.X, F.X, tensor.X(),
    a > b); what the reference solutions need (F.relu, F.conv2d) calls torch's C functions and still works."""
    def refuse(owner, name, advice):
        def refused(*args, **kwargs):
            raise Refused(_display_name(owner, name), advice)
        return refused

    with contextlib.ExitStack() as stack:
        for functions, advice in rules:
            for owner, name in functions:
                stack.enter_context(unittest.mock.patch.object(owner, name, refuse(owner, name, advice)))
        yield


def run(fn, what, args=(), describe="", refuse=()):
    """Call the learner's fn(*args) with the functions of refuse ruled out.

    Returns (True, result), or (False, None) after printing ☐ (still NotImplementedError) or ✗ and why."""
    try:
        with refusing(refuse):
            return True, fn(*args)
    except NotImplementedError:
        todo(what)
    except Refused as err:
        name, advice = err.args
        failed(what, f"用到了 {name}。{advice}")
    except Exception as err:  # the learner's code raised: say where, without a traceback
        on = f"在输入 {describe} 上" if describe else ""
        failed(what, f"{on}抛出了 {type(err).__name__}: {err}")
    return False, None


def compare(what, got, want, describe, X=None, hint=None, exact=False):
    """True if the learner's tensor got equals want; otherwise print ✗ with where it differs, hint(got, want)
    and the case (small inputs and outputs shown in full), and return False."""
    hint = hint or (lambda got, want: "")
    if not torch.is_tensor(got):
        return failed(what, f"应返回 torch.Tensor，但返回了 {type(got).__name__}（输入 {describe}）。")
    if got.shape != want.shape:
        return failed(what, f"形状不对 (wrong shape)：输入 {describe}，应得到 {tuple(want.shape)}，"
                            f"你的函数给出 {tuple(got.shape)}。{hint(got, want)}")
    got = got.to(want.dtype)
    if close(got, want, exact):
        return True
    diff = (got - want).abs()
    diff[diff.isnan()] = float("inf")
    where = tuple(int(i) for i in (diff == diff.max()).nonzero()[0])
    lines = [f"数值不对 (wrong values)：输入 {describe}。{hint(got, want)}".rstrip(),
             f"  差得最多的位置 {where}：应为 {want[where].item():.4g}，"
             f"你的函数给出 {got[where].item():.4g}。"]
    if X is not None and X.numel() <= 36:
        lines.append(f"  输入      X = {show(X)}")
    if want.numel() <= 36:
        lines += [f"  应得到    {show(want)}", f"  你的结果  {show(got)}"]
    return failed(what, "\n".join(lines))
