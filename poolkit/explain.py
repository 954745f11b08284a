"""From a trace to a scene: what every drawn cell is, and every sentence a learner reads about it.

`scene(X, **pool_params)` traces every channel once (poolkit.trace.tabulate) and works out the drawing:
the area to draw (input, padding ring, ceil_mode overhang), the kind of each cell, which outputs read each
input, and the notes. poolkit.draw (matplotlib) and poolkit.widget (the browser) both render a Scene;
neither recomputes geometry or writes its own sentences.

TEXT is the one catalogue of learner-facing strings, each in Chinese and English. The widget shows labels in
both ("窗口 window") and step notes in Chinese, with the English terms in them; figures show English only (a
learner's matplotlib may have no CJK font). An entry without Chinese shows its English everywhere.
"""

import functools
import math
from typing import NamedTuple

import torch

from .params import (
    PoolingTypeError,
    PoolingValueError,
    axis_sizes,
    check_input,
    make_params,
    output_hw,
    size_text,
)
from .trace import fmt, tabulate

LECTURE_X = torch.arange(9.0).reshape(3, 3)  # the lecture's [[0, 1, 2], [3, 4, 5], [6, 7, 8]]

TEXT = {  # key: (Chinese, English); {names} are filled in by say()
    "title": ("", "{mode}: {arguments}"),
    "widget_title": ("{mode_zh}", "{mode} · {channels}{H}×{W} → {oh}×{ow}"),
    "channels": ("", "{C} channels, "),
    "input_label": ("输入", "input X, {H}x{W}"),
    "output_label": ("输出", "output Y, {oh}x{ow}"),
    "channel_label": ("通道", "channel {c}: X[{c}], {H}x{W}"),
    "channel_name": ("", "channel {c}"),
    "channel_output_label": ("输出", "Y[{c}], {oh}x{ow}"),
    "legend_window": ("窗口", "window (this step)"),
    "legend_current": ("当前输出", "output (this step)"),
    "legend_argmax": ("最大值", "max of the window"),
    "legend_padding": ("填充", "padding: adds {pad}"),
    "legend_padding_wins": ("填充", "padding: adds {pad}, never wins"),
    "legend_hole": ("空洞", "dilation hole: skipped"),
    "legend_overhang": ("越界", "ceil_mode overhang: not counted"),
    "legend_unread": ("未读取", "never read by any window"),
    "legend_reader": ("读取它的输出", "outputs reading the hovered cell"),
    "legend_rounded": ("四舍五入", "a number too long for its cell is rounded; hover it for the value"),
    "shade": ("灰度", "shade: brighter = larger value ({range})"),
    "shade_image": ("亮度", "brightness = value, brighter = larger ({range}); "
                            "numbers in the formula and on hover"),
    "shade_grad": ("梯度", "gradient: deeper orange = more gradient ({range})"),
    "shade_each": ("", "each channel from its own min to its max"),
    "size_title": ("输出形状", "Output size"),
    # PyTorch's output size along axis {a}, the formula then its numbers: the one place it is written
    # ({lo}{hi}: ⌊⌋, or ⌈⌉ with ceil_mode); poolkit.exercises quotes the formula from here
    "size_axis": ("", "{a}_out = {lo}({a} + 2p − d·(k−1) − 1) / s{hi} + 1 = "
                      "{lo}({n} + 2·{p} − {d}·({k}−1) − 1) / {s}{hi} + 1 = {raw}"),
    "size_drop": ("", " → {out}: ceil_mode drops the last window: it would start at {start} ≥ {a} ({n}), "
                      "in the right padding (a window must start inside the input or the left padding)"),
    "each_channel": ("每个通道单独池化", "Each of the {C} channels is pooled on its own: {C} channels in, "
                                        "{C} channels out."),
    "step": ("第 {t} / {n} 步", "Step {t} of {n}:"),
    "step_output": ("", "output Y[{i}, {j}]"),
    "same_window": ("", "the same window in every channel"),
    "done": ("", "Done: {n} windows, {n} output values{each}"),
    "done_each": ("", " in each of the {C} channels"),
    "pinned": ("已固定", "pinned (click again or Esc)"),
    "preview": ("", "(hover preview)"),
    "read_by": ("", "X[{r}, {c}] is read by {count} window(s): {where}"),
    "never_read": ("", "X[{r}, {c}] is never read by any window"),
    "not_input_padding": ("", "({r}, {c}) is padding: it is not an input cell"),
    "not_input_overhang": ("", "({r}, {c}) is ceil_mode overhang: it is not an input cell"),
    "pending": ("", "Y[{i}, {j}]: not computed yet"),
    "rounded_tip": ("", " (the cell shows {text}: rounded to fit)"),
    "tip_unread": ("", " · never read by any window"),
    "tip_padding": ("", "padding: contributes {pad}"),
    "tip_overhang": ("", "ceil_mode overhang: beyond the padding, never read or counted"),
    # step notes: the widget shows the Chinese sentence ("zh"), the figures the English one
    "divide_override": ("÷ {d}：divisor_override={d} 代替了通常的除数 (divisor)",
                        "÷ {d}: divisor_override={d} replaces the usual divisor"),
    "divide_sum": ("（1 把平均变成求和）", " (1 turns the average into a sum)"),
    "divide_with_pad": ("÷ {d} = {inputs} + {pad} 个填充的 0（count_include_pad=True 把填充也算进除数）",
                        "÷ {d} = {inputs} + {pad} padding zeros (count_include_pad=True counts the padding)"),
    "divide_without_pad": ("÷ {d} = 只数 {inputs}（count_include_pad=False 不算 {pad} 个填充格）",
                           "÷ {d} = the {inputs} only (count_include_pad=False leaves out the {pad} "
                           "padding cells)"),
    "divide_plain": ("÷ {d} = 窗口里的 {inputs}", "÷ {d} = the {inputs} of the window"),
    "input_cells": ("{count} 个输入格", "{count} input cell{plural}"),
    "overhang_uncounted": ("{over} 个 ceil_mode 越界格 (overhang) 在填充之外，从不计入除数，"
                           "count_include_pad=True 也不算",
                           "the {over} ceil_mode overhang cells (beyond the padding) never count, "
                           "not even with count_include_pad=True"),
    "only_padding": ("这个窗口只看到填充 (padding)：结果是 {pad}",
                     "this window sees only padding: the result is {pad}"),
    "padding_never_wins": ("{pad_count} 个填充格 (padding) 都是 {pad}，永远不会被选中",
                           "the {pad_count} padding cells hold {pad}, so they can never win"),
    "overhang_unread": ("{over} 个 ceil_mode 越界格 (overhang) 在输入和填充之外：不读取",
                        "the {over} ceil_mode overhang cells are outside input and padding: not read"),
    "dilation_note": ("dilation={dilation}：窗口跨 {sh}×{sw} 格，只读取标出的 {kh}×{kw} 格，"
                      "中间的跳过 (dilation holes)",
                      "dilation={dilation}: the window spans {sh}×{sw} cells but reads only its "
                      "{kh}×{kw} marked cells; the ones between are skipped"),
    "index": ("", "index {index} = {r}·{W} + {c} (return_indices)"),
    "nan_wins": ("NaN 胜出：NaN 会传播（下标 index 指向最后一个 NaN：PyTorch CPU 实现的做法）",
                 "NaN wins: NaN propagates (the index points to the last NaN: PyTorch's CPU kernel)"),
    "tie": ("并列 (tie)：{count} 个格子都等于 {value}，按行优先顺序第一个胜出（PyTorch CPU 实现的做法）",
            "tie: {count} cells equal {value}, the first in row-major order wins (PyTorch's CPU kernel)"),
    "grad_one": ("梯度", "Gradient view: each output sends its gradient 1 to the max of its window (★); "
                         "a cell that wins k windows gets k, the others 0."),
    "grad_spread": ("梯度", "Gradient view: each output spreads its gradient 1 evenly, 1/divisor to each "
                            "input cell it counted; overlapping windows add up."),
    "unread_note": ("", "{count} input cells are never read{why}"),
    "unread_floor": ("", ": floor mode drops {dropped} (ceil_mode=True would add windows there)"),
    "unread_reach": ("", ": no window reaches {dropped}"),
    "unread_skip": ("", ": the stride or dilation skips over them"),
    "unread_skip_others": ("", "; the stride or dilation skips the others"),
    "play": ("▶ 播放", "Play"),
    "pause": ("❚❚ 暂停", "Pause"),
    "play_tip": ("播放/暂停", "play / pause (Space)"),
    "first_tip": ("第一步", "first step (Home)"),
    "back_tip": ("上一步", "step back (←)"),
    "next_tip": ("下一步", "step forward (→)"),
    "last_tip": ("最后一步", "last step (End)"),
    "speed": ("速度", "speed"),
    "speed_tip": ("速度", "steps per second (+ / −)"),
    "loop": ("循环", "loop"),
    "gradient": ("梯度", "gradient ∂ΣY/∂X"),
    "gradient_tip": ("", "show d(sum of all outputs)/dX in the input grid: "
                         "where backprop sends the gradient"),
    "mode": ("池化", "mode"),
    "kernel_size": ("窗口", "kernel_size"),
    "stride": ("步幅", "stride"),
    "padding": ("填充", "padding"),
    "dilation": ("空洞", "dilation"),
    "stride_default": ("", "empty = PyTorch's default, stride = kernel_size"),
    "avg_only": ("", "average pooling only"),
    "height": ("", "height (rows)"),
    "width": ("", "width (columns)"),
    "reset": ("↺ 重置", "reset"),
    "reset_tip": ("", "back to the settings this widget started with"),
    "keys_title": ("⌨ 快捷键", "Keyboard & mouse"),
    "key_space": ("播放/暂停", "play / pause"),
    "key_arrows": ("上一步/下一步", "step back / forward"),
    "key_ends": ("第一步/最后一步", "first / last step"),
    "key_speed": ("加速/减速", "faster / slower"),
    "key_loop": ("循环", "loop on / off"),
    "key_probe": ("逐格查看输入", "probe the input cell by cell: which outputs read it"),
    "key_escape": ("取消固定", "unpin"),
    "hover_help": ("鼠标悬停", "Hover an output cell: see its window · "
                           "hover an input cell: see which outputs read it"),
    "click_help": ("单击", "Click a cell to pin it (click again or Esc to release) · "
                           "click the widget first so keys reach it"),
    "error_title": ("参数无效", "Invalid parameters"),
    "too_large_title": ("输入太大", "Too large to draw cell by cell"),
    "fix": ("修正", "Fix:"),
    "no_kernel": ("改参数需要运行中的笔记本（本地 make.py lab，或 Binder）。",
                  "Changing the parameters needs a running notebook (a Jupyter kernel): run it locally with "
                  "make.py lab, or on Binder. Play, step and hover work here."),
    # the receptive-field view (poolkit.field_view), in Chinese with the English terms
    "fv_title": ("感受野 (receptive field)：把鼠标停在最后一层的一个格子上，或选中它",
                 "Receptive field: hover or select a cell of the last layer"),
    "fv_input": ("输入 (input)", "input"),
    "fv_map": ("第 {i} 层之后", "after layer {i}"),
    "fv_field": ("感受野 (receptive field) {h}×{w}", "receptive field {h}×{w}"),
    "fv_field_input": ("感受野 (receptive field) {h}×{w}，占输入 {H}×{W} 像素的 {share}%",
                       "receptive field {h}×{w}, {share}% of the {H}×{W} input"),
    "fv_padding_only": ("感受野为空：这个格子只读到填充 (padding)",
                        "empty field: this cell reads only padding"),
    "fv_cell": ("所选的格子 ({r}, {c})", "the chosen cell ({r}, {c})"),
    "fv_pinned": ("已固定 (pinned)：再单击它或按 Esc 取消", "pinned: click it again or press Esc to release"),
    "fv_help": ("悬停最后一层的格子；或单击本图后用 ← ↑ → ↓ 移动，Enter 或单击固定 (pin)，Esc 取消固定",
                "Hover a cell of the last layer; or click the view, move with the arrow keys, pin with Enter "
                "or a click, release with Esc"),
}


