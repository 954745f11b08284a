"""The trace: how each output cell is computed, as records a learner can read, from poolkit.reference.

    trace(X, kernel_size, ...)   one Step per output cell of one (H, W) plane (also `poolkit.trace`)
    tabulate(planes, params)     the trace of every plane as a Table: what poolkit.explain builds on
    fmt(value)                   every number as a learner reads it, in formulas, figures and the widget

`poolkit.trace` is the function; import the rest from this module: `from poolkit.trace import fmt`.
"""

import math
from typing import NamedTuple

from .params import CODE, Params, PoolingValueError, check_input, implements, make_params
from .reference import cell_kind, divisor, pool_planes, taps, windows


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


_INFINITIES = (math.inf, -math.inf)


def fmt(value, width=None):
    """A number as a learner reads it: 4.0 -> '4', -inf -> '-∞', 1/3 -> '0.3333' (4 significant digits).
    With width, a longer text is rounded to fit a grid cell: -0.008731 -> '-9e-3', 123456 -> '1e5'."""
    if value != value:
        return "nan"
    if value in _INFINITIES:
        return "∞" if value > 0 else "-∞"
    text = f"{value:.4g}"
    if width is None or len(text) <= width:
        return text
    if abs(value) < 0.01 or abs(value) >= 1e4:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")  # 0.004 -> '4e-3', not '0'
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ----------------------------------------------------------------------------------------------------
# Formulas: one per mode (CODE[mode]["formula"])
# ----------------------------------------------------------------------------------------------------


@implements("max", "formula")
def _max_formula(texts, result, divisor):
    return f"max({', '.join(texts)}) = {result}"


@implements("avg", "formula")
def _avg_formula(texts, result, divisor):
    # "0 - 1 + 3", not "0 + -1 + 3"; a negative divisor_override in parentheses: "/ (-2)"
    total = texts[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}" for t in texts[1:])
    shown_total = f"({total})" if len(texts) > 1 else total  # one value: "24 / 1", not "(24) / 1"
    shown_divisor = f"({divisor})" if divisor < 0 else f"{divisor}"
    return f"{shown_total} / {shown_divisor} = {result}"


# ----------------------------------------------------------------------------------------------------
# The trace of one plane, and of many as a Table
# ----------------------------------------------------------------------------------------------------


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
        return [(r, c, cell_kind(rk, ck)) for r, rk in self.row_taps[i] for c, ck in self.col_taps[j]]

    def formula(self, p, i, j):
        """The arithmetic of window (i, j) of plane p, e.g. 'max(-∞, 0, 1, 4) = 4'."""
        texts, pad = self.texts[p], fmt(self.params.spec.pad_value)
        terms = [texts[r][c] if rk == ck == "input" else pad  # overhang cells are not read at all
                 for r, rk in self.row_taps[i] if rk != "overhang"
                 for c, ck in self.col_taps[j] if ck != "overhang"]
        d = self.divisors[i][j] if self.divisors is not None else None
        return CODE[self.params.mode]["formula"](terms, self.result_texts[p][i][j], d)


def tabulate(planes, params):
    """The Table of planes (P, H, W), an input already checked; its numbers come from poolkit.reference."""
    input_hw = tuple(planes.shape[-2:])
    rows, cols = taps(input_hw, params)
    Y, index = pool_planes(planes, params)
    divisors = None
    if params.spec.divides:  # row by row, like the results
        flat, out_w = [divisor(w, params) for w in windows(input_hw, params)], len(cols)
        divisors = [flat[i:i + out_w] for i in range(0, len(flat), out_w)]
    grids, results = planes.tolist(), Y.tolist()
    texts = [[[fmt(v) for v in row] for row in grid] for grid in grids]
    result_texts = [[[fmt(v) for v in row] for row in plane] for plane in results]
    return Table(params, input_hw, tuple(Y.shape[-2:]), rows, cols, divisors, grids, texts, results,
                 result_texts, index.tolist() if index is not None else None)


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
