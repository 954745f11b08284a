"""Draw pooling frames with matplotlib: the input grid, the window, the output filling in, the arithmetic.

Every number drawn comes from `poolkit.trace` and `poolkit.output_shape`; this module only lays them out.

    frames(X, **pool_params)          the traces of every channel, computed once
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
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .reference import Params, fmt, make_params, output_shape, trace

# Okabe-Ito colours (safe for the common colour-vision deficiencies), plus greys.
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
    """Everything a frame shows, computed once by poolkit.trace / poolkit.output_shape."""

    planes: list  # one (H, W) nested list of input values per channel
    steps: list  # steps[c]: poolkit.trace of channel c, one Step per output cell, row-major
    params: Params
    input_hw: tuple
    out_hw: tuple

    @property
    def n_steps(self):
        return len(self.steps[0])


def frames(X, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
           count_include_pad=True, divisor_override=None):
    """Trace every channel of X, an (H, W) or (C, H, W) tensor, with pool2d's parameters."""
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                  ceil_mode=ceil_mode, mode=mode, count_include_pad=count_include_pad,
                  divisor_override=divisor_override)
    params = make_params(**kwargs)
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}. Fix: X = torch.tensor(X).")
    if X.dim() not in (2, 3):
        raise ValueError(
            f"X has shape {tuple(X.shape)}: a frame shows an (H, W) or (C, H, W) tensor. "
            "Fix: pass one image, e.g. X[0] for an (N, C, H, W) batch."
        )
    planes = [X] if X.dim() == 2 else list(X)
    steps = [trace(plane, **kwargs) for plane in planes]
    input_hw = tuple(X.shape[-2:])
    out_hw = output_shape(input_hw, kernel_size, stride, padding, dilation, ceil_mode)
    return Frames([plane.tolist() for plane in planes], steps, params, input_hw, out_hw)


# ----------------------------------------------------------------------------------------------------
# Words: title, arithmetic lines, legend
# ----------------------------------------------------------------------------------------------------


def title(fr):
    """'Max pooling: kernel_size=2, stride=1, padding=0' plus every non-default setting."""
    p = fr.params
    parts = p.arguments()
    name = "Max pooling" if p.mode == "max" else "Average pooling"
    return f"{name}: " + ", ".join(parts)


def divisor_note(fr, step):
    """Why an average's divisor is what it is, when padding, the ceil overhang or an override changes it."""
    p = fr.params
    if p.mode != "avg":
        return None
    kinds = [cell.kind for cell in step.cells]
    n_pad, n_over = kinds.count("padding"), kinds.count("overhang")
    if p.divisor_override is not None:
        return f"divisor {step.divisor}: divisor_override={p.divisor_override} replaces the window size"
    if p.count_include_pad and n_pad and n_over:
        return (f"divisor {step.divisor}: padding zeros count (count_include_pad=True), "
                f"the {n_over} ceil_mode overhang cells never do")
    if p.count_include_pad and n_pad:
        return f"divisor {step.divisor}: the {n_pad} padding zeros count too (count_include_pad=True)"
    if n_over:
        return f"divisor {step.divisor}: the {n_over} ceil_mode overhang cells are not counted"
    if not p.count_include_pad and n_pad:
        return f"divisor {step.divisor}: input cells only (count_include_pad=False)"
    return None


def _index(channel, step, channels):
    at = f"{step.out_row}, {step.out_col}"
    return f"Y[{channel}, {at}]" if channels > 1 else f"Y[{at}]"