def template(key, lang="en"):
    """TEXT[key] with its {names}: English ("en"); Chinese then English ("both", for labels: "窗口 window");
    or Chinese alone ("zh", for the sentences of step notes, which name the English terms themselves).
    Without Chinese, English."""
    zh, en = TEXT[key]
    if lang == "zh" and zh:
        return zh
    return f"{zh} {en}" if lang == "both" and zh else en


JOIN = {"en": "; ", "zh": "；"}  # between the notes of one step


def say(key, lang="en", **values):
    """TEXT[key] filled in."""
    return template(key, lang).format(**values)


# ----------------------------------------------------------------------------------------------------
# What fits on screen
# ----------------------------------------------------------------------------------------------------

MAX_SIDE = 64  # rows or columns per channel: at 6 px a cell, input and output still fit an ~840 px notebook
MAX_CELLS = 4096  # cells in all channels together: one 64x64 plane, three 36x36 ones


class TooLarge(PoolingValueError):
    """An input with more cells than a drawing can show one by one."""


def check_drawable(shape):
    """Refuse (C, H, W) inputs too large to draw cell by cell, naming the size and a fix that fits."""
    C, H, W = shape
    if max(H, W) <= MAX_SIDE and C * H * W <= MAX_CELLS:
        return
    step = max(math.ceil(max(H, W) / MAX_SIDE), math.ceil(math.sqrt(C * H * W / MAX_CELLS)))
    small = (C, math.ceil(H / step), math.ceil(W / step))
    sliced = f"X[:, ::{step}, ::{step}]" if C > 1 else f"X[::{step}, ::{step}]"
    while small[0] * small[1] * small[2] > MAX_CELLS:  # many channels: keep the first one
        sliced, small = f"X[0, ::{step}, ::{step}]", (1, *small[1:])
    size = f"{C}×{H}×{W}" if C > 1 else f"{H}×{W}"
    raise TooLarge(
        "X", shape, f"{C * H * W:,} cells are too many to draw one by one (the widget draws at most "
        f"{MAX_SIDE}×{MAX_SIDE} per channel and {MAX_CELLS:,} in all).",
        f"show a smaller view, e.g. {sliced} ({'×'.join(map(str, small[1:] if small[0] == 1 else small))}), "
        "or SlidingWindow.from_photo(size=32).", shown=f"X is {size}")


