"""Reference 2D pooling: a readable loop over output positions that gives exactly PyTorch's results.

`pool2d` pools every channel of every batch item at once, one output position at a time, the way the
lecture's from-scratch function does. `trace` explains one (H, W) plane window by window; every number
a learner sees (notebook checks, widget frames, the GIFs in Images/) comes from these two functions.
"""

from typing import NamedTuple

import torch

MODES = ("max", "avg")


# ----------------------------------------------------------------------------------------------------
# Parameters: normalise and validate, with messages that say what was wrong and how to fix it
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

    def arguments(self):
        """These settings as nn.MaxPool2d / nn.AvgPool2d keyword arguments: sizes, then non-defaults."""
        args = [f"kernel_size={size_text(self.kernel)}", f"stride={size_text(self.stride)}",
                f"padding={size_text(self.padding)}"]
        if self.dilation != (1, 1):
            args.append(f"dilation={size_text(self.dilation)}")
        if self.ceil_mode:
            args.append("ceil_mode=True")
        if self.mode == "avg" and not self.count_include_pad:
            args.append("count_include_pad=False")
        if self.divisor_override is not None:
            args.append(f"divisor_override={self.divisor_override}")
        return args


def size_text(pair):
    """(2, 2) -> '2', (2, 3) -> '(2, 3)': a size as you would pass it to PyTorch."""
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(name, value, minimum, example):
    """An int or a pair of ints, each >= minimum, as a (height, width) tuple."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise TypeError(
            f"{name}={value!r}: {name} must be an int or a pair of ints (height, width). "
            f"Fix: use e.g. {name}={example} or {name}=({example}, {example})."
        )
    if min(pair) < minimum:
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{name}={value!r}: every {name} must be {rule} (>= {minimum}). "
            f"Fix: use e.g. {name}={example}."
        )
    return pair


def _bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(
            f"{name}={value!r}: {name} must be True or False. Fix: use {name}=True or {name}=False."
        )
    return value


def make_params(
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    mode="max",
    count_include_pad=True,
    divisor_override=None,
):
    """Validate the pooling parameters (everything that does not depend on the input) and normalise them."""
    if mode not in MODES:
        raise ValueError(
            f"mode={mode!r}: unknown pooling mode; the modes are 'max' and 'avg'. "
            "Fix: use mode='max' or mode='avg' (min pooling is -pool2d(-X, ..., mode='max'))."
        )
    kernel = _pair("kernel_size", kernel_size, 1, 2)
    # PyTorch's default stride is the kernel size: windows that touch but do not overlap.
    stride = kernel if stride is None else _pair("stride", stride, 1, 2)
    padding = _pair("padding", padding, 0, 1)
    dilation = _pair("dilation", dilation, 1, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
        limit = tuple(k // 2 for k in kernel)
        raise ValueError(
            f"padding={padding}: too large for kernel_size={kernel}. PyTorch requires "
            f"padding <= kernel_size // 2 on each axis (here at most {limit}), so that every window "
            f"touches the input. Fix: use padding <= {limit}, or a larger kernel_size."
        )
    if mode == "avg" and dilation != (1, 1):
        raise ValueError(
            f"dilation={dilation}: average pooling has no dilation (nn.AvgPool2d takes no dilation "
            "argument). Fix: use dilation=1 with mode='avg', or mode='max'."
        )
    if divisor_override is not None:
        if mode != "avg":
            raise ValueError(
                f"divisor_override={divisor_override!r}: only average pooling divides. "
                "Fix: use mode='avg', or leave divisor_override=None."
            )
        if not _is_int(divisor_override):
            raise TypeError(
                f"divisor_override={divisor_override!r}: must be an int or None. "
                "Fix: e.g. divisor_override=1 (sum pooling) or None (divide by the window size)."
            )
        if divisor_override == 0:
            raise ValueError(
                "divisor_override=0: every window sum would be divided by zero. "
                "Fix: use a non-zero int (1 gives sum pooling) or None (divide by the window size)."
            )
    return Params(
        kernel,
        stride,
        padding,
        dilation,
        _bool("ceil_mode", ceil_mode),
        mode,
        _bool("count_include_pad", count_include_pad),
        divisor_override,
    )


# ----------------------------------------------------------------------------------------------------
# Output size and window geometry
# ----------------------------------------------------------------------------------------------------


def _axis_size(size, k, s, p, d, ceil_mode):
    """PyTorch's output size along one axis: floor((size + 2p - d(k-1) - 1) / s) + 1, or ceil."""
    extent = d * (k - 1) + 1
    n = (size + 2 * p - extent + (s - 1 if ceil_mode else 0)) // s + 1
    # In ceil mode the last window must START inside the input or the left padding.
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1
    return n