def _axis_size_text(n, k, s, p, d, ceil_mode, out):
    """PyTorch's output-size formula with this axis' numbers, ending in out (from output_shape)."""
    extent = f"{k}" if d == 1 else f"{d}*({k} - 1) - 1"
    top = n + 2 * p - (d * (k - 1) + 1)
    rounded = -(-top // s) if ceil_mode else top // s
    text = f"{'ceil' if ceil_mode else 'floor'}(({n} + 2*{p} - {extent}) / {s}) + 1 = {rounded + 1}"
    if rounded + 1 != out:  # ceil_mode: the last window must start inside the input or the left padding
        text += f" - 1 = {out} (a last window would start in the right padding)"
    return text


def size_line(fr):
    """'Output size: floor((4 + 2*1 - 3) / 2) + 1 = 2' (one line per axis when they differ)."""
    p = fr.params
    axes = [_axis_size_text(fr.input_hw[a], p.kernel[a], p.stride[a], p.padding[a], p.dilation[a],
                            p.ceil_mode, fr.out_hw[a]) for a in (0, 1)]
    if axes[0] == axes[1]:
        return f"Output size: {axes[0]}"
    return f"Output height: {axes[0]}; width: {axes[1]}"


def text_lines(fr, t):
    """The lines under frame t: which step, the arithmetic of each channel, the divisor's reason."""
    n, channels = fr.n_steps, len(fr.steps)
    if t == n:
        each = f" in each of the {channels} channels" if channels > 1 else ""
        return [f"Done: {n} windows, {n} output values{each}", size_line(fr)]
    first = fr.steps[0][t]
    lines = [f"Step {t + 1} of {n}:"]
    if channels == 1:
        lines[0] += f" {_index(0, first, 1)} = {first.formula}"
    else:
        lines[0] += " the same window in every channel"
        lines += [f"{_index(c, steps[t], channels)} = {steps[t].formula}" for c, steps in enumerate(fr.steps)]
    note = divisor_note(fr, first)
    return lines + ([note] if note else [])


def _wrap(line, width):
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, break_on_hyphens=False, subsequent_indent="    ") or [""]


def legend_entries(fr):
    """(style, label) for each kind of cell this drawing contains."""
    pad = "-∞" if fr.params.mode == "max" else "0"
    cells = _geometry(fr)
    entries = [("window", "window (this step)"), ("current", "output (this step)")]
    if fr.params.mode == "max":
        entries.append(("argmax", "max of the window"))
    if any(fr.params.padding):
        entries.append(("padding", f"padding: adds {pad}"))
    if cells.unread:
        entries.append(("unread", "never read by any window"))
    if cells.overhang:
        entries.append(("overhang", "ceil_mode overhang: not counted"))
    return entries


# ----------------------------------------------------------------------------------------------------
# Layout (in cell units; y grows downwards)
# ----------------------------------------------------------------------------------------------------


class Geometry(NamedTuple):
    rmin: int
    cmin: int
    rows: int  # rows of the drawn input area: padding and overhang included
    cols: int
    unread: frozenset  # input cells no window reads (floor mode drops them)
    overhang: frozenset  # cells beyond the padding that some ceil_mode window covers


def _geometry(fr):
    (H, W), (ph, pw) = fr.input_hw, fr.params.padding
    cells = [cell for step in fr.steps[0] for cell in step.cells]
    read = {(c.row, c.col) for c in cells if c.kind == "input"}
    overhang = frozenset((c.row, c.col) for c in cells if c.kind == "overhang")
    rmax = max([H - 1 + ph] + [r for r, _ in overhang])
    cmax = max([W - 1 + pw] + [c for _, c in overhang])
    unread = frozenset((r, c) for r in range(H) for c in range(W) if (r, c) not in read)
    return Geometry(-ph, -pw, rmax + ph + 1, cmax + pw + 1, unread, overhang)


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


def _chars(n, font):
    return n * FONT[font] * CHAR


def _check_t(fr, t):
    """The number of steps, after checking that frame t exists."""
    n = fr.n_steps
    if not (isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= n):
        raise ValueError(f"t={t!r}: frames go from 0 to {n} ({n} steps, then the finished output). "
                         f"Fix: use 0 <= t <= {n}.")
    return n


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
    (H, W), (oh, ow) = fr.input_hw, fr.out_hw
    if len(fr.steps) == 1:
        return f"input X, {H}x{W}", f"output Y, {oh}x{ow}"
    return f"channel {channel}: X[{channel}], {H}x{W}", f"Y[{channel}], {oh}x{ow}"


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


def _minus(text):
    """Typeset minus signs: '-∞' -> '−∞' (U+2212, in DejaVu Sans), so negative numbers read as such."""
    return text.replace("-", "\u2212")