# ----------------------------------------------------------------------------------------------------
# The scene
# ----------------------------------------------------------------------------------------------------


class Scene(NamedTuple):
    """Everything a drawing of pooling X shows, for every step."""

    table: object  # poolkit.trace.Table of all channels
    rows: tuple  # (first, last) drawn row, padding and overhang included (input rows are 0..H-1)
    cols: tuple
    kinds: dict  # (r, c) -> "input", "unread", "padding" or "overhang", for every drawn cell
    row_readers: dict  # input row r -> output rows whose windows read it
    col_readers: dict
    row_counts: list  # per output row: (input taps, input or padding taps, all taps) of its windows
    col_counts: list
    repeated: list  # per channel: the set of values that occur more than once (None: not worked out)

    @property
    def params(self):
        return self.table.params

    @property
    def channels(self):
        return len(self.table.grids)

    @property
    def n_steps(self):
        return self.table.out_hw[0] * self.table.out_hw[1]

    def counts(self, t):
        """(input, padding, overhang) cells of step t's window, from the per-axis tap kinds."""
        i, j = divmod(t, self.table.out_hw[1])
        (ri, rn, rk), (ci, cn, ck) = self.row_counts[i], self.col_counts[j]
        return ri * ci, rn * cn - ri * ci, rk * ck - rn * cn

    def input_taps(self, t):
        """(rows, cols) of step t's window that are input cells: it reads their product."""
        i, j = divmod(t, self.table.out_hw[1])
        return ([r for r, kind in self.table.row_taps[i] if kind == "input"],
                [c for c, kind in self.table.col_taps[j] if kind == "input"])


