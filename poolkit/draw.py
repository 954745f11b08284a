"""Draw pooling frames with matplotlib: the input grid, the window, the output filling in, the arithmetic.

Every number, cell kind and sentence drawn comes from a poolkit.explain.Scene (the same one the widget
shows); this module only lays them out.

    frames(X, **pool_params)          the scene and the traces of every channel, computed once
    draw_frame(ax, fr, t)             draw frame t onto matplotlib axes (the PNG and the GIFs use it)
    frame_figure(fr, t)               a Figure sized so every number is legible
    frame_png(X, t=0, **pool_params)  PNG bytes of frame t (the widget's static fallback)

Frame t (0 <= t < number of steps) shows step t: the window over the input, the output filled up to
that cell, and the arithmetic of the step. Frame t = number of steps shows the finished output.
Text in figures is English (a learner's machine may lack CJK fonts); colours are Okabe-Ito.
"""

import io
import textwrap
from collections import defaultdict
from typing import NamedTuple

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import explain
from .explain import minus, say
from .params import PoolingValueError
from .trace import fmt, steps_of

# Okabe-Ito colours (safe for the common colour-vision deficiencies), plus greys. widget.css holds the
# same colours as CSS variables.
BLUE, SKY, VERMILLION = "#0072B2", "#56B4E9", "#D55E00"
GRID, INK, MUTED = "#9A9A9A", "#1A1A1A", "#6E6E6E"
PAD_FILL, UNREAD_FILL, WINDOW_FILL, PENDING_FILL = "#FBEFC9", "#D4D4D4", "#BFE1F6", "#EDEDED"

CELL_INCHES = 0.48  # one grid cell; 48 px at the default 100 dpi
DPI = 100
RC = {"font.family": "DejaVu Sans", "hatch.linewidth": 0.6, "axes.unicode_minus": True}

# Sizes in cell units (the drawing is laid out in cells; fonts scale with the cell).
GAP_IN_OUT = 1.4  # between a channel's input and its output
GAP_CHANNELS = 1.2  # between channels
LINE = 0.62  # height of one line of text
FONT = {"number": 0.36, "title": 0.34, "text": 0.31, "label": 0.29, "index": 0.22, "legend": 0.27}
CHAR = 0.6  # average DejaVu Sans character width, in font sizes
MAX_TEXT_CHARS = 64  # formula lines longer than this wrap


class Frames(NamedTuple):
    """A scene (poolkit.explain) and the Step records of every channel, computed once."""

    scene: explain.Scene
    steps: list  # steps[c]: the trace of channel c, one Step per output cell, row-major

    @property
    def planes(self):
        return self.scene.table.grids

    @property
    def params(self):
        return self.scene.params

    @property
    def input_hw(self):
        return self.scene.table.input_hw

    @property
    def out_hw(self):
        return self.scene.table.out_hw

    @property
    def n_steps(self):
        return len(self.steps[0])


def frames(X, **pool_params):
    """The scene of X, an (H, W) or (C, H, W) tensor, with pool2d's parameters, and its traces."""
    sc = explain.scene(X, **pool_params)
    return Frames(sc, [steps_of(sc.table, c) for c in range(sc.channels)])


# ----------------------------------------------------------------------------------------------------
# Words: all from poolkit.explain
# ----------------------------------------------------------------------------------------------------


def title(fr):
    return explain.title(fr.scene)


def _index(channel, step, channels):
    at = f"{step.out_row}, {step.out_col}"
    return f"Y[{channel}, {at}]" if channels > 1 else f"Y[{at}]"


def text_lines(fr, t):
    """The lines under frame t: which step, the arithmetic of each channel, the step's note."""
    n, channels = fr.n_steps, len(fr.steps)
    if t == n:
        each = say("done_each", C=channels) if channels > 1 else ""
        return [say("done", n=n, each=each), *explain.size_lines(fr.scene)]
    first = fr.steps[0][t]
    lines = [say("step", t=t + 1, n=n)]
    if channels == 1:
        lines[0] += f" {_index(0, first, 1)} = {first.formula}"
    else:
        lines[0] += " " + say("same_window")
        lines += [f"{_index(c, steps[t], channels)} = {steps[t].formula}" for c, steps in enumerate(fr.steps)]
    note = explain.step_note(fr.scene, t)
    return lines + ([note] if note else [])


