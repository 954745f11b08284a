"""Pooling parameters: the table of modes, validation with messages that teach, the output size, and the
arithmetic rules both implementations (reference.py, vectorized.py) follow to match PyTorch bit for bit.

    MODES                 one row per pooling mode: its PyTorch layer, title, padding value, what it accepts
    CODE                  one row per mode: its reference reduction, vectorised reduction and formula
    make_params(...)      validate and normalise pool2d's keyword arguments into a Params
    check_input(X, p)     validate the input tensor against the parameters
    output_shape(hw, ...) PyTorch's output size
    lowest, accumulation_dtype, mean    what a maximum starts from, what sums add in, how a mean is stored
    PoolingError          every refusal: .parameter, .value, .rule, .fix (str() is the whole message)

Adding a mode: a row in MODES, then its three entries of CODE (reference.py, vectorized.py, trace.py).
"""

from typing import NamedTuple

import torch


class Mode(NamedTuple):
    """One pooling mode: what PyTorch calls it and what it does with padding, dtypes and gradients."""

    name: str
    title: str  # as a learner reads it, English (figures) ...
    title_zh: str  # ... and Chinese (the widget shows both)
    layer: str  # torch.nn class
    functional: str  # torch.nn.functional function
    pad_value: float  # what a padding cell contributes to a window
    picks_one: bool  # one input cell wins each window (argmax, return_indices, gradient to one cell)
    divides: bool  # averages: count_include_pad and divisor_override apply
    dilation: bool  # PyTorch's layer takes a dilation argument
    integers: bool  # integer inputs give exact results (averages of integers truncate)


MODES = {
    "max": Mode("max", "Max pooling", "最大池化", "MaxPool2d", "max_pool2d", float("-inf"),
                picks_one=True, divides=False, dilation=True, integers=True),
    "avg": Mode("avg", "Average pooling", "平均池化", "AvgPool2d", "avg_pool2d", 0.0,
                picks_one=False, divides=True, dilation=False, integers=False),
}

# The code of each mode, one row per mode of MODES. Each layer fills its own column where it defines the
# function (@implements), so no layer imports one above it:
COLUMNS = {
    "reduce": "reference",  # (plane, window, params, dtype) -> (result, flat index or None)
    "vectorized": "vectorized",  # (planes, params, out_hw, return_indices) -> (Y, indices or None)
    "formula": "trace",  # (texts, result text, divisor) -> the step's arithmetic as text
}
CODE = {name: {} for name in MODES}


def implements(mode, column):
    """Decorator: the function is `mode`'s entry in `column` (one of COLUMNS) of CODE."""
    if column not in COLUMNS:
        raise KeyError(f"CODE has no column {column!r}; its columns are {list(COLUMNS)}")

    def register(fn):
        CODE[mode][column] = fn
        return fn
    return register


# ----------------------------------------------------------------------------------------------------
# Arithmetic: the rules both pool2d and pool2d_vectorized follow, as PyTorch's CPU kernels do
# ----------------------------------------------------------------------------------------------------


def lowest(dtype):
    """What a running maximum starts from, and a window of padding only returns: -inf (integers: their
    lowest value)."""
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


def accumulation_dtype(dtype):
    """The dtype a window sum is added in: float32 for half precision (float16, bfloat16), else dtype."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def mean(total, divisor):
    """A window's mean as PyTorch stores it: added to a zeroed output, so 0 / -2 is +0.0, not -0.0."""
    return total / divisor + 0.0


# ----------------------------------------------------------------------------------------------------
# Errors: the parameter, the value received, the rule and the fix, as fields (the widget shows them)
# ----------------------------------------------------------------------------------------------------


class PoolingError(Exception):
    """A refused argument. str(err) is 'parameter=value: rule Fix: fix'; the fields are kept apart."""

    def __init__(self, parameter, value, rule, fix, shown=None):
        self.parameter, self.value, self.rule, self.fix = parameter, value, rule, fix
        self.shown = f"{parameter}={value!r}" if shown is None else shown  # how the message names it
        super().__init__(f"{self.shown}: {rule} Fix: {fix}")

    def fields(self):
        """A JSON-able dict for the widget: parameter, value (as text), rule, fix, message."""
        return {"parameter": self.parameter, "value": self.shown, "rule": self.rule, "fix": self.fix,
                "message": str(self)}


class PoolingValueError(PoolingError, ValueError):
    """A value outside the rules (still a ValueError, as callers expect)."""