def _axis_counts(taps):
    """(input taps, input or padding taps, all taps) of one axis of a window."""
    return (sum(kind == "input" for _, kind in taps), sum(kind != "overhang" for _, kind in taps), len(taps))


def as_planes(X):
    """X as a (C, H, W) tensor: (H, W) gets one channel."""
    if not isinstance(X, torch.Tensor):
        raise PoolingTypeError("X", X, f"X must be a torch.Tensor, got {type(X).__name__}.",
                               "X = torch.tensor(X).", shown="X")
    if X.dim() not in (2, 3) or X.numel() == 0:
        raise PoolingValueError("X", tuple(X.shape), "a drawing shows one (H, W) plane or one (C, H, W) "
                                "image.", "pass e.g. X[0] for an (N, C, H, W) batch, or X.reshape(H, W).",
                                shown=f"X has shape {tuple(X.shape)}")
    return X if X.dim() == 3 else X[None]


def scene(X, kernel_size=2, **pool_params):
    """The Scene of pooling X ((H, W) or (C, H, W)) with pool2d's parameters; the trace is computed once."""
    params = make_params(kernel_size, **pool_params)
    planes = as_planes(X)
    check_input(planes, params)
    table = tabulate(planes, params)
    (H, W), (ph, pw) = table.input_hw, params.padding
    last_row = max([H - 1 + ph] + [r for taps in table.row_taps for r, _ in taps])
    last_col = max([W - 1 + pw] + [c for taps in table.col_taps for c, _ in taps])
    row_readers, col_readers = _readers(table.row_taps), _readers(table.col_taps)
    kinds = {}
    for r in range(-ph, last_row + 1):
        for c in range(-pw, last_col + 1):
            if 0 <= r < H and 0 <= c < W:
                kinds[r, c] = "input" if r in row_readers and c in col_readers else "unread"
            else:
                kinds[r, c] = "padding" if r < H + ph and c < W + pw else "overhang"
    counts = [[_axis_counts(taps) for taps in axis] for axis in (table.row_taps, table.col_taps)]
    repeated = [_repeated(grid) if table.indices is not None else None for grid in table.grids]
    return Scene(table, (-ph, last_row), (-pw, last_col), kinds, row_readers, col_readers, *counts, repeated)


