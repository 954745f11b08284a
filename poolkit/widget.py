"""The sliding-window widget: watch a pooling window slide over an input, step by step, in JupyterLab.

Python computes everything once per parameter change (`poolkit.trace` per channel, `poolkit.output_shape`)
as one JSON-able dict, `state`, which it syncs compressed (`packed`, see pack_state); the ES module widget.js
only unpacks, draws and plays that state.
Playback runs in the browser and sends nothing to the kernel; only a parameter change comes back here.

    SlidingWindow()                                 the lecture's 3x3 example, 2x2 max pooling
    SlidingWindow(X, kernel_size=3, padding=1)      any (H, W) or (C, H, W) tensor (or nested list)
    SlidingWindow.from_photo(size=16, stride=1)     a downsampled photo that ships with matplotlib
"""

import inspect
import json
import math
import zlib
from pathlib import Path

import anywidget
import matplotlib.cbook
import matplotlib.image
import torch
import traitlets

from .draw import frame_png
from .explain import (
    LECTURE_X,
    TEXT,
    TooLarge,
    as_planes,
    channel_remark,
    check_drawable,
    gradient,
    grid_labels,
    legend,
    minus,
    pad_text,
    say,
    scene,
    size_lines,
    step_note,
    template,
    unread_note,
    widget_title,
    winner,
)
from .params import KEYWORDS, MODES, Params, PoolingError, PoolingTypeError, PoolingValueError
from .reference import pool2d
from .trace import fmt

HERE = Path(__file__).parent


# ----------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------


def photo(size=16, rgb=False):
    """Grace Hopper's portrait (ships with matplotlib, no download) as a size x size tensor in [0, 1].

    Grey (H, W) by default, (3, H, W) with rgb=True; values rounded to 2 decimals so they fit a cell."""
    if not isinstance(size, int) or not 2 <= size <= 64:
        raise PoolingValueError("size", size, "must be an int from 2 to 64 (readable up to 32).",
                                "e.g. size=16.")
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
            raise PoolingTypeError("X", X, f"cannot be read as a grid of numbers ({err}).",
                                   "pass a torch tensor or a nested list like [[0, 1], [2, 3]].",
                                   shown=f"X={X!r:.60}") from None
    planes = as_planes(X)
    check_drawable(tuple(planes.shape))
    return planes


# ----------------------------------------------------------------------------------------------------
# Words and numbers shown in the widget
# ----------------------------------------------------------------------------------------------------


# The longest number a grid cell shows as the formula does (-0.2404; the browser widens cells), so a cell and
# its step's formula read the same (1.111 in both); a longer one is rounded (fmt's width), the tooltip has it.
CELL_CHARS = 7


def _as_given(value):
    """A per-axis value as a learner writes it in PyTorch: the browser sends lists ([0, 2]); make them
    tuples, so a message reads "stride=(0, 2)", as nn.MaxPool2d(stride=(0, 2)) would be written."""
    return tuple(value) if isinstance(value, list) else value


def _shades(grid, lo, hi):
    """Brightness 0..100 of each value on the channel's lo..hi scale, brighter = larger (None for NaN/±∞:
    drawn specially). A value outside the scale (an average pulled below the input's min by padding zeros)
    is clamped; a constant plane is all 100 (white: nothing to compare)."""
    if hi == lo:
        return [100 if math.isfinite(v) else None for row in grid for v in row]
    span, isfinite = hi - lo, math.isfinite  # (inline clamping: this runs for every cell on every change)
    return [round((0.0 if x < 0.0 else 1.0 if x > 1.0 else x) * 100) if isfinite(v) else None
            for row in grid for v in row for x in ((v - lo) / span,)]


def _grid(grid, lo, hi, texts=None):
    """A grid for the browser, flat and row-major: the cell texts, the full texts where a cell rounds
    ({flat index: text}), the shades. texts: fmt of every value, when already known."""
    values = [v for row in grid for v in row]
    full = [t for row in texts for t in row] if texts else [fmt(v) for v in values]
    shown = [fmt(v, CELL_CHARS) for v in values]
    return {"text": shown, "full": {k: f for k, (s, f) in enumerate(zip(shown, full, strict=True)) if s != f},
            "shade": _shades(grid, lo, hi)}


def _range(grid):
    finite = [v for row in grid for v in row if math.isfinite(v)] or [0.0]
    return min(finite), max(finite)


