"""Reference 2D pooling: a readable loop over output positions that gives exactly PyTorch's results.

`pool2d` pools every channel of every batch item at once, one output position at a time, the way the
lecture's from-scratch function does. `trace` explains one (H, W) plane window by window; every number
a learner sees (notebook checks, widget frames, the GIFs in Images/) comes from these two functions.
Parameters, their validation and the output size live in poolkit.params.
"""

from typing import NamedTuple

import torch

from .params import (  # noqa: F401  (re-exported: callers import them from here)
    MODES,
    Params,
    PoolingError,
    PoolingValueError,
    check_input,
    make_params,
    output_hw,
    output_shape,
    size_text,
)

# ----------------------------------------------------------------------------------------------------
# Windows: where each one reads
# ----------------------------------------------------------------------------------------------------


def _axis_taps(out_index, size, k, s, p, d):
    """Positions of one axis of a window, each with its kind: 'input', 'padding' or 'overhang'."""
    start = out_index * s - p
    taps = []
    for a in range(k):
        pos = start + a * d
        kind = "input" if 0 <= pos < size else "padding" if pos < size + p else "overhang"
        taps.append((pos, kind))
    return taps


_RANK = {"input": 0, "padding": 1, "overhang": 2}
_KINDS = ("input", "padding", "overhang")


def _cell_kind(row_kind, col_kind):
    """Overhang (beyond the padding, ceil_mode only) beats padding, which beats input."""
    return _KINDS[max(_RANK[row_kind], _RANK[col_kind])]


class Window(NamedTuple):
    """One window: its output position and its row and column taps (position, kind)."""

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
    out_h, out_w = output_hw(input_hw, params)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params.kernel, params.stride, params.padding, params.dilation
    rows = [_axis_taps(i, input_hw[0], kh, sh, ph, dh) for i in range(out_h)]
    cols = [_axis_taps(j, input_hw[1], kw, sw, pw, dw) for j in range(out_w)]
    return [Window(i, j, rows[i], cols[j]) for i in range(out_h) for j in range(out_w)]


def divisor(window, params):
    """What an average-pooling window sum is divided by."""
    if params.divisor_override is not None:
        return params.divisor_override
    if params.count_include_pad:
        return window.counted()  # padding counts; the ceil_mode overhang never does
    return len(window.input_rows()) * len(window.input_cols())


# ----------------------------------------------------------------------------------------------------
# Pooling: one reduction per mode (the table REDUCE), applied window by window
# ----------------------------------------------------------------------------------------------------


def lowest(dtype):
    """What a window holds before any tap is read: -inf (the lowest integer for integer inputs)."""
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


def _window_values(planes, window, params):
    """The input cells of one window for all planes (P, H, W), row-major: (P, taps)."""
    rows, cols = window.input_rows(), window.input_cols()
    dh, dw = params.dilation
    if not (rows and cols):
        return planes[:, :0, :0].reshape(planes.shape[0], 0)  # a window of padding only
    # the input cells form a strided slice: rows and columns step by the dilation
    return planes[:, rows[0]:rows[-1] + 1:dh, cols[0]:cols[-1] + 1:dw].reshape(planes.shape[0], -1)