def _repeated(grid):
    """The values that occur more than once in a plane (only they can tie)."""
    seen, twice = set(), set()
    for row in grid:
        for v in row:
            (twice if v in seen else seen).add(v)
    return twice


def _readers(axis_taps):
    """input position -> the output indices along this axis whose window reads it."""
    readers = {}
    for i, taps in enumerate(axis_taps):
        for pos, kind in taps:
            if kind == "input":
                readers.setdefault(pos, []).append(i)
    return readers


# ----------------------------------------------------------------------------------------------------
# Words
# ----------------------------------------------------------------------------------------------------


def title(sc):
    """'Max pooling: kernel_size=2, stride=1, padding=0' plus every non-default setting."""
    return say("title", mode=sc.params.spec.title, arguments=", ".join(sc.params.arguments()))


def widget_title(sc):
    (H, W), (oh, ow), C = sc.table.input_hw, sc.table.out_hw, sc.channels
    spec = sc.params.spec
    channels = say("channels", C=C) if C > 1 else ""
    return say("widget_title", "both", mode_zh=spec.title_zh, mode=spec.title, channels=channels, H=H, W=W,
               oh=oh, ow=ow)


def grid_labels(sc, c, lang="en"):
    """The titles above channel c's input and output grids."""
    (H, W), (oh, ow) = sc.table.input_hw, sc.table.out_hw
    if sc.channels == 1:
        return say("input_label", lang, H=H, W=W), say("output_label", lang, oh=oh, ow=ow)
    return say("channel_label", lang, c=c, H=H, W=W), say("channel_output_label", lang, c=c, oh=oh, ow=ow)


