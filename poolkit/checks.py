"""The checks a notebook prints: check_close after every claim (passes loudly or fails with the difference),
and self_check around an exercise's self-check (a wrong answer prints ✗ and why, never a traceback)."""

import ast
import contextlib
import inspect
import textwrap
import unittest.mock

import torch
import torch.nn.functional as F
from torch import nn

from .reference import pool2d


def check_close(actual, expected, what="result", exact=True):
    """Assert actual == expected (shape, dtype, values; NaN equals NaN) and print one line saying so.

    Returns None, so a notebook cell ending with it shows only the printed line.

    exact=False allows float rounding (torch.testing.assert_close's default tolerances)."""
    expected = torch.as_tensor(expected, dtype=actual.dtype) if not torch.is_tensor(expected) else expected
    tol = {"rtol": 0, "atol": 0} if exact else {}
    try:
        torch.testing.assert_close(actual, expected, equal_nan=True, **tol)
    except AssertionError as err:
        raise AssertionError(f"{what}: does not match.\n{err}") from None
    print(f"✓ {what}: {'equal' if exact else 'close'} (shape {tuple(actual.shape)})")


@contextlib.contextmanager
def self_check(what):
    """Run an exercise's self-check: a wrong answer, or an error in the learner's code, prints ✗ and why.

    A learner never gets a traceback from a self-check: an AssertionError prints its message, any other
    exception prints its type and message (the call that raised is named by the check's messages)."""
    try:
        yield
    except AssertionError as err:  # a check_close labelled "exercise 1: ..." already names the exercise
        print(f"✗ {err}" if str(err).startswith(what) else f"✗ {what}: {err}")
    except Exception as err:  # the learner's own code raised: say so instead of a traceback
        print(f"✗ {what}: your code raised {type(err).__name__}: {err}")


# ----------------------------------------------------------------------------------------------------
# The exercise self-checks of notebooks 01-04. The notebook cell is one line, check_x(learner_fn), so its
# source gives nothing away; expected values appear only in the feedback on a wrong answer.
# An untouched exercise prints "exercise N: not done yet" (no ✗), a wrong answer ✗ and why, a right one ✓.
# ----------------------------------------------------------------------------------------------------

LECTURE_X = torch.arange(9.0).reshape(3, 3)  # the lecture's 3x3 example [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def _not_done(what):
    print(f"{what}: not done yet")


def seeded_randn(*shape, seed):
    """A seeded random tensor that leaves the global random state alone (for self-checks)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@contextlib.contextmanager
def refusing(functions, error):
    """Within the block, calling any (owner, name) of functions raises error(owner, name) instead.

    A self-check uses it to rule out a shortcut the exercise forbids (autograd, a built-in max, ...). Each
    name is patched where the learner's code looks it up (torch.X, F.X, tensor.X(), a > b)."""
    def refuse(owner, name):
        def refused(*args, **kwargs):
            raise error(owner, name)
        return refused

    with contextlib.ExitStack() as stack:
        for owner, name in functions:
            stack.enter_context(unittest.mock.patch.object(owner, name, refuse(owner, name)))
        yield


def _show(t):
    """A tensor as short text: its values if small, otherwise its shape."""
    if torch.is_tensor(t) and t.numel() == 0:
        return f"an empty tensor of shape {tuple(t.shape)}"
    if torch.is_tensor(t) and t.numel() <= 16:
        return str(torch.round(t.float(), decimals=4).tolist())
    return f"a tensor of shape {tuple(t.shape)}" if torch.is_tensor(t) else repr(t)