def _wrap(line, width):
    """Break a long line before an " = " where possible, so no expression is cut in the middle."""
    if len(line) <= width:
        return [line]
    head, *rest = line.split(" = ")
    lines = [head]
    for part in rest:
        if len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " = " + part
        else:
            lines.append("    = " + part)
    if all(len(piece) <= width for piece in lines):
        return lines
    return textwrap.wrap(line, width, break_on_hyphens=False, subsequent_indent="    ") or [""]


def legend_entries(fr):
    """(style, label) for each kind of cell this drawing contains (the ones matplotlib draws)."""
    return [(style, label) for style, label in explain.legend(fr.scene) if style in STYLES]


# ----------------------------------------------------------------------------------------------------
# Layout (in cell units; y grows downwards)
# ----------------------------------------------------------------------------------------------------


class Geometry(NamedTuple):
    rmin: int
    cmin: int
    rows: int  # rows of the drawn input area: padding and overhang included
    cols: int


def _geometry(fr):
    (r0, r1), (c0, c1) = fr.scene.rows, fr.scene.cols
    return Geometry(r0, c0, r1 - r0 + 1, c1 - c0 + 1)


class Layout(NamedTuple):
    width: float
    height: float
    grid_top: float
    offsets: list  # (dx, dy) of each channel's block (input, gap, output)
    out_left: float  # output grid's left edge, relative to its block
    out_top: float
    wrap: int  # characters per text line
    text_top: float
    legend_top: float
    legend: list  # (x, y, style, label)


def layout(fr, still=None, stack_channels=False):
    """Positions in cells. still=None: the same for every frame, so an animation does not jump;
    still=t: just enough room for frame t's text. Channels side by side, or one above the other."""
    shown = range(fr.n_steps + 1) if still is None else [still]
    if still is not None:
        _check_t(fr, still)
    geo = _geometry(fr)
    out_h, out_w = fr.out_hw
    labels = _grid_labels(fr, 0)
    block = geo.cols + GAP_IN_OUT + max(out_w, _chars(len(labels[1]), "label"))
    block_height = max(geo.rows, out_h) + 1.0 + GAP_CHANNELS  # the labels above, a gap below
    channels = range(len(fr.steps))
    if stack_channels:
        offsets = [(0.0, c * block_height) for c in channels]
    else:
        offsets = [(c * (block + GAP_CHANNELS), 0.0) for c in channels]
    grids = 0.5 + block + offsets[-1][0]
    longest = max(len(line) for t in shown for line in text_lines(fr, t))
    longest = max(longest, 1.1 * len(title(fr)) * FONT["title"] / FONT["text"])  # bold is wider
    width = max(grids, _chars(min(longest, MAX_TEXT_CHARS), "text")) + 0.6
    wrap = max(20, int((width - 0.6) / _chars(1, "text")))
    title_lines = len(_wrap(title(fr), wrap))
    grid_top = 0.35 + title_lines * LINE + 1.0
    out_top = grid_top + (geo.rows - out_h) / 2
    text_top = grid_top + offsets[-1][1] + max(geo.rows, out_h) + 0.45
    n_text = max(sum(len(_wrap(line, wrap)) for line in text_lines(fr, t)) for t in shown)
    legend_top = text_top + n_text * LINE + 0.25
    legend, x, y = [], 0.3, legend_top
    for style, label in legend_entries(fr):
        w = 0.55 + _chars(len(label), "legend") + 0.6
        if x > 0.3 and x + w > width:
            x, y = 0.3, y + LINE
        legend.append((x, y, style, label))
        x += w
    height = y + LINE + 0.2
    return Layout(width, height, grid_top, offsets, geo.cols + GAP_IN_OUT, out_top, wrap, text_top,
                  legend_top, legend)


def _grid_labels(fr, channel):
    return explain.grid_labels(fr.scene, channel)


def _chars(n, font):
    return n * FONT[font] * CHAR


def _check_t(fr, t):
    """The number of steps, after checking that frame t exists."""
    n = fr.n_steps
    if not (isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= n):
        raise PoolingValueError("t", t, f"frames go from 0 to {n} ({n} steps, then the finished output).",
                                f"use 0 <= t <= {n}.")
    return n


# ----------------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------------

STYLES = {  # facecolor, edgecolor, hatch
    "input": ("white", GRID, None),
    "padding": (PAD_FILL, "#E3C25E", "//"),
    "unread": (UNREAD_FILL, GRID, None),
    "overhang": ("white", GRID, None),
    "pending": (PENDING_FILL, "#C4C4C4", None),
    "done": ("white", GRID, None),
    "window": (WINDOW_FILL, BLUE, None),
    "current": (WINDOW_FILL, BLUE, None),
    "argmax": ("white", VERMILLION, None),
}