def pad_text(params):
    """What a padding cell holds, as shown: '−∞' for max pooling, '0' for average pooling."""
    return minus(fmt(params.spec.pad_value))


def minus(text):
    """Typeset minus signs: '-∞' -> '−∞' (U+2212), so negative numbers read as such."""
    return text.replace("-", "\u2212")


def size_lines(sc):
    """One line per axis: PyTorch's output-size formula, then the same with these numbers."""
    lines = []
    for a, ax in zip("HW", axis_sizes(sc.table.input_hw, sc.params), strict=True):
        lo, hi = ("⌈", "⌉") if ax.ceil_mode else ("⌊", "⌋")
        line = say("size_axis", a=a, lo=lo, hi=hi, n=ax.size, p=ax.p, d=ax.d, k=ax.k, s=ax.s, raw=ax.raw)
        if ax.raw != ax.out:
            line += say("size_drop", out=ax.out, start=(ax.raw - 1) * ax.s - ax.p, a=a, n=ax.size)
        lines.append(line)
    return lines


def legend(sc, lang="en"):
    """(style, label) of each kind of cell this scene contains."""
    spec, kinds = sc.params.spec, set(sc.kinds.values())
    entries = [("window", say("legend_window", lang))]
    if spec.picks_one:
        entries.append(("argmax", say("legend_argmax", lang)))
    entries.append(("current", say("legend_current", lang)))
    if "padding" in kinds:
        key = "legend_padding_wins" if spec.picks_one else "legend_padding"
        entries.append(("padding", say(key, lang, pad=pad_text(sc.params))))
    if sc.params.dilation != (1, 1):
        entries.append(("hole", say("legend_hole", lang)))
    if "overhang" in kinds:
        entries.append(("overhang", say("legend_overhang", lang)))
    if "unread" in kinds:
        entries.append(("unread", say("legend_unread", lang)))
    return entries


def _divisor_notes(p, d, n_in, n_pad, n_over, lang):
    inputs = say("input_cells", lang, count=n_in, plural="s" * (n_in != 1))
    if p.divisor_override is not None:
        notes = [say("divide_override", lang, d=d) + (say("divide_sum", lang) if d == 1 else "")]
    elif p.count_include_pad and n_pad:
        notes = [say("divide_with_pad", lang, d=d, inputs=inputs, pad=n_pad)]
    elif n_pad:
        notes = [say("divide_without_pad", lang, d=d, inputs=inputs, pad=n_pad)]
    else:
        notes = [say("divide_plain", lang, d=d, inputs=inputs)]
    return notes + ([say("overhang_uncounted", lang, over=n_over)] if n_over else [])


