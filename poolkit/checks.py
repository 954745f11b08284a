"""The one self-check runtime behind every check a notebook prints.

Two kinds of check share it:

    check_close(actual, expected, what)   a claim of the lesson: prints ✓, or raises AssertionError with
                                          the difference (a wrong claim must stop Run All)
    attempt / report / run / as_number / compare / explains / passed / failed / todo
                                          the parts of an exercise's self-check (poolkit.exercises): whatever
                                          the learner's function returns or raises, it prints one of three
                                          symbols, never a traceback:
                                          ✓ right · ✗ wrong, with the reason · ☐ not done yet

One convention for the learner: an exercise's starting code is a function whose body is
`raise NotImplementedError`; until the learner replaces it, the check prints ☐ (not done is not wrong).
One tolerance policy: floats are equal within RTOL/ATOL, everything else (ints, bools, shapes) exactly.
Feedback is Chinese with the English term beside it.
"""

import contextlib
import inspect
import numbers
import unittest.mock
from typing import NamedTuple

import numpy as np
import torch

from .trace import fmt

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


def _values(value):
    """Nested lists of numbers as text, each number written by trace.fmt: [[4.0, inf]] -> '[[4, ∞]]'."""
    if isinstance(value, list):
        return "[" + ", ".join(_values(v) for v in value) + "]"
    return fmt(value) if isinstance(value, float) else str(value)


def show(t):
    """A value as short text: a small tensor's values, a large one's shape."""
    if not torch.is_tensor(t):
        return repr(t)
    if t.numel() == 0:
        return f"空张量 (empty tensor)，形状 {tuple(t.shape)}"
    if t.numel() <= 36:
        values = (t.squeeze() if t.dim() > 2 else t).tolist()
        return _values(values)
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


class Unusable(Exception):
    """The learner's answer cannot be called the way the exercise calls it; args: (message,)."""


OPERATORS = {"__gt__": ">", "__ge__": ">=", "__lt__": "<", "__le__": "<="}  # torch.Tensor's comparisons


def _display_name(owner, name):
    if name in OPERATORS:
        return f"比较运算 {OPERATORS[name]}（torch.Tensor.{name}）"
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


def text(value, limit=80):
    """repr(value), cut to limit characters; never raises (a learner's object may break its own repr)."""
    try:
        shown = repr(value)
    except Exception:  # noqa: BLE001  (any repr may fail; the message must not)
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"


def kind(value):
    """What a value is, for a message: 'None', "str '1/4'", '形状 (2,) 的张量 (torch.Tensor)'."""
    if torch.is_tensor(value):
        return f"形状 {tuple(value.shape)} 的张量 (torch.Tensor)"
    if isinstance(value, np.ndarray):
        return f"形状 {value.shape} 的数组 (numpy.ndarray)"
    return "None" if value is None else f"{type(value).__name__} {text(value, 40)}"


def as_number(value):
    """value as a Python int or float if it is one real number (Python, NumPy, or a one-element tensor or
    array of a real dtype), else None: None, bool, complex, str, tuples and several numbers are not one."""
    if torch.is_tensor(value):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            return None
        value = value.item()
    elif isinstance(value, (np.ndarray, np.generic)):
        if value.size != 1 or value.dtype.kind not in "iuf":
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return int(value) if isinstance(value, numbers.Integral) else float(value)


class Outcome(NamedTuple):
    """What one call of the learner's function gave: its value, or the exception it raised."""
    value: object = None
    error: BaseException | None = None


def _unusable(fn, args):
    """Why fn cannot be called as fn(*args), or '' (it can, or its signature is not known)."""
    if not callable(fn):
        return f"应传入一个函数，但传入的是 {kind(fn)}。"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: the call itself will tell
        return ""
    try:
        signature.bind(*args)
    except TypeError as err:
        name = getattr(fn, "__name__", "这个函数")
        return f"检查用 {len(args)} 个参数调用它，但 {name}{signature} 接受不了（{err}）。"
    return ""