def _number_sizes(fr, pt):
    """Font sizes (points) of the input's and the output's numbers: one per grid, so that its longest
    number fits a cell (bold included)."""
    inputs = [fmt(v) for plane in fr.planes for row in plane for v in row] + ["-∞"]
    outputs = [fmt(step.result) for steps in fr.steps for step in steps]
    return [min(FONT["number"] * pt, 0.8 * pt / (CHAR * max(map(len, shown)))) for shown in (inputs, outputs)]


def draw_frame(ax, fr, t, still=False, stack_channels=False):
    """Draw frame t of fr (from `frames`) onto ax, clearing it first. Works on any axes size.
    still=False keeps the layout of every frame identical (animations); True fits frame t alone.
    stack_channels=True puts channels one above the other instead of side by side."""
    n = _check_t(fr, t)
    lay, geo = layout(fr, t if still else None, stack_channels), _geometry(fr)
    ax.clear()
    ax.set_axis_off()
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.set_aspect("equal")
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    pt = min(box.width * fig_w * 72 / lay.width, box.height * fig_h * 72 / lay.height)  # points per cell
    lw = max(pt / 30, 0.5)
    in_size, out_size = _number_sizes(fr, pt)

    def text(x, y, s, font, **kw):
        kw = {"ha": "left", "va": "center", "color": INK, **kw}
        ax.text(x, y, s, fontsize=FONT[font] * pt, parse_math=False, **kw)

    grid = defaultdict(list)  # style -> cells; drawn as one collection per style (fast for 32x32)

    def cell(x, y, style):
        grid[style].append(((x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)))

    for i, line in enumerate(_wrap(title(fr), lay.wrap)):
        text(0.3, 0.35 + (i + 0.5) * LINE, line, "title", weight="bold")

    current = fr.steps[0][t] if t < n else None
    pad_text = "\u2212∞" if fr.params.mode == "max" else "0"
    H, W = fr.input_hw
    for channel, plane in enumerate(fr.planes):
        dx, dy = lay.offsets[channel]
        left, top = 0.5 + dx, lay.grid_top + dy
        in_label, out_label = _grid_labels(fr, channel)

        def at(r, c, left=left, top=top):
            return left + c - geo.cmin, top + r - geo.rmin

        # Input area: input cells (grey if never read), the padding ring, the ceil_mode overhang.
        text(left, top - 0.72, in_label, "label", weight="bold")
        for r in range(geo.rmin, geo.rmin + geo.rows):
            for c in range(geo.cmin, geo.cmin + geo.cols):
                x, y = at(r, c)
                if 0 <= r < H and 0 <= c < W:
                    s = _minus(fmt(plane[r][c]))
                    unread = (r, c) in geo.unread
                    cell(x, y, "unread" if unread else "input")
                    ax.text(x + 0.5, y + 0.5, s, ha="center", va="center", zorder=5, parse_math=False,
                            fontsize=in_size, color=MUTED if unread else INK)
                elif (r, c) in geo.overhang:
                    cell(x, y, "overhang")
                elif r < H + fr.params.padding[0] and c < W + fr.params.padding[1]:
                    cell(x, y, "padding")
                    ax.text(x + 0.5, y + 0.5, pad_text, ha="center", va="center", zorder=5,
                            parse_math=False, fontsize=in_size, color=MUTED)
        for c in range(W):
            text(at(0, c)[0] + 0.5, top - 0.2, str(c), "index", ha="center", color=MUTED)
        for r in range(H):
            text(left - 0.12, at(r, 0)[1] + 0.5, str(r), "index", ha="right", color=MUTED)

        # Output grid: filled up to step t; the current cell highlighted like the window.
        ox, oy = left + lay.out_left, lay.out_top + dy
        text(ox, top - 0.72, out_label, "label", weight="bold")
        for i, step in enumerate(fr.steps[channel]):
            x, y = ox + step.out_col, oy + step.out_row
            if i > t:
                cell(x, y, "pending")
                continue
            cell(x, y, "current" if i == t else "done")
            s = _minus(fmt(step.result))
            ax.text(x + 0.5, y + 0.5, s, ha="center", va="center", zorder=5, parse_math=False,
                    fontsize=out_size, color=INK, weight="bold" if i == t else "normal")
        for c in range(fr.out_hw[1]):
            text(ox + c + 0.5, top - 0.2, str(c), "index", ha="center", color=MUTED)
        for r in range(fr.out_hw[0]):
            text(ox - 0.12, oy + r + 0.5, str(r), "index", ha="right", color=MUTED)
        if current is None:
            continue

        # The window: its taps (dilation leaves holes), its outline, the max; its output cell.
        step = fr.steps[channel][t]
        for tap in step.cells:
            x, y = at(tap.row, tap.col)
            ax.add_artist(Rectangle((x, y), 1, 1, facecolor=SKY, alpha=0.45, edgecolor="none", zorder=2))
        rows = [tap.row for tap in step.cells]
        cols = [tap.col for tap in step.cells]
        x0, y0 = at(min(rows), min(cols))
        x1, y1 = at(max(rows) + 1, max(cols) + 1)
        dilated = fr.params.dilation != (1, 1)
        ax.add_artist(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor=BLUE, zorder=4,
                               linewidth=lw * (1.5 if dilated else 3.2),
                               linestyle=(0, (3, 2)) if dilated else "solid"))
        if dilated:
            for tap in step.cells:
                x, y = at(tap.row, tap.col)
                ax.add_artist(Rectangle((x, y), 1, 1, facecolor="none", edgecolor=BLUE,
                                       linewidth=lw * 2.4, zorder=4))
        if step.argmax is not None:
            x, y = at(*step.argmax)
            ax.add_artist(Rectangle((x + 0.1, y + 0.1), 0.8, 0.8, facecolor="none", edgecolor=VERMILLION,
                                    linewidth=lw * 2.6, zorder=4.5))
        ox_cell, oy_cell = ox + step.out_col, oy + step.out_row
        ax.add_artist(Rectangle((ox_cell, oy_cell), 1, 1, facecolor="none", edgecolor=BLUE, zorder=4,
                               linewidth=lw * 3.2))

    for style, cells in grid.items():
        face, edge, hatch = STYLES[style]
        ax.add_collection(PolyCollection(cells, facecolor=face, edgecolor=edge, hatch=hatch, linewidth=lw,
                                         linestyle=(0, (2, 2)) if style == "overhang" else "solid",
                                         zorder=1), autolim=False)

    # The arithmetic of this step, then the legend.
    y = lay.text_top
    for line in text_lines(fr, t):
        for part in _wrap(line, lay.wrap):
            text(0.3, y + LINE / 2, _minus(part), "text")
            y += LINE
    for x, y, style, label in lay.legend:
        kw = {"linestyle": (0, (2, 2))} if style == "overhang" else {}
        if style == "argmax":
            kw = {"linewidth": lw * 2.4}
        if style in ("window", "current"):
            kw = {"linewidth": lw * 2.4}
        ax.add_artist(Rectangle((x, y + 0.1), 0.42, 0.42, zorder=3,
                               **{**dict(zip(("facecolor", "edgecolor", "hatch"), STYLES[style],
                                             strict=True)), "linewidth": lw, **kw}))
        text(x + 0.55, y + 0.31, _minus(label), "legend")


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


def frame_png(X, t=0, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
              count_include_pad=True, divisor_override=None, dpi=DPI, max_width=2000):
    """PNG bytes of frame t of pooling X ((H, W) or (C, H, W)) with pool2d's parameters.

    Invalid parameters raise poolkit's ValueError/TypeError (the same messages as pool2d).
    Wide frames (large or many channels) get a lower dpi so the PNG is at most max_width pixels wide."""
    fr = frames(X, kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                divisor_override)
    fig = frame_figure(fr, t)
    return png_bytes(fig, min(dpi, max_width / fig.get_figwidth()))


__all__ = ["Frames", "draw_frame", "frame_figure", "frame_png", "frames", "layout", "png_bytes", "size_line",
           "text_lines", "title"]