def step_note(sc, t, lang="en"):
    """Why step t's arithmetic looks the way it does (the same for every channel); lang "en" or "zh"."""
    table = sc.table
    d = table.divisors[t // table.out_hw[1]][t % table.out_hw[1]] if table.divisors is not None else None
    return _note(sc.params, d, *sc.counts(t), lang)


@functools.lru_cache(maxsize=256)
def _note(p, d, n_in, n_pad, n_over, lang):
    """The step note of a window with these counts (windows repeat: worked out once per kind)."""
    if p.spec.divides:
        notes = _divisor_notes(p, d, n_in, n_pad, n_over, lang)
    else:
        notes = []
        if n_in == 0:
            notes.append(say("only_padding", lang, pad=pad_text(p)))
        elif n_pad:
            notes.append(say("padding_never_wins", lang, pad_count=n_pad, pad=pad_text(p)))
        if n_over:
            notes.append(say("overhang_unread", lang, over=n_over))
    if p.dilation != (1, 1):
        span = [d * (k - 1) + 1 for d, k in zip(p.dilation, p.kernel, strict=True)]
        notes.append(say("dilation_note", lang, dilation=size_text(p.dilation), sh=span[0], sw=span[1],
                         kh=p.kernel[0], kw=p.kernel[1]))
    return JOIN[lang].join(notes)


def winner(sc, c, t):
    """(row, col) of the input cell that wins step t in channel c (modes that pick one), else None."""
    table = sc.table
    if table.indices is None or sc.counts(t)[0] == 0:
        return None
    i, j = divmod(t, table.out_hw[1])
    return divmod(table.indices[c][i][j], table.input_hw[1])


def channel_remark(sc, c, t, lang="en"):
    """Channel c's remark at step t beyond its index: NaN or a tie ('' when neither)."""
    if winner(sc, c, t) is None:
        return ""
    table = sc.table
    result = table.results[c][t // table.out_hw[1]][t % table.out_hw[1]]
    if result != result:
        return say("nan_wins", lang)
    if sc.repeated[c] is not None and result not in sc.repeated[c]:
        return ""  # no other input cell holds this value: no tie possible
    grid, (rows, cols) = table.grids[c], sc.input_taps(t)
    ties = sum(grid[r][cc] == result for r in rows for cc in cols)
    return say("tie", lang, count=ties, value=fmt(result)) if ties > 1 else ""


def _span(name, first, size):
    """'row 24', 'rows 22–24', or '' when first == size (nothing left over)."""
    if first >= size:
        return ""
    return f"{name} {first}" if first == size - 1 else f"{name}s {first}–{size - 1}"


def unread_note(sc):
    """How many input cells no window reads, and why; '' when every cell is read."""
    unread = [rc for rc, kind in sc.kinds.items() if kind == "unread"]
    if not unread:
        return ""
    (H, W), p = sc.table.input_hw, sc.params
    last_row, last_col = max(sc.row_readers, default=-1), max(sc.col_readers, default=-1)
    dropped = " and ".join(d for d in (_span("row", last_row + 1, H), _span("column", last_col + 1, W)) if d)
    skipped = any(r <= last_row and c <= last_col for r, c in unread)  # gaps between windows
    ceil_hw = output_hw((H, W), p._replace(ceil_mode=True))
    if dropped and not p.ceil_mode and ceil_hw != sc.table.out_hw:
        why = say("unread_floor", dropped=dropped)
    elif dropped:
        why = say("unread_reach", dropped=dropped)
    else:
        why = say("unread_skip")
    if dropped and skipped:
        why += say("unread_skip_others")
    return say("unread_note", count=len(unread), why=why)


def gradient(sc, c):
    """d(sum of all outputs)/dX of channel c, read off the trace: a mode that picks one cell routes each
    output's gradient 1 to it (a cell that wins k windows gets k); an average spreads 1/divisor over the
    input cells of the window. Padding and overhang cells are not inputs: no gradient."""
    table, (H, W) = sc.table, sc.table.input_hw
    if table.indices is not None:
        flat = torch.tensor(table.indices[c]).flatten()
        flat = flat[(flat >= 0) & (flat < H * W)]  # (a window of padding only may point outside)
        return torch.bincount(flat, minlength=H * W).double().reshape(H, W).tolist()
    grad = torch.zeros(H, W, dtype=torch.float64)
    share = 1.0 / torch.tensor(table.divisors, dtype=torch.float64)
    for a in range(len(table.row_taps[0])):  # one tap of every window at a time
        rows = [(i, taps[a][0]) for i, taps in enumerate(table.row_taps) if taps[a][1] == "input"]
        for b in range(len(table.col_taps[0])):
            cols = [(j, taps[b][0]) for j, taps in enumerate(table.col_taps) if taps[b][1] == "input"]
            if rows and cols:
                (i, r), (j, cc) = (torch.tensor(list(zip(*pairs, strict=True))) for pairs in (rows, cols))
                grad.index_put_((r[:, None], cc[None, :]), share[i[:, None], j[None, :]], accumulate=True)
    return grad.tolist()