def _output_hw(input_hw, params):
    hw = tuple(
        _axis_size(size, k, s, p, d, params.ceil_mode)
        for size, k, s, p, d in zip(
            input_hw, params.kernel, params.stride, params.padding, params.dilation, strict=True
        )
    )
    if min(hw) < 1:
        extent = tuple(d * (k - 1) + 1 for k, d in zip(params.kernel, params.dilation, strict=True))
        padded = tuple(n + 2 * p for n, p in zip(input_hw, params.padding, strict=True))
        raise ValueError(
            f"kernel_size={params.kernel}: the window does not fit. The window spans "
            f"{extent[0]}x{extent[1]} cells (dilation*(kernel_size-1)+1) but the padded input is only "
            f"{padded[0]}x{padded[1]} (input {input_hw[0]}x{input_hw[1]}, padding={params.padding}), so "
            f"the output would be {hw[0]}x{hw[1]}. Fix: use a smaller kernel_size or dilation, or a "
            "larger input."
        )
    return hw


def output_shape(input_hw, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(H_out, W_out) of pooling an input of size input_hw = (H, W), exactly as PyTorch computes it."""
    hw = tuple(input_hw) if isinstance(input_hw, (tuple, list)) else None
    if hw is None or len(hw) != 2 or not all(_is_int(n) and n >= 1 for n in hw):
        raise ValueError(
            f"input_hw={input_hw!r}: must be a pair of positive ints (H, W). Fix: e.g. input_hw=(4, 4)."
        )
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode)
    return _output_hw(hw, params)


def _axis_taps(out_index, size, k, s, p, d):
    """Positions of one axis of a window, each with its kind: 'input', 'padding' or 'overhang'."""
    start = out_index * s - p
    taps = []
    for a in range(k):
        pos = start + a * d
        kind = "input" if 0 <= pos < size else "padding" if pos < size + p else "overhang"
        taps.append((pos, kind))
    return taps


def _cell_kind(row_kind, col_kind):
    """Overhang (beyond the padding, ceil_mode only) beats padding, which beats input."""
    for kind in ("overhang", "padding"):
        if kind in (row_kind, col_kind):
            return kind
    return "input"


class Window(NamedTuple):
    """One window: its output position, its row and column taps, and the first tap >= 0 on each axis."""

    out_row: int
    out_col: int
    row_taps: list
    col_taps: list

    def cells(self):
        """Every (row, col, kind) of the window, in row-major order."""
        return [(r, c, _cell_kind(rk, ck)) for r, rk in self.row_taps for c, ck in self.col_taps]

    def input_rows(self):
        return [r for r, kind in self.row_taps if kind == "input"]

    def input_cols(self):
        return [c for c, kind in self.col_taps if kind == "input"]

    def counted(self):
        """How many cells count_include_pad=True divides by: input and padding, never the overhang."""
        rows = sum(kind != "overhang" for _, kind in self.row_taps)
        cols = sum(kind != "overhang" for _, kind in self.col_taps)
        return rows * cols


def windows(input_hw, params):
    """All windows in row-major order of their output position."""
    out_h, out_w = _output_hw(input_hw, params)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params.kernel, params.stride, params.padding, params.dilation
    return [
        Window(i, j, _axis_taps(i, input_hw[0], kh, sh, ph, dh), _axis_taps(j, input_hw[1], kw, sw, pw, dw))
        for i in range(out_h)
        for j in range(out_w)
    ]


# ----------------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------------


def _check_input(X, params, return_indices=False):
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            f"X must be a torch.Tensor, got {type(X).__name__}. "
            "Fix: X = torch.tensor(X, dtype=torch.float32)."
        )
    if X.dim() not in (2, 3, 4) or X.numel() == 0:
        raise ValueError(
            f"X has shape {tuple(X.shape)}: expected a non-empty (H, W), (C, H, W) or (N, C, H, W) "
            "tensor. Fix: reshape it, e.g. X.reshape(1, 1, H, W) for one image plane."
        )
    if X.dtype == torch.bool or X.is_complex():
        raise TypeError(f"X has dtype {X.dtype}: pooling needs real numbers. Fix: X = X.float().")
    if params.mode == "avg" and not X.is_floating_point():
        raise TypeError(
            f"X has dtype {X.dtype}: average pooling of integers truncates every mean in PyTorch "
            "([[1, 2], [2, 2]] averages to 1, not 1.75). Fix: convert first, X = X.float()."
        )
    if return_indices and params.mode != "max":
        raise ValueError(
            "return_indices=True: only max pooling picks one input cell per window. "
            "Fix: use mode='max', or return_indices=False."
        )


def _lowest(dtype):
    """What a window holds before any tap is read: -inf (the lowest integer for integer inputs)."""
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


def _window_max(values):
    """Max of each row of values (planes, taps), scanning taps in order the way PyTorch's kernel does:
    a tap takes over when it is larger than the current maximum OR is NaN. So among equal maxima the
    FIRST one wins, and with several NaNs the LAST NaN wins. Returns (maxima, tap positions)."""
    taps = values.shape[-1]
    is_nan = values.isnan()
    last_nan = taps - 1 - is_nan.flip(-1).to(torch.uint8).argmax(-1)
    first_max = values.argmax(-1)  # torch.argmax returns the first of equal maxima
    position = torch.where(is_nan.any(-1), last_nan, first_max)
    return values.gather(-1, position[:, None])[:, 0], position


def _window_sum(values):
    """Sum of each row of values (planes, taps), added tap by tap in PyTorch's order and precision."""
    acc_dtype = torch.float32 if values.dtype in (torch.float16, torch.bfloat16) else values.dtype
    total = torch.zeros(values.shape[0], dtype=acc_dtype)
    for t in range(values.shape[-1]):
        total = total + values[:, t]
    return total


def _divisor(window, params):
    """What an average-pooling window sum is divided by."""
    if params.divisor_override is not None:
        return params.divisor_override
    if params.count_include_pad:
        return window.counted()  # padding counts; the ceil_mode overhang never does
    return len(window.input_rows()) * len(window.input_cols())


def _pool_window(planes, window, params):
    """Pool one window over all planes (P, H, W) at once: (values, flat input indices or None)."""
    rows, cols = window.input_rows(), window.input_cols()
    dh, dw = params.dilation
    if rows and cols:  # the input cells form a strided slice: rows and columns step by the dilation
        values = planes[:, rows[0]:rows[-1] + 1:dh, cols[0]:cols[-1] + 1:dw]
    else:
        values = planes[:, :0, :0]  # a window of padding only
    values = values.reshape(planes.shape[0], -1)  # input cells, row-major
    width = planes.shape[-1]
    if params.mode == "avg":
        # PyTorch adds each mean to a zeroed output, so 0 / -n gives +0.0, not -0.0: "+ 0.0" does the same.
        return (_window_sum(values) / _divisor(window, params) + 0.0).to(planes.dtype), None
    if values.shape[-1] == 0:
        # A window of padding only (possible with dilation): PyTorch returns its -inf (the dtype's
        # lowest value for integers) and an index built from the first tap >= 0 on each axis.
        lowest = _lowest(planes.dtype)
        first_row = next(r for r, _ in window.row_taps if r >= 0)
        first_col = next(c for c, _ in window.col_taps if c >= 0)
        index = torch.full((planes.shape[0],), first_row * width + first_col)
        return torch.full((planes.shape[0],), lowest, dtype=planes.dtype), index
    maxima, position = _window_max(values)
    row = rows[0] + position // len(cols) * dh
    col = cols[0] + position % len(cols) * dw
    return maxima, row * width + col


def pool2d(
    X,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    mode="max",
    count_include_pad=True,
    divisor_override=None,
    return_indices=False,
):
    """2D max or average pooling of X (H, W), (C, H, W) or (N, C, H, W), equal to F.max_pool2d /
    F.avg_pool2d. Each channel is pooled on its own. With return_indices=True (max only) also returns
    each maximum's flat index into its unpadded H x W plane."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    _check_input(X, params, return_indices)
    H, W = X.shape[-2:]
    planes = X.reshape(-1, H, W)  # every channel of every image, pooled independently
    out_h, out_w = _output_hw((H, W), params)
    Y = torch.empty(planes.shape[0], out_h, out_w, dtype=X.dtype)
    indices = torch.empty(planes.shape[0], out_h, out_w, dtype=torch.int64)
    for window in windows((H, W), params):
        result, index = _pool_window(planes, window, params)
        Y[:, window.out_row, window.out_col] = result
        if index is not None:
            indices[:, window.out_row, window.out_col] = index
    shape = (*X.shape[:-2], out_h, out_w)
    if return_indices:
        return Y.reshape(shape), indices.reshape(shape)
    return Y.reshape(shape)


# ----------------------------------------------------------------------------------------------------
# Trace: one record per output cell, for explanations, widgets and images
# ----------------------------------------------------------------------------------------------------


class Cell(NamedTuple):
    """One position of a window, in input coordinates (negative or >= H/W outside the input)."""

    row: int
    col: int
    kind: str  # "input", "padding", or "overhang" (beyond the padding; ceil_mode only, never counted)
    value: float | None  # what it contributes: the input value; -inf (max) or 0 (avg) for padding; None


class Step(NamedTuple):
    """How one output cell is computed."""

    out_row: int
    out_col: int
    cells: tuple  # every Cell of the window, row-major (dilation skips the holes between them)
    values: tuple  # the values read: input and padding cells, row-major
    result: float
    argmax: tuple | None  # (row, col) of the winning input cell (max); None for avg
    index: int | None  # PyTorch's flat index (return_indices=True) for max; None for avg
    divisor: int | None  # what the sum is divided by (avg); None for max
    formula: str  # the arithmetic of this step, e.g. "max(-∞, 0, 1, 4) = 4" or "(0 + 1 + 3 + 4) / 4 = 2"


def fmt(value):
    """A number as a learner reads it: 4.0 -> '4', -inf -> '-∞', 1/3 -> '0.3333'."""
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def _formula(mode, values, result, divisor):
    if mode == "max":
        return f"max({', '.join(fmt(v) for v in values)}) = {fmt(result)}"
    # "0 - 1 + 3", not "0 + -1 + 3"; a negative divisor_override in parentheses: "/ (-2)"
    total = fmt(values[0]) + "".join(
        f" - {fmt(-v)}" if fmt(v).startswith("-") else f" + {fmt(v)}" for v in values[1:])
    shown_total = f"({total})" if len(values) > 1 else total  # one value: "24 / 1", not "(24) / 1"
    shown_divisor = f"({divisor})" if divisor < 0 else f"{divisor}"
    return f"{shown_total} / {shown_divisor} = {fmt(result)}"


def trace(
    X,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    mode="max",
    count_include_pad=True,
    divisor_override=None,
):
    """Pool one (H, W) plane and return one Step per output cell, row-major."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    _check_input(X, params)
    if X.dim() != 2:
        raise ValueError(
            f"X has shape {tuple(X.shape)}: trace explains one (H, W) plane. "
            "Fix: pass one channel, e.g. X[0] for (C, H, W) or X[0, 0] for (N, C, H, W)."
        )
    H, W = X.shape
    grid = X.tolist()
    pad_value = float("-inf") if mode == "max" else 0.0
    steps = []
    for window in windows((H, W), params):
        result, index = _pool_window(X[None], window, params)
        result = result.item()
        cells = tuple(
            Cell(r, c, kind, grid[r][c] if kind == "input" else pad_value if kind == "padding" else None)
            for r, c, kind in window.cells()
        )
        values = tuple(cell.value for cell in cells if cell.value is not None)
        divisor = _divisor(window, params) if mode == "avg" else None
        argmax = None
        if index is not None:
            index = index.item()
            row, col = divmod(index, W)
            if any(cell.kind == "input" for cell in cells):
                argmax = (row, col)
        steps.append(
            Step(window.out_row, window.out_col, cells, values, result, argmax, index, divisor,
                 _formula(mode, values, result, divisor))
        )
    return steps
