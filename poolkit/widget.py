"""The sliding-window widget: watch a pooling window slide over an input, step by step, in JupyterLab.

Python computes everything once per parameter change (`poolkit.trace` per channel, `poolkit.output_shape`)
and syncs it as one JSON-able dict, `state`; the ES module widget.js only draws and plays that state.
Playback runs in the browser and sends nothing to the kernel; only a parameter change comes back here.

    SlidingWindow()                                 the lecture's 3x3 example, 2x2 max pooling
    SlidingWindow(X, kernel_size=3, padding=1)      any (H, W) or (C, H, W) tensor (or nested list)
    SlidingWindow.from_photo(size=16, stride=1)     a downsampled photo that ships with matplotlib
"""

import json
import math
from pathlib import Path

import anywidget
import matplotlib.cbook
import matplotlib.image
import torch
import traitlets

from .reference import fmt, make_params, output_shape, size_text, trace

HERE = Path(__file__).parent
PARAMS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "mode", "count_include_pad",
          "divisor_override")
LECTURE_X = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]  # d2l's pool2d example
KIND = {"input": "i", "padding": "p", "overhang": "o"}


# ----------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------


def photo(size=16, rgb=False):
    """Grace Hopper's portrait (ships with matplotlib, no download) as a size x size tensor in [0, 1].

    Grey (H, W) by default, (3, H, W) with rgb=True; values rounded to 2 decimals so they fit a cell."""
    if not isinstance(size, int) or not 2 <= size <= 64:
        raise ValueError(f"size={size!r}: must be an int from 2 to 64 (readable up to 32). "
                         "Fix: e.g. size=16.")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        image = torch.tensor(matplotlib.image.imread(f, format="jpg"), dtype=torch.float32) / 255
    image = image[40:552, :].permute(2, 0, 1)  # a square 512 x 512 crop around the face, (3, H, W)
    small = torch.nn.functional.adaptive_avg_pool2d(image[None], size)[0]
    if not rgb:
        small = (torch.tensor([0.299, 0.587, 0.114])[:, None, None] * small).sum(0)  # luma
    return (small * 100).round() / 100


def _as_tensor(X):
    """The widget's input as a (C, H, W) tensor; nested lists become float32, tensors keep their dtype."""
    if X is None:
        X = LECTURE_X
    if not isinstance(X, torch.Tensor):
        try:
            X = torch.tensor(X, dtype=torch.float32)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"X={X!r:.60}: cannot be read as a grid of numbers ({err}). "
                "Fix: pass a torch tensor or a nested list like [[0, 1], [2, 3]]."
            ) from None
    if X.dim() not in (2, 3) or X.numel() == 0:
        raise ValueError(
            f"X has shape {tuple(X.shape)}: the widget shows one (H, W) plane or one (C, H, W) image. "
            "Fix: pass e.g. X[0] for an (N, C, H, W) batch, or X.reshape(H, W)."
        )
    return X if X.dim() == 3 else X[None]


# ----------------------------------------------------------------------------------------------------
# Words and numbers shown in the widget
# ----------------------------------------------------------------------------------------------------


