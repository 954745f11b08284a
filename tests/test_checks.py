"""The one-line exercise checks of notebooks 01-04: an untouched exercise prints "not done yet" (no ✗), a
right answer ✓, a typical wrong answer ✗ and why; none of them raises."""

import importlib
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from poolkit import checks

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def pool2d(X, pool_size, mode="max"):
    """The lecture's pool2d, as notebook 01 defines it."""
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i: i + p_h, j: j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y


def run(check, fn):
    """The lines a check prints for fn; it must not raise."""
    from contextlib import redirect_stdout
    from io import StringIO
    out = StringIO()
    with redirect_stdout(out):
        assert check(fn) is None  # a cell ending in the check shows no stray value
    return out.getvalue().splitlines()


def stub(*args, **kwargs):
    return None


def raises(*args, **kwargs):
    raise IndexError("index 3 is out of bounds")


# (check, right answer, [(typical wrong answer, words its ✗ line must contain), ...])
CASES = {
    "01 ex1 min_pool2d": (
        checks.check_min_pool2d,
        lambda X, size: -pool2d(-X, size),
        [(lambda X, size: pool2d(X, size), "should be [[0.0, 1.0], [3.0, 4.0]]"),
         (lambda X, size: -pool2d(X, size), "should be"),
         (lambda X, size: torch.stack([-pool2d(-X, size)]), "has shape (1, 2, 2), expected (2, 2)"),
         (raises, "your code raised IndexError")]),
    "01 ex2 pool2d_checked": (
        checks.check_pool2d_checked,
        lambda X, size, mode="max": (pool2d(X, size, mode) if size[0] <= X.shape[0] and size[1] <= X.shape[1]
                                     else (_ for _ in ()).throw(ValueError(f"pool_size={size} too big"))),
        [(lambda X, size, mode="max": pool2d(X, size, mode),
          "returned an empty tensor of shape (0, 0) instead of raising"),
         (lambda X, size, mode="max": (pool2d(X, size, mode) if size[0] < 3 and size[1] < 3
                                       else (_ for _ in ()).throw(ValueError(f"pool_size={size} too big"))),
          "but a 3x3 window fits"),
         (lambda X, size, mode="max": (pool2d(X, size, mode) if size[0] <= 3
                                       else (_ for _ in ()).throw(ValueError(f"pool_size={size} too big"))),
          "(2, 4)) returned an empty tensor of shape (2, 0)"),
         (lambda X, size, mode="max": (pool2d(X, size, mode) if max(size) <= 3
                                       else (_ for _ in ()).throw(ValueError("window too big"))),
          "does not name the parameter")]),
    "01 ex3 pool2d_any": (
        checks.check_pool2d_any,
        lambda X, size, mode="max": pool2d(X, (size, size) if isinstance(size, int) else size, mode),
        [(lambda X, size, mode="max": pool2d(X, (size, 1) if isinstance(size, int) else size, mode),
          "pool2d_any(X, 2, 'max')"),
         (lambda X, size, mode="max": pool2d(X, (size, size) if isinstance(size, int) else size[::-1], mode),
          "pool2d_any(X, (2, 3), 'max')")]),
    "02 ex1 predict_shape": (
        checks.check_predict_shape,
        lambda H, k, s, p, ceil: ((-(-(H + 2 * p - k) // s) if ceil else (H + 2 * p - k) // s) + 1
                                  - (ceil and -(-(H + 2 * p - k) // s) * s >= H + p)),
        [(lambda H, k, s, p, ceil: (-(-(H + 2 * p - k) // s) if ceil else (H + 2 * p - k) // s) + 1,
          "ceil_mode=True: got 2, PyTorch gives 1"),
         (lambda H, k, s, p, ceil: (H + 2 * p - k) // s + 1, "ceil_mode=True")]),
    "02 ex2 make_trap": (
        checks.check_zero_padding_trap,
        lambda: torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, -1]]),
        [(lambda: -torch.arange(16.0).reshape(4, 4) - 1, "this X_trap exposes the bug"),
         (lambda: torch.arange(16.0).reshape(4, 4), "has no negative number"),
         (lambda: torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, -1]]), "dtype"),
         (lambda: [[0.0] * 4] * 4, "not a tensor")]),
    "03 ex1 pool_by_reshape": (
        checks.check_pool_by_reshape,
        lambda X, k: F.max_pool2d(X.reshape(-1, 1, *X.shape[2:]), k).reshape(*X.shape[:2], *[n // k for n in
                                                                                         X.shape[2:]]),
        [(lambda X, k: F.max_pool2d(X, k), "call F.max_pool2d once, on a tensor with one channel"),
         (lambda X, k: F.max_pool2d(X.transpose(0, 1).reshape(-1, 1, *X.shape[2:]), k)
          .reshape(*X.shape[:2], *[n // k for n in X.shape[2:]]), "expected"),
         (lambda X, k: torch.stack([F.max_pool2d(X[:, c:c + 1], k)[:, 0] for c in range(X.shape[1])], 1),
          "your calls had input shapes")]),
    "03 ex2 avg_pool_as_conv": (
        checks.check_depthwise_avg_conv,
        lambda C, k: _conv(C, k, groups=C, weight=1 / k**2, stride=k),
        [(lambda C, k: _conv(C, k, groups=1, weight=1 / k**2, stride=k), "(groups=C)"),
         (lambda C, k: _conv(C, k, groups=C, weight=1.0, stride=k), "values differ"),
         (lambda C, k: _conv(C, k, groups=C, weight=1 / k**2, stride=1), "check stride"),
         (lambda C, k: nn.AvgPool2d(k), "the exercise asks for an nn.Conv2d")]),
    "04 ex1 max_pool_grad": (
        checks.check_max_pool_grad,
        lambda X, k, s, p: _bincount_grad(X, k, s, p),
        [(lambda X, k, s, p: _scatter_grad(X, k, s, p), "max_pool_grad(X, 3, 1, 1)"),
         (lambda X, k, s, p: _autograd_grad(X, k, s, p), "without autograd")]),
    "04 ex2 pool_then_unpool": (
        checks.check_pool_then_unpool,
        lambda X: nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(X), output_size=X.shape[-2:]),
        [(lambda X: nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(X),
                                      output_size=X.shape[-2:][::-1]),
          "on a 6x7 X has shape (1, 1, 7, 6), expected (1, 1, 6, 7)"),
         (lambda X: nn.MaxUnpool2d(2, stride=2, padding=0)(*nn.MaxPool2d(2, return_indices=True)(X)),
          "still raises on the 5x5 input: RuntimeError: Found an invalid max index"),
         (lambda X: torch.zeros_like(X), "pool_then_unpool(X) on a 4x4 X")]),
}


def _conv(C, k, groups, weight, stride):
    conv = nn.Conv2d(C, C, k, stride=stride, groups=groups, bias=False)
    with torch.no_grad():
        conv.weight.fill_(weight)
    return conv


def _bincount_grad(X, k, s, p):
    _, idx = F.max_pool2d(X[None], k, s, p, return_indices=True)
    return torch.bincount(idx.flatten(), minlength=X.numel()).reshape(X.shape).float()


def _scatter_grad(X, k, s, p):  # a cell chosen by several windows gets 1, not 1 per window
    _, idx = F.max_pool2d(X[None], k, s, p, return_indices=True)
    grad = torch.zeros(X.numel())
    grad[idx.flatten()] = 1.0
    return grad.reshape(X.shape)


def _autograd_grad(X, k, s, p):
    X = X.clone().requires_grad_()
    F.max_pool2d(X[None], k, s, p).sum().backward()
    return X.grad


@pytest.mark.parametrize("name", CASES)
def test_check_says_not_done_right_and_wrong(name):
    check, right, wrongs = CASES[name]
    if name != "04 ex2 pool_then_unpool":  # that exercise starts from buggy code, not from `return None`
        assert run(check, stub) == [f"exercise {name[5]}: not done yet"]
    lines = run(check, right)
    assert lines and lines[-1].startswith(f"✓ exercise {name[5]}: ") and not any("✗" in x for x in lines)
    for wrong, words in wrongs:
        lines = run(check, wrong)
        assert len(lines) == 1 or all(x.startswith("✓ pool2d_checked") for x in lines[:-1]), lines
        assert lines[-1].startswith(f"✗ exercise {name[5]}: ") and words in lines[-1], (words, lines)


def _notebook_cell(notebook, starts):
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    return next("".join(c["source"]) for c in cells if "".join(c["source"]).startswith(starts))


def test_unpool_start_is_not_done_but_an_edited_function_that_raises_is_a_failure(tmp_path, monkeypatch):
    """The check compares the function's source with the exercise's starting code, so it needs a file."""
    start = _notebook_cell("04-vs-nn-maxpool2d.ipynb", "def pool_then_unpool")
    edited = start.replace("(values, indices)", "(values, indices, output_size=X.shape[-2:] + (1,))")
    assert edited != start
    (tmp_path / "start.py").write_text("from torch import nn\n" + start)
    (tmp_path / "edited.py").write_text("from torch import nn\n" + edited)
    monkeypatch.syspath_prepend(tmp_path)
    lines = run(checks.check_pool_then_unpool, importlib.import_module("start").pool_then_unpool)
    assert len(lines) == 1 and lines[0].startswith("exercise 2: not done yet (the 6x7 input raises: "), lines
    lines = run(checks.check_pool_then_unpool, importlib.import_module("edited").pool_then_unpool)
    assert len(lines) == 1, lines
    assert lines[0].startswith("✗ exercise 2: still raises on the 4x4 input: ValueError: "), lines


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    run(checks.check_min_pool2d, CASES["01 ex1 min_pool2d"][1])
    run(checks.check_max_pool_grad, CASES["04 ex1 max_pool_grad"][1])
    assert torch.equal(torch.rand(3), before)


def test_notebook_check_cells_are_one_line():
    """The visible self-check cell names the learner's function and nothing else (no expected values)."""
    expected = {"01-pool2d-from-scratch.ipynb": ["check_min_pool2d(min_pool2d)",
                                                 "check_pool2d_checked(pool2d_checked)",
                                                 "check_pool2d_any(pool2d_any)"],
                "02-padding-and-stride.ipynb": ["check_predict_shape(predict_shape)",
                                                "check_zero_padding_trap(make_trap)"],
                "03-multiple-channels.ipynb": ["check_pool_by_reshape(pool_by_reshape)",
                                               "check_depthwise_avg_conv(avg_pool_as_conv)"],
                "04-vs-nn-maxpool2d.ipynb": ["check_max_pool_grad(max_pool_grad)",
                                             "check_pool_then_unpool(pool_then_unpool)"]}
    for notebook, lines in expected.items():
        cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
        sources = ["".join(c["source"]).strip() for c in cells if c["cell_type"] == "code"]
        assert [s for s in sources if s.startswith("check_")] == lines, notebook
        assert not any("self_check(" in s for s in sources), notebook