def _number_sizes(fr, pt):
    """Font sizes (points) of the input's and the output's numbers: one per grid, so that its longest
    number fits a cell (bold included)."""
    inputs = [fmt(v) for plane in fr.planes for row in plane for v in row] + ["-∞"]
    outputs = [fmt(step.result) for steps in fr.steps for step in steps]
    return [min(FONT["number"] * pt, 0.8 * pt / (CHAR * max(map(len, shown)))) for shown in (inputs, outputs)]


class Pen(NamedTuple):
    """What every part of a frame draws with: the axes, points per cell, line width, number fonts, and the
    cells collected per style (drawn at the end as one collection per style: fast for 32x32)."""

    ax: object
    pt: float
    lw: float
    in_size: float
    out_size: float
    cells: dict

    def text(self, x, y, s, font, **kw):
        kw = {"ha": "left", "va": "center", "color": INK, **kw}
        self.ax.text(x, y, s, fontsize=FONT[font] * self.pt, parse_math=False, **kw)

    def number(self, x, y, s, size, **kw):
        self.ax.text(x + 0.5, y + 0.5, s, ha="center", va="center", zorder=5, parse_math=False, fontsize=size,
                     **{"color": INK, **kw})

    def cell(self, x, y, style):
        self.cells[style].append(((x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)))

    def box(self, x, y, w, h, edge, width, **kw):
        self.ax.add_artist(Rectangle((x, y), w, h, facecolor="none", edgecolor=edge,
                                     linewidth=self.lw * width, **{"zorder": 4, **kw}))


def _pen(ax, fr, lay):
    ax.clear()
    ax.set_axis_off()
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.set_aspect("equal")
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    pt = min(box.width * fig_w * 72 / lay.width, box.height * fig_h * 72 / lay.height)  # points per cell
    return Pen(ax, pt, max(pt / 30, 0.5), *_number_sizes(fr, pt), defaultdict(list))


def _draw_input(pen, fr, plane, at, left, top, label):
    """Input area: input cells (grey if never read), the padding ring, the ceil_mode overhang."""
    H, W = fr.input_hw
    pad = explain.pad_text(fr.params)
    pen.text(left, top - 0.72, label, "label", weight="bold")
    for (r, c), kind in fr.scene.kinds.items():
        x, y = at(r, c)
        pen.cell(x, y, kind)  # each kind of cell is a style of STYLES
        if kind in ("input", "unread"):
            pen.number(x, y, minus(fmt(plane[r][c])), pen.in_size, color=MUTED if kind == "unread" else INK)
        elif kind == "padding":
            pen.number(x, y, pad, pen.in_size, color=MUTED)
    for c in range(W):
        pen.text(at(0, c)[0] + 0.5, top - 0.2, str(c), "index", ha="center", color=MUTED)
    for r in range(H):
        pen.text(left - 0.12, at(r, 0)[1] + 0.5, str(r), "index", ha="right", color=MUTED)


def _draw_output(pen, fr, steps, t, ox, oy, top, label):
    """Output grid: filled up to step t; the current cell highlighted like the window."""
    pen.text(ox, top - 0.72, label, "label", weight="bold")
    for i, step in enumerate(steps):
        x, y = ox + step.out_col, oy + step.out_row
        if i > t:
            pen.cell(x, y, "pending")
            continue
        pen.cell(x, y, "current" if i == t else "done")
        pen.number(x, y, minus(fmt(step.result)), pen.out_size, weight="bold" if i == t else "normal")
    for c in range(fr.out_hw[1]):
        pen.text(ox + c + 0.5, top - 0.2, str(c), "index", ha="center", color=MUTED)
    for r in range(fr.out_hw[0]):
        pen.text(ox - 0.12, oy + r + 0.5, str(r), "index", ha="right", color=MUTED)