def _expect(got, want, call, exact=True):
    """Assert that the learner's result got equals want; the message names the call and both results."""
    if not torch.is_tensor(got):
        raise AssertionError(f"{call} returned {type(got).__name__}, not a tensor")
    if got.shape != want.shape:
        raise AssertionError(f"{call} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    got = got.to(want.dtype)
    same = torch.equal(got, want) if exact else torch.allclose(got, want, rtol=1e-5, atol=1e-6)
    if not same:
        if want.numel() <= 16:
            raise AssertionError(f"{call} should be {_show(want)}, got {_show(got)}")
        where = tuple(int(i) for i in torch.unravel_index((got - want).abs().argmax(), want.shape))
        wrong = (got != want).sum().item()
        raise AssertionError(f"{call}: {wrong} of {want.numel()} values differ; at {where} expected "
                             f"{want[where].item():.4g}, got {got[where].item():.4g}")


def check_min_pool2d(min_pool2d, what="exercise 1"):
    """Notebook 01: min_pool2d(X, pool_size) is the minimum of every window, stride 1."""
    with self_check(what):
        if min_pool2d(LECTURE_X, (2, 2)) is None:
            return _not_done(what)
        cases = [("the lecture's X", LECTURE_X, (2, 2)),
                 ("a random 5x6 X", seeded_randn(5, 6, seed=1), (2, 3)),
                 ("a random 4x5 X", seeded_randn(4, 5, seed=2), (3, 1))]
        for name, X, size in cases:
            _expect(min_pool2d(X, size), -pool2d(-X, size, stride=1), f"min_pool2d(X, {size}) on {name}")
        print(f"✓ {what}: min_pool2d gives the minimum of every window on {len(cases)} inputs")


def check_pool2d_checked(pool2d_checked, what="exercise 2"):
    """Notebook 01: pool2d_checked pools like pool2d while the window fits and raises ValueError otherwise."""
    X = LECTURE_X
    with self_check(what):
        if pool2d_checked(X, (2, 2)) is None:
            return _not_done(what)
        for size in [(2, 2), (3, 3)]:
            try:
                got = pool2d_checked(X, size)
            except ValueError as err:
                raise AssertionError(f"pool2d_checked(X, {size}) raised ValueError, but a "
                                     f"{size[0]}x{size[1]} window fits in the 3x3 X (p_h <= 3 and p_w <= 3 "
                                     f"is allowed). Your message was: {err}") from None
            _expect(got, pool2d(X, size, stride=1), f"pool2d_checked(X, {size})")
        for size in [(4, 4), (5, 5), (2, 4), (4, 1)]:
            call = f"pool2d_checked(X, {size})"
            try:
                got = pool2d_checked(X, size)
            except ValueError as err:
                if not any(name in str(err) for name in ("pool_size", "p_h", "p_w")):
                    raise AssertionError(f"{call} raised ValueError, but its message does not name the "
                                         f"parameter (pool_size): {err}") from None
                print(f"✓ {call} raised ValueError: {err}")
                continue
            except Exception as err:
                raise AssertionError(f"{call} raised {type(err).__name__} ({err}), but it should raise "
                                     "ValueError with a message that names pool_size") from None
            raise AssertionError(f"{call} returned {_show(got)} instead of raising ValueError: "
                                 f"the {size[0]}x{size[1]} window does not fit in the 3x3 X")
        print(f"✓ {what}: pool2d_checked pools the windows that fit and rejects the four that do not")


def check_pool2d_any(pool2d_any, what="exercise 3"):
    """Notebook 01: pool2d_any accepts pool_size as an int or a pair, for max and avg."""
    with self_check(what):
        if pool2d_any(LECTURE_X, 2) is None:
            return _not_done(what)
        X = seeded_randn(5, 7, seed=3)
        sizes = [2, 3, (2, 3), (3, 1)]
        for size in sizes:
            for mode in ["max", "avg"]:
                _expect(pool2d_any(X, size, mode), pool2d(X, size, stride=1, mode=mode),
                        f"pool2d_any(X, {size}, {mode!r}) on a random 5x7 X", exact=False)
        print(f"✓ {what}: pool2d_any matches poolkit.pool2d for pool_size 2, 3, (2, 3), (3, 1), max and avg")


def check_predict_shape(predict_shape, what="exercise 1"):
    """Notebook 02: predict_shape(H, k, s, p, ceil_mode) is the output height PyTorch gives."""
    with self_check(what):
        if predict_shape(4, 2, 2, 0, False) is None:
            return _not_done(what)
        settings = [(H, k, s, p, ceil_mode) for H in range(1, 13) for k in range(1, 6) for s in range(1, 5)
                    for p in range(k // 2 + 1) for ceil_mode in (False, True) if H + 2 * p >= k]
        for H, k, s, p, ceil_mode in settings:
            got = predict_shape(H, k, s, p, ceil_mode)
            pooled = F.max_pool2d(torch.zeros(1, H, 1), (k, 1), (s, 1), (p, 0), ceil_mode=ceil_mode)
            expected = pooled.shape[1]
            if got != expected:
                raise AssertionError(f"H={H}, k={k}, s={s}, p={p}, ceil_mode={ceil_mode}: got {got}, "
                                     f"PyTorch gives {expected}")
        print(f"✓ {what}: predict_shape equals PyTorch on all {len(settings)} settings")


def check_zero_padding_trap(make_trap, what="exercise 2"):
    """Notebook 02: make_trap() is a 4x4 float tensor with a negative number on which zero padding (k=3,
    p=1, s=2) still gives max pooling's answer."""
    with self_check(what):
        X = make_trap()
        if X is None:
            return _not_done(what)
        if not torch.is_tensor(X):
            raise AssertionError(f"make_trap() returned a {type(X).__name__}, not a tensor. "
                                 "Fix: return torch.tensor([[...], [...], [...], [...]]) "
                                 "with 4 rows of 4 floats")
        if not X.is_floating_point():
            raise AssertionError(f"X_trap has dtype {X.dtype}. Fix: use floats (-1.0, not -1) or .float()")
        if X.shape != (4, 4):
            raise AssertionError(f"X_trap has shape {tuple(X.shape)}; it must be 4x4")
        if not (X < 0).any():
            raise AssertionError("X_trap has no negative number; it needs at least one")
        expected = pool2d(X, 3, stride=2, padding=1)
        got = pool2d(F.pad(X, (1, 1, 1, 1), value=0.0), 3, stride=2)
        if not torch.equal(got, expected):
            raise AssertionError(
                f"zero padding gives {_show(got)} but nn.MaxPool2d gives {_show(expected)}: "
                "this X_trap exposes the bug (well done, but that is the opposite of the task). "
                "Every window that touches the padding needs an input number >= 0")
        check_close(got, expected, f"{what}: zero padding happens to be right on X_trap")


def check_pool_by_reshape(pool_by_reshape, what="exercise 1"):
    """Notebook 03: pool_by_reshape(X, k) max-pools (N, C, H, W) with one F.max_pool2d call on one channel."""
    calls = []
    original = F.max_pool2d

    def spy(inp, *args, **kwargs):
        calls.append(tuple(inp.shape))
        return original(inp, *args, **kwargs)

    with self_check(what):
        for X, k in [(seeded_randn(2, 3, 8, 6, seed=4), 2), (seeded_randn(3, 2, 7, 9, seed=5), 3)]:
            calls.clear()
            with unittest.mock.patch.object(F, "max_pool2d", spy):
                got = pool_by_reshape(X, k)
            if got is None:
                return _not_done(what)
            call = f"pool_by_reshape(X, {k}) on X of shape {tuple(X.shape)}"
            if len(calls) != 1 or calls[0][1] != 1:
                raise AssertionError(f"{call}: call F.max_pool2d once, on a tensor with one channel; "
                                     f"your calls had input shapes {calls}")
            _expect(got, F.max_pool2d(X, k), call)
        print(f"✓ {what}: pool_by_reshape = F.max_pool2d on (2, 3, 8, 6) and (3, 2, 7, 9), "
              "one call on one channel each")


def check_depthwise_avg_conv(avg_pool_as_conv, what="exercise 2"):
    """Notebook 03: avg_pool_as_conv(C, k) returns an nn.Conv2d whose output equals nn.AvgPool2d(k)."""
    with self_check(what):
        for C, k, X in [(3, 8, seeded_randn(2, 3, 32, 24, seed=6)), (2, 2, seeded_randn(1, 2, 5, 7, seed=7))]:
            conv = avg_pool_as_conv(C, k)
            if conv is None:
                return _not_done(what)
            call = f"avg_pool_as_conv({C}, {k})"
            if not isinstance(conv, nn.Conv2d):
                raise AssertionError(f"{call} returned {type(conv).__name__}; "
                                     "the exercise asks for an nn.Conv2d")
            with torch.no_grad():
                got = conv(X)
            want = F.avg_pool2d(X, k)
            if got.shape != want.shape:
                raise AssertionError(f"{call} on X of shape {tuple(X.shape)} gives shape {tuple(got.shape)}, "
                                     f"expected {tuple(want.shape)}: check stride and groups")
            if not torch.allclose(got, want, rtol=1e-5, atol=1e-6):
                raise AssertionError(
                    f"{call}: values differ from nn.AvgPool2d({k}) by up to "
                    f"{(got - want).abs().max().item():.3g}: each output channel must see only its own input "
                    "channel (groups=C), every weight 1/(k*k), no bias")
        print(f"✓ {what}: the depthwise convolution equals nn.AvgPool2d "
              "on 3 channels (k=8) and 2 channels (k=2)")


def check_max_pool_grad(max_pool_grad, what="exercise 1"):
    """Notebook 04: max_pool_grad(X, k, s, p) is the gradient of F.max_pool2d(X, k, s, p).sum(), without
    autograd."""
    no_autograd = [(torch.Tensor, "backward"), (torch.autograd, "grad"), (torch.autograd, "backward")]

    def no_autograd_error(owner, name):
        shown = f"{'torch.Tensor' if owner is torch.Tensor else owner.__name__}.{name}"
        return AssertionError(f"{what}: your code called {shown}; the exercise asks for the gradient without "
                              "autograd (no backward, no torch.autograd)")
    gen = torch.Generator().manual_seed(1)
    with self_check(what):
        if max_pool_grad(torch.zeros(4, 4), 2, 2, 0) is None:
            return _not_done(what)
        settings = [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 0)]
        for k, s, p in settings:
            X = torch.randint(0, 3, (5, 6), generator=gen).float().requires_grad_()  # ties on purpose
            F.max_pool2d(X[None], k, s, p).sum().backward()
            with refusing(no_autograd, no_autograd_error):
                got = max_pool_grad(X.detach(), k, s, p)
            try:
                _expect(got, X.grad, f"max_pool_grad(X, {k}, {s}, {p}) on a 5x6 X with ties")  # counts: exact
            except AssertionError as err:
                raise AssertionError(f"{err}. A cell chosen by several windows gets 1 from each "
                                     "of them") from None
        print(f"✓ {what}: max_pool_grad equals autograd's gradient for (k, s, p) in {settings}, with ties")


# The exercise's starting code (notebook 04, exercise 2): while the learner's function is unchanged, it is
# "not done yet"; once edited, an error is a failure.
_UNPOOL_START = """
def pool_then_unpool(X):
    values, indices = nn.MaxPool2d(2, return_indices=True)(X)
    return nn.MaxUnpool2d(2)(values, indices)
"""


def _unchanged(fn, start):
    """True if fn's source is the code start (comments and blank lines aside)."""
    try:
        return ast.dump(ast.parse(textwrap.dedent(inspect.getsource(fn)))) == ast.dump(ast.parse(start))
    except (OSError, TypeError, SyntaxError):  # no source (exec), or a lambda's line: not the starting code
        return False


def check_pool_then_unpool(pool_then_unpool, what="exercise 2"):
    """Notebook 04: pool_then_unpool(X) keeps every window's maximum in place and zeros elsewhere, for any
    input size."""
    with self_check(what):
        if _unchanged(pool_then_unpool, _UNPOOL_START):
            try:
                pool_then_unpool(seeded_randn(1, 1, 6, 7, seed=2))
            except RuntimeError as err:
                return print(f"{what}: not done yet (the 6x7 input raises: {str(err).splitlines()[0]})")
            return _not_done(what)
        for seed, (H, W) in enumerate([(4, 4), (5, 5), (6, 7)]):
            X = seeded_randn(1, 1, H, W, seed=seed)
            try:
                got = pool_then_unpool(X)
            except Exception as err:
                raise AssertionError(f"{what}: still raises on the {H}x{W} input: {type(err).__name__}: "
                                     f"{str(err).splitlines()[0]}") from None
            _, idx = pool2d(X, 2, return_indices=True)
            kept = torch.zeros(X.numel())
            kept[idx.flatten()] = X.flatten()[idx.flatten()]
            _expect(got, kept.reshape(X.shape), f"pool_then_unpool(X) on a {H}x{W} X")
        print(f"✓ {what}: pool_then_unpool keeps the maxima in place on 4x4, 5x5 and 6x7 inputs")