def _channel(sc, c):
    """What the browser draws of channel c: its input, output and gradient grids, per-step formulas,
    the winning cell of each step (flat input index, -1 for none) and each step's remark."""
    table = sc.table
    lo, hi = _range(table.grids[c])
    grad = gradient(sc, c)
    ow = table.out_hw[1]
    steps = range(sc.n_steps)
    W = table.input_hw[1]
    winners = [winner(sc, c, t) for t in steps]
    remarks = [_remark(sc, c, t, at, W) for t, at in zip(steps, winners, strict=True)]
    return {
        "input": _grid(table.grids[c], lo, hi, table.texts[c]),
        "output": _grid(table.results[c], lo, hi, table.result_texts[c]),
        "grad": _grid(grad, *_range(grad)),
        "range": [minus(fmt(lo)), minus(fmt(hi))], "grad_range": [minus(fmt(v)) for v in _range(grad)],
        "formula": [table.formula(c, t // ow, t % ow) for t in steps],
        "argmax": [-1 if at is None else at[0] * W + at[1] for at in winners],
        "remarks": remarks if any(remarks) else [],
    }


def _remark(sc, c, t, at, W):
    """Channel c's remark at step t, after its formula: the winner's flat index as return_indices gives it,
    then a tie or NaN ('' for modes that pick no cell)."""
    if at is None:
        return ""
    notes = [say("index", index=at[0] * W + at[1], r=at[0], W=W, c=at[1]), channel_remark(sc, c, t, "zh")]
    return "; ".join(n for n in notes if n)


def build_state(X, **pool_params):
    """Everything the browser draws, as a JSON-able dict (strings for numbers, so -∞ and NaN survive),
    rendered from one explain.Scene. X is (C, H, W). Raises PoolingError for invalid parameters."""
    sc = scene(X, **pool_params)
    table, p = sc.table, sc.params
    (r0, r1), (c0, c1) = sc.rows, sc.cols
    notes = [step_note(sc, t, "zh") for t in range(sc.n_steps)]
    distinct = list(dict.fromkeys(notes))
    channels = [_channel(sc, c) for c in range(sc.channels)]
    rounded = any(ch[name]["full"] for ch in channels for name in ("input", "output"))
    C, (H, W) = sc.channels, table.input_hw
    return {
        "shape": [C, H, W], "out": list(table.out_hw), "rows": [r0, r1], "cols": [c0, c1],
        "kinds": "".join(KIND[sc.kinds[r, c]] for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)),
        "win_rows": [[r for r, _ in taps] for taps in table.row_taps],
        "win_cols": [[c for c, _ in taps] for taps in table.col_taps],
        "row_readers": [sc.row_readers.get(r, []) for r in range(H)],
        "col_readers": [sc.col_readers.get(c, []) for c in range(W)],
        "dilated": p.dilation != (1, 1),
        "title": widget_title(sc), "pytorch": p.pytorch(), "pad": pad_text(p),
        "labels": [grid_labels(sc, c, "both") for c in range(C)],
        "names": [say("channel_name", c=c) for c in range(C)],
        "size_title": say("size_title", "both"), "size_lines": size_lines(sc), "unread_note": unread_note(sc),
        "channels_note": say("each_channel", "both", C=C) if C > 1 else "",
        "legend": [[style, label] for style, label in legend(sc, "both")],
        "grad_note": say("grad_one" if p.spec.picks_one else "grad_spread", "both"),
        "notes": distinct, "note": [distinct.index(n) for n in notes] if len(distinct) > 1 else [],
        "channels": channels, "rounded": rounded,
    }


def pack_state(state):
    """The state as the browser receives it: compact JSON, zlib-compressed (b"" for none). Each input value
    is shown in up to k*k formulas, so the repeats shrink it about 4x (32x32 at stride 1: 112 KB -> 27 KB);
    level 1 is the fastest. widget.js's unpackState reverses it."""
    if not state:
        return b""
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode(), 1)


KIND = {"input": "i", "unread": "u", "padding": "p", "overhang": "o"}
# The catalogue entries widget.js reads as T.<key> (a test holds the two to each other).
BROWSER_TEXT = ("play", "pause", "play_tip", "first_tip", "back_tip", "next_tip", "last_tip", "speed",
                "speed_tip", "loop", "gradient", "gradient_tip", "height", "width", "reset", "reset_tip",
                "keys_title", "key_space", "key_arrows", "key_ends", "key_speed", "key_loop", "key_probe",
                "key_escape", "hover_help", "click_help", "step", "step_output", "pinned", "preview",
                "read_by", "never_read", "not_input_padding", "not_input_overhang", "pending", "rounded_tip",
                "tip_unread", "tip_padding", "tip_overhang", "legend_reader", "legend_rounded", "shade",
                "shade_image", "shade_grad", "shade_each", "fix", "no_kernel")


def browser_text():
    """The catalogue entries the browser fills in itself ({name} placeholders), Chinese and English."""
    return {key: template(key, "both") for key in BROWSER_TEXT}


# ----------------------------------------------------------------------------------------------------
# The parameter controls: one per pool2d keyword (params.KEYWORDS), the browser builds them from this
# ----------------------------------------------------------------------------------------------------

# The value each keyword starts at: pool2d's default, and the lecture's 2x2 window.
DEFAULTS = {**{name: inspect.signature(pool2d).parameters[name].default for name in KEYWORDS},
            "kernel_size": 2}
