"""Bad input gets a clear error: the parameter, the value received, the rule, and the fix."""

import pytest
import torch

from poolkit import output_shape, pool2d, trace

X = torch.arange(16.0).reshape(1, 4, 4)

CASES = [
    # (call, error type, words the message must contain: parameter, value, rule, fix)
    (lambda: pool2d([[1.0, 2.0]], 2), TypeError, ["X must be a torch.Tensor", "list", "Fix", "torch.tensor"]),
    (lambda: pool2d(torch.ones(5), 2), ValueError, ["X has shape (5,)", "(N, C, H, W)", "Fix", "reshape"]),
    (lambda: pool2d(torch.ones(1, 1, 1, 4, 4), 2), ValueError, ["(1, 1, 1, 4, 4)", "Fix"]),
    (lambda: pool2d(torch.ones(0, 4), 2), ValueError, ["non-empty", "Fix"]),
    (lambda: pool2d(X, 0), ValueError, ["kernel_size=0", "positive", "Fix"]),
    (lambda: pool2d(X, (2, -1)), ValueError, ["kernel_size=(2, -1)", "positive", "Fix"]),
    (lambda: pool2d(X, 2.5), TypeError, ["kernel_size=2.5", "int", "Fix"]),
    (lambda: pool2d(X, (2, 2, 2)), TypeError, ["kernel_size=(2, 2, 2)", "pair", "Fix"]),
    (lambda: pool2d(X, True), TypeError, ["kernel_size=True", "int", "Fix"]),
    (lambda: pool2d(X, 2, stride=0), ValueError, ["stride=0", "positive", "Fix"]),
    (lambda: pool2d(X, 2, stride="2"), TypeError, ["stride='2'", "int", "Fix"]),
    (lambda: pool2d(X, 2, dilation=0), ValueError, ["dilation=0", "positive", "Fix"]),
    (lambda: pool2d(X, 2, padding=-1), ValueError, ["padding=-1", "non-negative", "Fix"]),
    (lambda: pool2d(X, 3, padding=2), ValueError,
     ["padding=(2, 2)", "kernel_size=(3, 3)", "padding <= kernel_size // 2", "at most (1, 1)", "Fix"]),
    (lambda: pool2d(X, 5), ValueError, ["kernel_size=(5, 5)", "does not fit", "4x4", "0x0", "Fix"]),
    (lambda: pool2d(X, 2, dilation=4), ValueError, ["does not fit", "dilation", "Fix"]),
    (lambda: pool2d(X, 2, dilation=2, mode="avg"), ValueError,
     ["dilation=(2, 2)", "average pooling has no dilation", "Fix"]),
    (lambda: pool2d(X, 2, mode="avg", divisor_override=0), ValueError,
     ["divisor_override=0", "divided by zero", "Fix"]),
    (lambda: pool2d(X, 2, mode="avg", divisor_override=1.5), TypeError, ["divisor_override=1.5", "Fix"]),
    (lambda: pool2d(X, 2, divisor_override=2), ValueError, ["divisor_override=2", "mode='avg'", "Fix"]),
    (lambda: pool2d(X, 2, mode="min"), ValueError, ["mode='min'", "'max'", "'avg'", "Fix"]),
    (lambda: pool2d(X.long(), 2, mode="avg"), TypeError,
     ["torch.int64", "truncates", "Fix", "X.float()"]),
    (lambda: pool2d(X > 3, 2), TypeError, ["torch.bool", "Fix", "X.float()"]),
    (lambda: pool2d(X, 2, mode="avg", return_indices=True), ValueError,
     ["return_indices=True", "max pooling", "Fix"]),
    (lambda: pool2d(X, 2, ceil_mode="yes"), TypeError,
     ["ceil_mode='yes'", "True or False", "Fix: use ceil_mode=True"]),
    (lambda: output_shape((0, 4), 2), ValueError, ["input_hw=(0, 4)", "positive", "Fix"]),
    (lambda: output_shape(4, 2), ValueError, ["input_hw=4", "pair", "Fix"]),
    (lambda: output_shape((3, 3), 4), ValueError, ["does not fit", "Fix"]),
    (lambda: output_shape((3, 3), 2, padding=2), ValueError, ["padding=(2, 2)", "Fix"]),
    (lambda: trace(X, 2), ValueError, ["(1, 4, 4)", "one (H, W) plane", "Fix", "X[0]"]),
    (lambda: trace(X[0], 2, stride=0), ValueError, ["stride=0", "Fix"]),
    (lambda: trace(X[0].int(), 2, mode="avg"), TypeError, ["torch.int32", "X.float()"]),
]


@pytest.mark.parametrize("call, error, words", CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_input_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}: {message}"
