"""Reference 2D pooling: the lecture's loop over output positions, with exactly PyTorch's results.

`pool2d` visits the windows one output position at a time, like the lecture's from-scratch function, and
reduces each window cell by cell, the way PyTorch's CPU kernel does. Every number a learner sees (notebook
checks, widget frames, the GIFs in Images/) comes from here, through poolkit.trace. The parameters, the
output size and the arithmetic rules shared with poolkit.vectorized live in poolkit.params.
"""

from typing import NamedTuple

import numpy as np
import torch

from .params import CODE, accumulation_dtype, check_input, implements, lowest, make_params, mean, output_hw

# ----------------------------------------------------------------------------------------------------
# Windows: where each one reads
# ----------------------------------------------------------------------------------------------------


def axis_taps(out_index, size, k, s, p, d):
    """The positions one axis of a window reads, each with its kind: 'input', 'padding' or 'overhang'."""
    start = out_index * s - p
    taps = []
    for a in range(k):
        pos = start + a * d
        kind = "input" if 0 <= pos < size else "padding" if pos < size + p else "overhang"
        taps.append((pos, kind))
    return taps


def taps(input_hw, params):
    """(rows, cols): rows[i] are the taps of output row i's windows, cols[j] those of output column j."""
    return tuple([axis_taps(i, n, k, s, p, d) for i in range(out)] for out, n, k, s, p, d in zip(
        output_hw(input_hw, params), input_hw, params.kernel, params.stride, params.padding, params.dilation,
        strict=True))


_KINDS = ("input", "padding", "overhang")


def cell_kind(row_kind, col_kind):
    """The kind of a window cell from its row's and column's: overhang beats padding, which beats input."""
    return _KINDS[max(_KINDS.index(row_kind), _KINDS.index(col_kind))]


class Window(NamedTuple):
    """One window: its output position, its row and column taps (position, kind), and the input rows and
    columns among them: it reads the input cells rows x cols."""

    out_row: int
    out_col: int
    row_taps: list
    col_taps: list
    rows: list
    cols: list

    def counted(self):
        """How many cells count_include_pad=True divides by: input and padding, never the overhang."""
        rows = sum(kind != "overhang" for _, kind in self.row_taps)
        cols = sum(kind != "overhang" for _, kind in self.col_taps)
        return rows * cols


def windows(input_hw, params):
    """All windows in row-major order of their output position."""
    row_taps, col_taps = taps(input_hw, params)
    rows, cols = ([[pos for pos, kind in one if kind == "input"] for one in axis]  # the input cells read
                  for axis in (row_taps, col_taps))
    return [Window(i, j, row_taps[i], col_taps[j], rows[i], cols[j])
            for i in range(len(rows)) for j in range(len(cols))]


def divisor(window, params):
    """What an average-pooling window sum is divided by."""
    if params.divisor_override is not None:
        return params.divisor_override
    if params.count_include_pad:
        return window.counted()  # padding counts; the ceil_mode overhang never does
    return len(window.rows) * len(window.cols)


# ----------------------------------------------------------------------------------------------------
# Reductions: one per mode (CODE[mode]["reduce"]), cell by cell in PyTorch's order
# ----------------------------------------------------------------------------------------------------


@implements("max", "reduce")
def _max(plane, window, params, dtype):
    """Scan the input cells row by row like PyTorch's kernel: a cell takes over when it is larger than the
    maximum so far OR is NaN, so among equal maxima the first wins, among NaNs the last.
    Returns (maximum, its flat index into the unpadded plane)."""
    width = len(plane[0])
    # The scan starts at the first tap at or after row 0 and column 0: a window of padding only keeps it.
    row = next(r for r, _ in window.row_taps if r >= 0)
    col = next(c for c, _ in window.col_taps if c >= 0)
    best, index = lowest(dtype), row * width + col
    for r in window.rows:
        for c in window.cols:
            value = plane[r][c]
            if value > best or value != value:  # (value != value: NaN)
                best, index = value, r * width + c
    return best, index


# A NumPy scalar rounds every addition to its precision, as a tensor does; a Python float is always float64.
_ZERO = {torch.float32: np.float32(0), torch.float64: np.float64(0)}


@implements("avg", "reduce")
def _avg(plane, window, params, dtype):
    """Add the input cells one by one in row-major order, in PyTorch's precision, then divide. Padding adds
    nothing: it only counts in the divisor. Returns (mean, None)."""
    total = _ZERO[accumulation_dtype(dtype)]
    for r in window.rows:
        for c in window.cols:
            total = total + plane[r][c]  # (a NumPy scalar plus a Python number stays a NumPy scalar)
    return float(mean(total, divisor(window, params))), None


# ----------------------------------------------------------------------------------------------------
# pool2d
# ----------------------------------------------------------------------------------------------------


def pool2d(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
           count_include_pad=True, divisor_override=None, return_indices=False):
    """2D max or average pooling of X (H, W), (C, H, W) or (N, C, H, W), equal to F.max_pool2d /
    F.avg_pool2d; each channel is pooled on its own. With return_indices=True (max only) also returns
    each maximum's flat index into its unpadded H x W plane."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    check_input(X, params, return_indices)
    H, W = X.shape[-2:]
    Y, indices = pool_planes(X.reshape(-1, H, W), params)  # every channel of every image on its own
    shape = (*X.shape[:-2], *Y.shape[-2:])
    return (Y.reshape(shape), indices.reshape(shape)) if return_indices else Y.reshape(shape)


def pool_planes(planes, params):
    """Pool each (H, W) plane of planes (P, H, W): (Y, flat indices or None for a mode that picks no cell)."""
    grids, input_hw = planes.tolist(), tuple(planes.shape[-2:])
    out_h, out_w = output_hw(input_hw, params)
    reduce = CODE[params.mode]["reduce"]
    results = [[[None] * out_w for _ in range(out_h)] for _ in grids]
    indices = [[[None] * out_w for _ in range(out_h)] for _ in grids]
    for window in windows(input_hw, params):
        i, j = window.out_row, window.out_col
        for p, grid in enumerate(grids):
            results[p][i][j], indices[p][i][j] = reduce(grid, window, params, planes.dtype)
    Y = torch.tensor(results, dtype=planes.dtype)  # (a sum in float32 is rounded to float16 here)
    return Y, torch.tensor(indices) if params.spec.picks_one else None