class PoolingTypeError(PoolingError, TypeError):
    """A value of the wrong type (still a TypeError)."""


# ----------------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------------


class Params(NamedTuple):
    """Normalised pooling parameters: every size is a (height, width) pair."""

    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool
    mode: str
    count_include_pad: bool
    divisor_override: int | None

    @property
    def spec(self):
        """This mode's row of MODES."""
        return MODES[self.mode]

    def arguments(self):
        """These settings as nn.MaxPool2d / nn.AvgPool2d keyword arguments: sizes, then non-defaults."""
        args = [f"kernel_size={size_text(self.kernel)}", f"stride={size_text(self.stride)}",
                f"padding={size_text(self.padding)}"]
        if self.dilation != (1, 1):
            args.append(f"dilation={size_text(self.dilation)}")
        if self.ceil_mode:
            args.append("ceil_mode=True")
        if self.spec.divides and not self.count_include_pad:
            args.append("count_include_pad=False")
        if self.divisor_override is not None:
            args.append(f"divisor_override={self.divisor_override}")
        return args

    def pytorch(self):
        """The nn module call with these settings, e.g. 'nn.MaxPool2d(kernel_size=2, stride=2, padding=0)'."""
        return f"nn.{self.spec.layer}({', '.join(self.arguments())})"


# pool2d's keyword names, in its order (Params says kernel; pool2d says kernel_size)
KEYWORDS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "mode", "count_include_pad",
            "divisor_override")


def size_text(pair):
    """(2, 2) -> '2', (2, 3) -> '(2, 3)': a size as you would pass it to PyTorch."""
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(name, value, minimum, example):
    """An int or a pair of ints, each >= minimum, as a (height, width) tuple."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        raise PoolingTypeError(name, value, f"{name} must be an int or a pair of ints (height, width).",
                               f"use e.g. {name}={example} or {name}=({example}, {example}).")
    if min(pair) < minimum:
        rule = "positive" if minimum == 1 else "non-negative"
        raise PoolingValueError(name, value, f"every {name} must be {rule} (>= {minimum}).",
                                f"use e.g. {name}={example}.")
    return pair


def _bool(name, value):
    if not isinstance(value, bool):
        raise PoolingTypeError(name, value, f"{name} must be True or False.",
                               f"use {name}=True or {name}=False.")
    return value


def _mode(mode):
    if not isinstance(mode, str) or mode not in MODES:
        names = " and ".join(repr(m) for m in MODES)
        raise PoolingValueError("mode", mode, f"unknown pooling mode; the modes are {names}.",
                                "use " + " or ".join(f"mode={m!r}" for m in MODES)
                                + " (min pooling is -pool2d(-X, ..., mode='max')).")
    return MODES[mode]


def _divisor_override(value, spec):
    if value is None:
        return None
    if not spec.divides:
        raise PoolingValueError("divisor_override", value, "only average pooling divides.",
                                "use mode='avg', or leave divisor_override=None.")
    if not is_int(value):
        raise PoolingTypeError("divisor_override", value, "must be an int or None.",
                               "e.g. divisor_override=1 (sum pooling) or None (divide by the window size).")
    if value == 0:
        raise PoolingValueError("divisor_override", value, "every window sum would be divided by zero.",
                                "use a non-zero int (1 gives sum pooling) or None "
                                "(divide by the window size).")
    return value


def make_params(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
                count_include_pad=True, divisor_override=None):
    """Validate the pooling parameters (everything that does not depend on the input) and normalise them."""
    spec = _mode(mode)
    kernel = _pair("kernel_size", kernel_size, 1, 2)
    # PyTorch's default stride is the kernel size: windows that touch but do not overlap.
    stride = kernel if stride is None else _pair("stride", stride, 1, 2)
    padding = _pair("padding", padding, 0, 1)
    dilation = _pair("dilation", dilation, 1, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
        limit = tuple(k // 2 for k in kernel)
        raise PoolingValueError(
            "padding", padding,
            f"too large for kernel_size={kernel}. PyTorch requires padding <= kernel_size // 2 on each axis "
            f"(here at most {limit}), so that every window touches the input.",
            f"use padding <= {limit}, or a larger kernel_size.", shown=f"padding={padding}")
    if not spec.dilation and dilation != (1, 1):
        raise PoolingValueError(
            "dilation", dilation,
            f"{spec.title.lower()} has no dilation (nn.{spec.layer} takes no dilation argument).",
            f"use dilation=1 with mode={spec.name!r}, or mode='max'.", shown=f"dilation={dilation}")
    return Params(kernel, stride, padding, dilation, _bool("ceil_mode", ceil_mode), spec.name,
                  _bool("count_include_pad", count_include_pad), _divisor_override(divisor_override, spec))


def check_input(X, params, return_indices=False):
    """Refuse an input pool2d cannot pool with these parameters."""
    if not isinstance(X, torch.Tensor):
        raise PoolingTypeError("X", X, f"X must be a torch.Tensor, got {type(X).__name__}.",
                               "X = torch.tensor(X, dtype=torch.float32).", shown="X")
    shown = f"X has shape {tuple(X.shape)}"
    if X.dim() not in (2, 3, 4) or X.numel() == 0:
        raise PoolingValueError("X", tuple(X.shape), "expected a non-empty (H, W), (C, H, W) or (N, C, H, W) "
                                "tensor.", "reshape it, e.g. X.reshape(1, 1, H, W) for one image plane.",
                                shown=shown)
    shown = f"X has dtype {X.dtype}"
    if X.dtype == torch.bool or X.is_complex():
        raise PoolingTypeError("X", X.dtype, "pooling needs real numbers.", "X = X.float().", shown=shown)
    spec = params.spec
    if not spec.integers and not X.is_floating_point():
        raise PoolingTypeError("X", X.dtype, f"{spec.title.lower()} of integers truncates every mean in "
                               "PyTorch ([[1, 2], [2, 2]] averages to 1, not 1.75).",
                               "convert first, X = X.float().", shown=shown)
    if return_indices and not spec.picks_one:
        raise PoolingValueError("return_indices", True, "only max pooling picks one input cell per window.",
                                "use mode='max', or return_indices=False.")


# ----------------------------------------------------------------------------------------------------
# Output size
# ----------------------------------------------------------------------------------------------------


class AxisSize(NamedTuple):
    """PyTorch's output size along one axis, and the numbers of its formula."""

    size: int  # H (or W)
    k: int
    s: int
    p: int
    d: int
    ceil_mode: bool
    raw: int  # floor (or ceil) ((size + 2p - d(k-1) - 1) / s) + 1
    out: int  # raw, minus one when ceil_mode's last window would start in the right padding