# How the browser edits a keyword, from the type Params gives it: a (height, width) pair of numbers, a
# checkbox, the mode menu, or one number that may be empty (None).
CONTROL = {tuple: "pair", bool: "check", str: "menu", int | None: "number"}
DIVIDING_ONLY = ("count_include_pad", "divisor_override")  # only modes that divide use them (Mode.divides)
EMPTY_MEANS = {"stride": ("kernel_size", "stride_default")}  # empty: PyTorch's default, stride = kernel_size


def controls():
    """What the browser needs to build each keyword's control, the mode menu first: its name, kind, label
    (the catalogue's, else the keyword), start value, whether only dividing modes use it (with the tooltip
    saying so), and for stride which keyword an empty value takes (with the tooltip saying so)."""
    kinds = dict(zip(KEYWORDS, (CONTROL[t] for t in Params.__annotations__.values()), strict=True))
    rows = []
    for name in sorted(KEYWORDS, key=lambda n: kinds[n] != "menu"):
        empty_from, empty_tip = EMPTY_MEANS.get(name, (None, None))
        label = template(name, "both") if name in TEXT else name
        rows.append({"name": name, "kind": kinds[name], "label": label,
                     "default": DEFAULTS[name], "dividing_only": name in DIVIDING_ONLY,
                     "tip": say("avg_only") if name in DIVIDING_ONLY else "",
                     "empty_from": empty_from, "empty_tip": say(empty_tip) if empty_tip else ""})
    return rows


# One synced trait per pool2d keyword, both ways (the widget's controls set them). Any: the reference
# validates them, so a bad value becomes a message in the widget instead of a traitlets error.
PoolTraits = type("PoolTraits", (traitlets.HasTraits,),
                  {name: traitlets.Any(value).tag(sync=True) for name, value in DEFAULTS.items()})


class SlidingWindow(anywidget.AnyWidget, PoolTraits):
    """An animated pooling window over X ((H, W) or (C, H, W)), with pool2d's keyword arguments (DEFAULTS).

    Invalid parameters never raise: the widget shows the rule and the fix (see `error`)."""

    _esm = HERE / "widget.js"
    _css = HERE / "widget.css"

    initial_step = traitlets.Int(0).tag(sync=True)  # the step shown first (and in the static PNG)
    packed = traitlets.Bytes(b"").tag(sync=True)  # pack_state(state): sent as one binary buffer
    # the refusal as fields (parameter, value, rule, fix, message, title); {} when valid
    error = traitlets.Dict().tag(sync=True)
    text = traitlets.Dict().tag(sync=True)  # the catalogue entries the browser fills in (explain.TEXT)
    modes = traitlets.List().tag(sync=True)  # [name, label, divides] of each mode, for the mode menu
    controls = traitlets.List().tag(sync=True)  # the parameter controls (controls())

    state = {}  # the whole trace as drawn (build_state); {} on error. Synced as `packed`.

    def __init__(self, X=None, **pool_params):
        self._X = X
        super().__init__(**pool_params, text=browser_text(), controls=controls(),
                         modes=[[m.name, f"{m.title_zh} {m.name}", m.divides] for m in MODES.values()])
        self.observe(self._recompute, names=list(KEYWORDS))
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
        return {name: _as_given(getattr(self, name)) for name in KEYWORDS}

    def _recompute(self, change=None):
        """Trace every channel once and sync it; a refusal becomes `error`, never an exception."""
        try:
            state, error = build_state(_as_tensor(self._X), **self.pool_params()), {}
        except PoolingError as err:
            title = say("too_large_title" if isinstance(err, TooLarge) else "error_title", "both")
            state, error = {}, {**err.fields(), "title": title}
        self.state = state
        with self.hold_sync():
            self.packed, self.error = pack_state(state), error

    def summary(self):
        """A few lines of text: what is pooled, the PyTorch line, the first step (or the error)."""
        if self.error:
            return f"SlidingWindow: {self.error['title']}.\n{self.error['message']}"
        s, t = self.state, self._first_step()
        C, H, W = s["shape"]
        channels = f"{C} channels of " if C > 1 else ""
        n = s["out"][0] * s["out"][1]
        return "\n".join([
            f"SlidingWindow: {self.mode} pooling of {channels}{H}x{W} -> {s['out'][0]}x{s['out'][1]}, "
            f"{n} window position{'s' * (n > 1)}.",
            s["pytorch"],
            *s["size_lines"],
            f"Step {t + 1}: " + s["channels"][0]["formula"][t],
        ])

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a PNG of the current frame and a text summary for viewers without a kernel
        (GitHub, nbviewer, a notebook opened without its widget state)."""
        data, metadata = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.summary()
        if not self.error:
            X = _as_tensor(self._X)
            data["image/png"] = frame_png(X[0] if len(X) == 1 else X, t=self._first_step(),
                                          **self.pool_params())
        return data, metadata

    def _first_step(self):
        """initial_step, kept inside 0 .. number of steps - 1 (as the browser does)."""
        return max(0, min(self.initial_step, self.state["out"][0] * self.state["out"][1] - 1))