def short(value):
    """A number that fits a grid cell (at most ~4 characters): 4.0 -> '4', 0.5333 -> '0.53'."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "-∞" if value < 0 else "∞"
    if value == int(value) and abs(value) < 1e4:
        return str(int(value))
    if abs(value) < 0.01 or abs(value) >= 1e4:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")  # 0.004 -> '4e-3', not '0'
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


CELL_CHARS = 7  # the longest number a grid cell shows as the formula does (-0.2404; the browser widens cells)


def cell_text(value):
    """What a grid cell shows: the formula's own text (poolkit's fmt, 4 significant digits) when it has at
    most CELL_CHARS characters, so a cell and the step's formula read the same (1.111 in both); a longer
    number is rounded to fit (short) and the tooltip gives the full value."""
    full = fmt(value)
    return full if len(full) <= CELL_CHARS else short(value)


def pytorch_line(p):
    """The nn module call with the same settings, e.g. 'nn.MaxPool2d(kernel_size=2, stride=2, padding=0)'."""
    layer = "MaxPool2d" if p.mode == "max" else "AvgPool2d"
    return f"nn.{layer}({', '.join(p.arguments())})"


def shape_formula(input_hw, p, out_hw):
    """One line per axis: PyTorch's output-size formula, then the same with this widget's numbers."""
    lines = []
    for axis, n, k, s, pad, d, out in zip("HW", input_hw, p.kernel, p.stride, p.padding, p.dilation, out_hw,
                                          strict=True):
        num = n + 2 * pad - d * (k - 1) - 1
        lo, hi = ("⌈", "⌉") if p.ceil_mode else ("⌊", "⌋")
        raw = (-(-num // s) if p.ceil_mode else num // s) + 1
        line = (f"{axis}_out = {lo}({axis} + 2p − d·(k−1) − 1) / s{hi} + 1 = "
                f"{lo}({n} + 2·{pad} − {d}·({k}−1) − 1) / {s}{hi} + 1 = {raw}")
        if raw != out:
            start = (raw - 1) * s - pad  # in input coordinates; PyTorch's rule: (out-1)*s >= H + p
            line += (f" → {out}: ceil_mode drops the last window: it would start at {start} ≥ {axis} ({n}), "
                     "in the right padding (a window must start inside the input or the left padding)")
        lines.append(line)
    return lines


def step_note(step, p):
    """Why this step's arithmetic looks the way it does (the same for every channel)."""
    kinds = [cell.kind for cell in step.cells]
    n_in, n_pad, n_over = kinds.count("input"), kinds.count("padding"), kinds.count("overhang")
    notes = []
    if p.mode == "avg":
        counted = f"{n_in} input cell{'s' * (n_in != 1)}"
        if p.divisor_override is not None:
            notes.append(f"÷ {step.divisor}: divisor_override={p.divisor_override} replaces the usual divisor"
                         + (" (1 turns the average into a sum)" if p.divisor_override == 1 else ""))
        elif p.count_include_pad and n_pad:
            notes.append(f"÷ {step.divisor} = {counted} + {n_pad} padding zeros "
                         "(count_include_pad=True counts the padding)")
        elif n_pad:
            notes.append(f"÷ {step.divisor} = the {counted} only "
                         f"(count_include_pad=False leaves out the {n_pad} padding cells)")
        else:
            notes.append(f"÷ {step.divisor} = the {counted} of the window")
        if n_over:
            notes.append(f"the {n_over} ceil_mode overhang cells (beyond the padding) never count, "
                         "not even with count_include_pad=True")
    else:
        if n_in == 0:
            notes.append("this window sees only padding: the result is −∞")
        elif n_pad:
            notes.append(f"the {n_pad} padding cells hold −∞, so they can never win")
        if n_over:
            notes.append(f"the {n_over} ceil_mode overhang cells are outside input and padding: not read")
    if p.dilation != (1, 1):
        span = [d * (k - 1) + 1 for d, k in zip(p.dilation, p.kernel, strict=True)]
        notes.append(f"dilation={size_text(p.dilation)}: the window spans {span[0]}×{span[1]} cells but "
                     f"reads only its {p.kernel[0]}×{p.kernel[1]} marked cells; the ones between are skipped")
    return "; ".join(notes)


def channel_note(step, p, width):
    """Per-channel remark for max pooling: ties, NaN, and the flat index that return_indices gives."""
    if p.mode != "max" or step.argmax is None:
        return ""
    row, col = step.argmax
    notes = [f"index {step.index} = {row}·{width} + {col} (return_indices)"]
    if step.result != step.result:
        notes.append("NaN wins: NaN propagates (the index points to the last NaN)")
    else:
        ties = sum(cell.kind == "input" and cell.value == step.result for cell in step.cells)
        if ties > 1:
            notes.append(f"tie: {ties} cells equal {fmt(step.result)}, the first in row-major order wins")
    return "; ".join(notes)


def gradient(steps, H, W, mode):
    """d(sum of all outputs)/dX for one plane, read off its trace: max pooling routes each output's
    gradient 1 to the cell its index names (a cell that wins k windows gets k); average pooling spreads
    1/divisor over every input cell of the window. Padding and overhang cells are not inputs: no gradient."""
    grad = [[0.0] * W for _ in range(H)]
    for step in steps:
        if mode == "max":
            if step.index is not None and 0 <= step.index < H * W:
                row, col = divmod(step.index, W)
                grad[row][col] += 1.0
        else:
            for cell in step.cells:
                if cell.kind == "input":
                    grad[cell.row][cell.col] += 1.0 / step.divisor
    return grad


def _span(name, first, size):
    """'row 24', 'rows 22–24', or '' when first == size (nothing left over)."""
    if first >= size:
        return ""
    return f"{name} {first}" if first == size - 1 else f"{name}s {first}–{size - 1}"


def _as_given(value):
    """A per-axis value as a learner writes it in PyTorch: the browser sends lists ([0, 2]); make them
    tuples, so a message reads "stride=(0, 2)", as nn.MaxPool2d(stride=(0, 2)) would be written."""
    return tuple(value) if isinstance(value, list) else value