def _draw_window(pen, fr, step, at, out_cell):
    """The window: its taps (dilation leaves holes), its outline, the max; its output cell."""
    for tap in step.cells:
        x, y = at(tap.row, tap.col)
        pen.ax.add_artist(Rectangle((x, y), 1, 1, facecolor=SKY, alpha=0.45, edgecolor="none", zorder=2))
    rows, cols = [tap.row for tap in step.cells], [tap.col for tap in step.cells]
    x0, y0 = at(min(rows), min(cols))
    x1, y1 = at(max(rows) + 1, max(cols) + 1)
    dilated = fr.params.dilation != (1, 1)
    pen.box(x0, y0, x1 - x0, y1 - y0, BLUE, 1.5 if dilated else 3.2,
            linestyle=(0, (3, 2)) if dilated else "solid")
    if dilated:
        for tap in step.cells:
            pen.box(*at(tap.row, tap.col), 1, 1, BLUE, 2.4)
    if step.argmax is not None:
        x, y = at(*step.argmax)
        pen.box(x + 0.1, y + 0.1, 0.8, 0.8, VERMILLION, 2.6, zorder=4.5)
    pen.box(*out_cell, 1, 1, BLUE, 3.2)


def _draw_channel(pen, fr, lay, geo, channel, t):
    dx, dy = lay.offsets[channel]
    left, top = 0.5 + dx, lay.grid_top + dy
    in_label, out_label = _grid_labels(fr, channel)

    def at(r, c):
        return left + c - geo.cmin, top + r - geo.rmin

    _draw_input(pen, fr, fr.planes[channel], at, left, top, in_label)
    ox, oy = left + lay.out_left, lay.out_top + dy
    _draw_output(pen, fr, fr.steps[channel], t, ox, oy, top, out_label)
    if t < fr.n_steps:
        step = fr.steps[channel][t]
        _draw_window(pen, fr, step, at, (ox + step.out_col, oy + step.out_row))


def _draw_words(pen, fr, lay, t):
    """The title, the arithmetic of this step, then the legend."""
    for i, line in enumerate(_wrap(title(fr), lay.wrap)):
        pen.text(0.3, 0.35 + (i + 0.5) * LINE, line, "title", weight="bold")
    y = lay.text_top
    for line in text_lines(fr, t):
        for part in _wrap(line, lay.wrap):
            pen.text(0.3, y + LINE / 2, minus(part), "text")
            y += LINE
    for x, y, style, label in lay.legend:
        kw = {"linestyle": (0, (2, 2))} if style == "overhang" else {}
        if style in ("argmax", "window", "current"):
            kw = {"linewidth": pen.lw * 2.4}
        face, edge, hatch = STYLES[style]
        pen.ax.add_artist(Rectangle((x, y + 0.1), 0.42, 0.42, zorder=3, facecolor=face, edgecolor=edge,
                                    hatch=hatch, **{"linewidth": pen.lw, **kw}))
        pen.text(x + 0.55, y + 0.31, minus(label), "legend")


def draw_frame(ax, fr, t, still=False, stack_channels=False):
    """Draw frame t of fr (from `frames`) onto ax, clearing it first. Works on any axes size.
    still=False keeps the layout of every frame identical (animations); True fits frame t alone.
    stack_channels=True puts channels one above the other instead of side by side."""
    _check_t(fr, t)
    lay, geo = layout(fr, t if still else None, stack_channels), _geometry(fr)
    pen = _pen(ax, fr, lay)
    for channel in range(len(fr.planes)):
        _draw_channel(pen, fr, lay, geo, channel, t)
    for style, cells in pen.cells.items():
        face, edge, hatch = STYLES[style]
        ax.add_collection(PolyCollection(cells, facecolor=face, edgecolor=edge, hatch=hatch, linewidth=pen.lw,
                                         linestyle=(0, (2, 2)) if style == "overhang" else "solid",
                                         zorder=1), autolim=False)
    _draw_words(pen, fr, lay, t)


def frame_figure(fr, t=0, still=True, stack_channels=False, cell_inches=CELL_INCHES):
    """A new Figure (Agg canvas, no pyplot) showing frame t, sized so every number is legible."""
    lay = layout(fr, t if still else None, stack_channels)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(lay.width * cell_inches, lay.height * cell_inches), facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        draw_frame(ax, fr, t, still, stack_channels)
    return fig


def png_bytes(fig, dpi=DPI):
    """A figure as PNG bytes with no varying metadata (same input, same bytes)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def frame_png(X, t=0, dpi=DPI, max_width=2000, **pool_params):
    """PNG bytes of frame t of pooling X ((H, W) or (C, H, W)) with pool2d's parameters; a wide frame gets
    a lower dpi, so the PNG is at most max_width pixels wide."""
    fr = frames(X, **pool_params)
    fig = frame_figure(fr, t)
    return png_bytes(fig, min(dpi, max_width / fig.get_figwidth()))


__all__ = ["Frames", "draw_frame", "frame_figure", "frame_png", "frames", "layout", "png_bytes",
           "text_lines", "title"]