def attempt(fn, args=(), refuse=()):
    """Call the learner's fn(*args) with the functions of refuse ruled out. Never raises (only an interrupt
    passes): returns Outcome(value) or Outcome(error=the exception)."""
    problem = _unusable(fn, args)
    if problem:
        return Outcome(error=Unusable(problem))
    for functions, advice in refuse:  # the answer is itself a refused function: max_via_relu = torch.maximum
        for owner, name in functions:
            if fn is getattr(owner, name, None):
                return Outcome(error=Refused(_display_name(owner, name), advice))
    try:
        with refusing(refuse):
            return Outcome(fn(*args))
    except (Exception, SystemExit) as err:  # noqa: BLE001  (whatever the learner's code raises is a message)
        return Outcome(error=err)


def _str(err):
    """str(err), or its class name if its __str__ fails."""
    try:
        return str(err)
    except Exception:  # noqa: BLE001
        return type(err).__name__


def report(what, outcome, describe=""):
    """Print ☐ (still NotImplementedError) or ✗ and why for an outcome that raised; return False."""
    err = outcome.error
    if isinstance(err, NotImplementedError):
        return todo(what)
    if isinstance(err, Refused):
        name, advice = err.args
        return failed(what, f"用到了 {name}。{advice}")
    if isinstance(err, Unusable):
        return failed(what, err.args[0])
    on = f"在输入 {describe} 上" if describe else ""  # the learner's code raised: say where, no traceback
    message = _str(err)[:300]
    return failed(what, f"{on}抛出了 {type(err).__name__}" + (f": {message}" if message else "。"))


def run(fn, what, args=(), describe="", refuse=()):
    """Call the learner's fn(*args) with the functions of refuse ruled out.

    Returns (True, result), or (False, None) after printing ☐ (still NotImplementedError) or ✗ and why."""
    outcome = attempt(fn, args, refuse)
    if outcome.error is None:
        return True, outcome.value
    return report(what, outcome, describe), None


def tensor_problem(got):
    """Why the learner's got is not a real CPU tensor, or ''."""
    if not torch.is_tensor(got):
        return f"应返回 torch.Tensor，但返回了 {kind(got)}"
    if got.is_complex():
        return f"应返回实数张量，但 dtype 是 {got.dtype}"
    if got.layout != torch.strided or got.device.type != "cpu":
        return f"应返回 CPU 上的普通张量，但这个是 {got.layout}、{got.device}"
    return ""


WRONG_SHAPE = "形状不对 (wrong shape)"


def unlike(got, want):
    """Why the learner's got cannot be compared with the tensor want (tensor_problem, WRONG_SHAPE), or ''."""
    return tensor_problem(got) or (WRONG_SHAPE if got.shape != want.shape else "")


def same(got, want, exact=False):
    """True if the learner's got is a tensor equal to want (see close); False for anything else."""
    return not unlike(got, want) and close(got.detach(), want, exact)


def compare(what, got, want, describe, X=None, hint="", exact=False):
    """True if the learner's tensor got equals want; otherwise print ✗ with where it differs, the hint and
    the case (small inputs and outputs shown in full), and return False."""
    problem = unlike(got, want)
    if problem == WRONG_SHAPE:
        return failed(what, f"{problem}：输入 {describe}，应得到 {tuple(want.shape)}，"
                            f"你的函数给出 {tuple(got.shape)}。{hint}")
    if problem:
        return failed(what, f"{problem}（输入 {describe}）。")
    if same(got, want, exact):
        return True
    got = got.detach().to(want.dtype)
    diff = (got - want).abs()
    diff[diff.isnan()] = float("inf")
    where = tuple(int(i) for i in (diff == diff.max()).nonzero()[0])
    lines = [f"数值不对 (wrong values)：输入 {describe}。{hint}".rstrip(),
             f"  差得最多的位置 {where}：应为 {want[where].item():.4g}，"
             f"你的函数给出 {got[where].item():.4g}。"]
    if X is not None and X.numel() <= 36:
        lines.append(f"  输入      X = {show(X)}")
    if want.numel() <= 36:
        lines += [f"  应得到    {show(want)}", f"  你的结果  {show(got)}"]
    return failed(what, "\n".join(lines))


def explains(mistake, cases, outcomes):
    """True if mistake(*case) is what the learner's function returned on every case. A hint names a mistake
    only then: one input alone may not tell that mistake from others (a returned `a` equals min(a, b) when
    a < b); all the cases together do."""
    return all(outcome.error is None and same(outcome.value, mistake(*case))
               for case, outcome in zip(cases, outcomes, strict=True))