def _shades(grid, lo, hi):
    """Brightness 0..1 of each value on the channel's lo..hi scale, brighter = larger (None for NaN/±∞: drawn
    specially). A value outside the scale (an average pulled below the input's min by padding zeros) is
    clamped; a constant plane is all 1 (white: nothing to compare)."""
    if hi == lo:
        return [[1.0 if math.isfinite(v) else None for v in row] for row in grid]
    return [[round(min(1.0, max(0.0, (v - lo) / (hi - lo))), 3) if math.isfinite(v) else None for v in row]
            for row in grid]


# ----------------------------------------------------------------------------------------------------
# The state the browser draws
# ----------------------------------------------------------------------------------------------------


def build_state(X, **pool_params):
    """Everything the browser draws, as a JSON-able dict (strings for numbers, so -∞ and NaN survive).

    X is (C, H, W). Raises poolkit's ValueError/TypeError for invalid parameters."""
    p = make_params(**pool_params)
    C, H, W = X.shape
    out_hw = output_shape((H, W), p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
    traces = [trace(X[c], **pool_params) for c in range(C)]
    planes = X.tolist()
    first = traces[0]

    read = set()
    for step in first:
        read.update((c.row, c.col) for c in step.cells if c.kind == "input")
    rows = [r for s in first for r in (s.cells[0].row, s.cells[-1].row)]
    cols = [c for s in first for c in (s.cells[0].col, s.cells[-1].col)]
    unread = [[r, c] for r in range(H) for c in range(W) if (r, c) not in read]
    if unread:
        last_row, last_col = max((r for r, _ in read), default=-1), max((c for _, c in read), default=-1)
        spans = (_span("row", last_row + 1, H), _span("column", last_col + 1, W))
        dropped = " and ".join(d for d in spans if d)
        skipped = any(r <= last_row and c <= last_col for r, c in unread)  # gaps between windows
        ceil_hw = output_shape((H, W), p.kernel, p.stride, p.padding, p.dilation, True)
        if dropped and not p.ceil_mode and ceil_hw != tuple(out_hw):
            why = f": floor mode drops {dropped} (ceil_mode=True would add windows there)"
        elif dropped:
            why = f": no window reaches {dropped}"
        else:
            why = ": the stride or dilation skips over them"
        if dropped and skipped:
            why += "; the stride or dilation skips the others"
        unread_note = f"{len(unread)} input cells are never read" + why
    else:
        unread_note = ""

    channels = []
    rounded = False  # does some cell show a number rounded to fit (its tooltip has the full one)?
    for c, steps in enumerate(traces):
        finite = [v for row in planes[c] for v in row if math.isfinite(v)] or [0.0]
        lo, hi = min(finite), max(finite)
        out = [[None] * out_hw[1] for _ in range(out_hw[0])]
        for step in steps:
            out[step.out_row][step.out_col] = step.result
        grad = gradient(steps, H, W, p.mode)
        grad_lo, grad_hi = min(map(min, grad)), max(map(max, grad))
        channel = {"range": [fmt(lo), fmt(hi)], "grad_range": [fmt(grad_lo), fmt(grad_hi)]}
        for name, grid, shades in [("grad", grad, _shades(grad, grad_lo, grad_hi)),
                                   ("input", planes[c], _shades(planes[c], lo, hi)),
                                   ("output", out, _shades(out, lo, hi))]:
            channel[name] = [[cell_text(v) for v in row] for row in grid]
            channel[f"{name}_full"] = [[fmt(v) for v in row] for row in grid]
            channel[f"{name}_shade"] = shades
            if name != "grad":
                rounded = rounded or channel[name] != channel[f"{name}_full"]
        channels.append(channel)

    steps = []
    for t, step in enumerate(first):
        steps.append({
            "at": [step.out_row, step.out_col],
            "cells": [[cell.row, cell.col, KIND[cell.kind]] for cell in step.cells],
            "note": step_note(step, p),
            "ch": [{
                "formula": tr[t].formula,
                "argmax": list(tr[t].argmax) if tr[t].argmax is not None else None,
                "note": channel_note(tr[t], p, W),
            } for tr in traces],
        })

    return {
        "shape": [C, H, W],
        "out": list(out_hw),
        "mode": p.mode,
        "kernel": list(p.kernel),
        "padding": list(p.padding),
        "dilated": p.dilation != (1, 1),
        "pad_label": "−∞" if p.mode == "max" else "0",
        "rows": [min(-p.padding[0], *rows), max(H - 1 + p.padding[0], *rows)],
        "cols": [min(-p.padding[1], *cols), max(W - 1 + p.padding[1], *cols)],
        "names": [f"channel {c}" for c in range(C)] if C > 1 else ["input"],
        "channels": channels,
        "rounded": rounded,
        "unread": unread,
        "unread_note": unread_note,
        "steps": steps,
        "shape_formula": shape_formula((H, W), p, out_hw),
        "pytorch": pytorch_line(p),
    }


class SlidingWindow(anywidget.AnyWidget):
    """An animated pooling window over X ((H, W) or (C, H, W)), with PyTorch's pooling parameters.

    Invalid parameters never raise: the widget shows the rule and the fix (see `error`)."""

    _esm = HERE / "widget.js"
    _css = HERE / "widget.css"

    # Pooling parameters, synced both ways (the widget's controls set them). Any: the reference
    # validates them, so a bad value becomes a message in the widget instead of a traitlets error.
    kernel_size = traitlets.Any(2).tag(sync=True)
    stride = traitlets.Any(None).tag(sync=True)
    padding = traitlets.Any(0).tag(sync=True)
    dilation = traitlets.Any(1).tag(sync=True)
    ceil_mode = traitlets.Any(False).tag(sync=True)
    mode = traitlets.Any("max").tag(sync=True)
    count_include_pad = traitlets.Any(True).tag(sync=True)
    divisor_override = traitlets.Any(None).tag(sync=True)

    initial_step = traitlets.Int(0).tag(sync=True)  # the step shown first (and in the static PNG)
    state = traitlets.Dict().tag(sync=True)  # the whole trace as drawn (build_state); {} on error
    error = traitlets.Unicode("").tag(sync=True)  # the rule broken and how to fix it; "" when valid

    def __init__(self, X=None, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False,
                 mode="max", count_include_pad=True, divisor_override=None, **kwargs):
        self._X = X
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                         ceil_mode=ceil_mode, mode=mode, count_include_pad=count_include_pad,
                         divisor_override=divisor_override, **kwargs)
        self.observe(self._recompute, names=list(PARAMS))
        self._recompute()

    @classmethod
    def from_photo(cls, size=16, rgb=False, **pool_params):
        """The widget on a size x size crop of the photo that ships with matplotlib (see `photo`)."""
        return cls(photo(size, rgb), **pool_params)

    @property
    def X(self):
        """The input, as given (None means the lecture's 3x3 example). Setting it recomputes."""
        return self._X

    @X.setter
    def X(self, value):
        self._X = value
        self._recompute()

    def pool_params(self):
        """The current parameters as pool2d keyword arguments (per-axis lists from the browser as tuples)."""
        return {name: _as_given(getattr(self, name)) for name in PARAMS}

    def _recompute(self, change=None):
        """Trace every channel once and sync it; an invalid setting becomes `error`, never an exception."""
        try:
            state, error = build_state(_as_tensor(self._X), **self.pool_params()), ""
        except (ValueError, TypeError) as err:
            state, error = {}, str(err)
        with self.hold_sync():
            self.state, self.error = state, error

    def summary(self):
        """A few lines of text: what is pooled, the PyTorch line, the first step (or the error)."""
        if self.error:
            return f"SlidingWindow: invalid parameters.\n{self.error}"
        s = self.state
        C, H, W = s["shape"]
        first = s["steps"][self._first_step()]
        channels = f"{C} channels of " if C > 1 else ""
        n = len(s["steps"])
        return "\n".join([
            f"SlidingWindow: {s['mode']} pooling of {channels}{H}x{W} -> {s['out'][0]}x{s['out'][1]}, "
            f"{n} window position{'s' * (n > 1)}.",
            s["pytorch"],
            *s["shape_formula"],
            f"Step {self._first_step() + 1}: " + first["ch"][0]["formula"],
        ])

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a PNG of the current frame and a text summary for viewers without a kernel
        (GitHub, nbviewer, a notebook opened without its widget state)."""
        data, metadata = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.summary()
        if not self.error:
            from .draw import frame_png  # matplotlib drawing lives in one place

            X = _as_tensor(self._X)
            data["image/png"] = frame_png(X[0] if len(X) == 1 else X, t=self._first_step(),
                                          **self.pool_params())
        return data, metadata

    def _first_step(self):
        """initial_step, kept inside 0 .. number of steps - 1 (as the browser does)."""
        return max(0, min(self.initial_step, len(self.state["steps"]) - 1))


def state_bytes(widget):
    """The synced state as the kernel sends it (JSON bytes); used by the benchmark."""
    return json.dumps({"state": widget.state, "error": widget.error}, ensure_ascii=False).encode()