def axis_size(size, k, s, p, d, ceil_mode):
    """One axis of output_shape: floor((size + 2p - d(k-1) - 1) / s) + 1, or ceil."""
    top = size + 2 * p - d * (k - 1) - 1
    raw = (-(-top // s) if ceil_mode else top // s) + 1
    # In ceil mode the last window must START inside the input or the left padding.
    out = raw - 1 if ceil_mode and (raw - 1) * s >= size + p else raw
    return AxisSize(size, k, s, p, d, ceil_mode, raw, out)


def axis_sizes(input_hw, params):
    """(height, width) AxisSize pair; refuses a window that does not fit."""
    axes = tuple(axis_size(n, k, s, p, d, params.ceil_mode) for n, k, s, p, d in zip(
        input_hw, params.kernel, params.stride, params.padding, params.dilation, strict=True))
    hw = tuple(a.out for a in axes)
    if min(hw) < 1:
        extent = tuple(d * (k - 1) + 1 for k, d in zip(params.kernel, params.dilation, strict=True))
        padded = tuple(n + 2 * p for n, p in zip(input_hw, params.padding, strict=True))
        raise PoolingValueError(
            "kernel_size", params.kernel,
            f"the window does not fit. The window spans {extent[0]}x{extent[1]} cells "
            f"(dilation*(kernel_size-1)+1) but the padded input is only {padded[0]}x{padded[1]} (input "
            f"{input_hw[0]}x{input_hw[1]}, padding={params.padding}), "
            f"so the output would be {hw[0]}x{hw[1]}.",
            "use a smaller kernel_size or dilation, or a larger input.", shown=f"kernel_size={params.kernel}")
    return axes


def output_hw(input_hw, params):
    return tuple(a.out for a in axis_sizes(input_hw, params))


def output_shape(input_hw, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(H_out, W_out) of pooling an input of size input_hw = (H, W), exactly as PyTorch computes it."""
    hw = tuple(input_hw) if isinstance(input_hw, (tuple, list)) else None
    if hw is None or len(hw) != 2 or not all(is_int(n) and n >= 1 for n in hw):
        raise PoolingValueError("input_hw", input_hw, "must be a pair of positive ints (H, W).",
                                "e.g. input_hw=(4, 4).")
    return output_hw(hw, make_params(kernel_size, stride, padding, dilation, ceil_mode))