def _max(planes, window, params):
    """Scan the taps in order like PyTorch's kernel: a tap takes over when it is larger than the current
    maximum OR is NaN. So among equal maxima the FIRST wins; with several NaNs the LAST NaN wins.
    Returns (maxima, flat indices into each unpadded plane)."""
    values, width = _window_values(planes, window, params), planes.shape[-1]
    if values.shape[-1] == 0:
        # padding only (possible with dilation): PyTorch returns its -inf and the first tap >= 0
        first_row = next(r for r, _ in window.row_taps if r >= 0)
        first_col = next(c for c, _ in window.col_taps if c >= 0)
        index = torch.full((planes.shape[0],), first_row * width + first_col)
        return torch.full((planes.shape[0],), lowest(planes.dtype), dtype=planes.dtype), index
    is_nan = values.isnan()
    last_nan = values.shape[-1] - 1 - is_nan.flip(-1).to(torch.uint8).argmax(-1)
    position = torch.where(is_nan.any(-1), last_nan, values.argmax(-1))  # argmax: the first of equals
    rows, cols, (dh, dw) = window.input_rows(), window.input_cols(), params.dilation
    index = (rows[0] + position // len(cols) * dh) * width + cols[0] + position % len(cols) * dw
    return values.gather(-1, position[:, None])[:, 0], index


def _avg(planes, window, params):
    """Add the taps one by one in PyTorch's order and precision, then divide. (values, None)"""
    values = _window_values(planes, window, params)
    acc_dtype = torch.float32 if values.dtype in (torch.float16, torch.bfloat16) else values.dtype
    total = torch.zeros(values.shape[0], dtype=acc_dtype)
    for t in range(values.shape[-1]):
        total = total + values[:, t]
    # PyTorch adds each mean to a zeroed output, so 0 / -n gives +0.0, not -0.0: "+ 0.0" does the same.
    return (total / divisor(window, params) + 0.0).to(planes.dtype), None


REDUCE = {"max": _max, "avg": _avg}  # one entry per row of poolkit.params.MODES


def pool2d(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
           count_include_pad=True, divisor_override=None, return_indices=False):
    """2D max or average pooling of X (H, W), (C, H, W) or (N, C, H, W), equal to F.max_pool2d /
    F.avg_pool2d. Each channel is pooled on its own. With return_indices=True (max only) also returns
    each maximum's flat index into its unpadded H x W plane."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    check_input(X, params, return_indices)
    H, W = X.shape[-2:]
    planes = X.reshape(-1, H, W)  # every channel of every image, pooled independently
    out_h, out_w = output_hw((H, W), params)
    Y = torch.empty(planes.shape[0], out_h, out_w, dtype=X.dtype)
    indices = torch.empty(planes.shape[0], out_h, out_w, dtype=torch.int64)
    for window in windows((H, W), params):
        result, index = REDUCE[params.mode](planes, window, params)
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


def _max_formula(texts, result, divisor):
    return f"max({', '.join(texts)}) = {result}"


def _avg_formula(texts, result, divisor):
    # "0 - 1 + 3", not "0 + -1 + 3"; a negative divisor_override in parentheses: "/ (-2)"
    total = texts[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}" for t in texts[1:])
    shown_total = f"({total})" if len(texts) > 1 else total  # one value: "24 / 1", not "(24) / 1"
    shown_divisor = f"({divisor})" if divisor < 0 else f"{divisor}"
    return f"{shown_total} / {shown_divisor} = {result}"


FORMULA = {"max": _max_formula, "avg": _avg_formula}  # one entry per row of poolkit.params.MODES


def trace(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
          count_include_pad=True, divisor_override=None):
    """Pool one (H, W) plane and return one Step per output cell, row-major."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    check_input(X, params)
    if X.dim() != 2:
        raise PoolingValueError("X", tuple(X.shape), "trace explains one (H, W) plane.",
                                "pass one channel, e.g. X[0] for (C, H, W) or X[0, 0] for (N, C, H, W).",
                                shown=f"X has shape {tuple(X.shape)}")
    return steps_of(tabulate(X[None], params), 0)


class Table(NamedTuple):
    """The trace of every plane of a (P, H, W) tensor, as columns: the windows' geometry once per axis,
    the numbers once per plane. `steps_of` turns one plane into Steps; the widget reads it directly."""

    params: Params
    input_hw: tuple
    out_hw: tuple
    row_taps: list  # row_taps[i]: (input row, kind) of every tap of output row i's windows
    col_taps: list
    divisors: list | None  # divisors[i][j] (modes that divide), else None
    grids: list  # grids[p]: the input values, nested lists
    texts: list  # texts[p]: fmt of every input value
    results: list  # results[p][i][j]
    result_texts: list  # fmt of every result
    indices: list | None  # indices[p][i][j]: flat index of the winner (modes that pick one), else None

    def kinds(self, i, j):
        """(row, col, kind) of every cell of window (i, j), row-major."""
        return [(r, c, _cell_kind(rk, ck)) for r, rk in self.row_taps[i] for c, ck in self.col_taps[j]]

    def formula(self, p, i, j):
        """The arithmetic of window (i, j) of plane p, e.g. 'max(-∞, 0, 1, 4) = 4'."""
        texts, pad = self.texts[p], fmt(self.params.spec.pad_value)
        terms = [texts[r][c] if rk == ck == "input" else pad  # overhang cells are not read at all
                 for r, rk in self.row_taps[i] if rk != "overhang"
                 for c, ck in self.col_taps[j] if ck != "overhang"]
        d = self.divisors[i][j] if self.divisors is not None else None
        return FORMULA[self.params.mode](terms, self.result_texts[p][i][j], d)


def tabulate(planes, params):
    """The Table of planes (P, H, W), whose input is already checked. The numbers come from
    pool2d_vectorized (one tensor operation per kernel tap instead of several per window), which gives
    pool2d's results bit for bit."""
    from .vectorized import pool2d_vectorized  # it builds on this module

    spec, (H, W) = params.spec, tuple(planes.shape[-2:])
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params.kernel, params.stride, params.padding, params.dilation
    out_h, out_w = output_hw((H, W), params)
    rows = [_axis_taps(i, H, kh, sh, ph, dh) for i in range(out_h)]
    cols = [_axis_taps(j, W, kw, sw, pw, dw) for j in range(out_w)]
    pooled = pool2d_vectorized(planes, **params.keywords(), return_indices=spec.picks_one)
    Y, index = pooled if spec.picks_one else (pooled, None)
    divisors = None
    if spec.divides:
        divisors = [[divisor(Window(i, j, rows[i], cols[j]), params) for j in range(out_w)]
                    for i in range(out_h)]
    grids = planes.tolist()
    texts = [[[fmt(v) for v in row] for row in grid] for grid in grids]
    results = Y.tolist()
    result_texts = [[[fmt(v) for v in row] for row in plane] for plane in results]
    return Table(params, (H, W), (out_h, out_w), rows, cols, divisors, grids, texts, results, result_texts,
                 index.tolist() if index is not None else None)


def steps_of(table, p):
    """Plane p of a Table as one Step per output cell, row-major."""
    pad, grid, W = table.params.spec.pad_value, table.grids[p], table.input_hw[1]
    steps = []
    for i in range(table.out_hw[0]):
        for j in range(table.out_hw[1]):
            kinds = table.kinds(i, j)
            cells = tuple(Cell(r, c, kind, grid[r][c] if kind == "input" else
                               pad if kind == "padding" else None) for r, c, kind in kinds)
            flat = table.indices[p][i][j] if table.indices is not None else None
            has_input = any(kind == "input" for _, _, kind in kinds)
            argmax = divmod(flat, W) if flat is not None and has_input else None
            d = table.divisors[i][j] if table.divisors is not None else None
            steps.append(Step(i, j, cells, tuple(c.value for c in cells if c.value is not None),
                              table.results[p][i][j], argmax, flat, d, table.formula(p, i, j)))
    return steps
