// The sliding-window widget's front end: it only DRAWS and PLAYS the scene Python synced (`packed`: the
// state as compressed JSON, read by unpackState).
// No pooling happens here: every number, formula, cell kind, window and sentence comes from poolkit
// (explain.py via widget.py); `text` holds the catalogue's sentences with {names} this file fills in.
// The current step lives in this view; playing sends nothing to the kernel. Only parameter controls set
// traits. Pure helpers are exported and tested with `node --test` (tests/lesson/js/).

export const SPEEDS = [0.5, 1, 2, 4, 10, 30, Infinity]; // steps per second; Infinity: every frame
const DEFAULT_SPEED = 2; // index into SPEEDS: 2 steps per second, slow enough to read each formula
export const KEYS = {
  " ": "toggle", ArrowRight: "next", ArrowLeft: "back", Home: "first", End: "last",
  "+": "faster", "=": "faster", "-": "slower", l: "loop", L: "loop", Escape: "unpin",
};
const PAIRS = [["kernel_size", 1], ["stride", 1], ["padding", 0], ["dilation", 1]];
const KIND_CLASS = { i: "pk-in", u: "pk-in pk-unread", p: "pk-pad", o: "pk-overhang" };
const STYLE_CLASS = {
  window: "pk-win", argmax: "pk-argmax", current: "pk-cur", padding: "pk-pad", hole: "pk-hole",
  overhang: "pk-overhang", unread: "pk-unread", reader: "pk-reader",
};
// Layout, in px. idx, arrow, gapIn and gapCh are read from widget.css (--pk-idx ...) when the widget is
// shown; these are the defaults (and what the unit tests use).
export const SIZES = {
  idx: 22, arrow: 24, gapIn: 12, gapCh: 28, minFont: 11, readFont: 14, numberMax: 46, minNumberCell: 27,
  numberGrid: 12, imageMax: 24, imageMin: 14, stackHeight: 700, fallbackWidth: 840,
};

// ------------------------------------------------------------------------------- pure helpers (tested)

/** Fill "{name}" placeholders of a catalogue template. */
export function fill(template, values = {}) {
  return String(template).replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

/** Typographic minus: "-∞" reads as "−∞". */
export const minus = (s) => String(s).replace(/-/g, "−");

/** A parameter as a (height, width) pair: 2 -> [2, 2]; null -> [fallback, fallback]. */
export const pair = (v, fallback) => (Array.isArray(v) ? v : v == null ? [fallback, fallback] : [v, v]);

export const clamp = (t, n) => Math.max(0, Math.min(n - 1, t));

/** The action a key stands for, or null. */
export const keyAction = (key) => KEYS[key] ?? null;

/** A speed label: 2 -> "2 /s", Infinity -> "max". */
export const speedLabel = (rate) => (rate === Infinity ? "max" : `${rate} /s`);

/** The step after t when playing: t + 1, 0 when looping at the end, or null to stop. */
export function nextStep(t, n, loop) {
  if (t + 1 < n) return t + 1;
  return loop ? 0 : null;
}

/** [row, col] of a flat index into an H x W plane. */
/** The state as widget.py's pack_state sends it (zlib-compressed JSON bytes, a DataView) -> the object; {} for none. */
export async function unpackState(bytes) {
  if (!bytes || !bytes.byteLength) return {};
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Response(stream).json();
}

export const cellOf = (flat, W) => [Math.floor(flat / W), flat % W];

/** The full text of grid cell k (a cell may show a rounded one). */
export const fullText = (grid, k) => grid.full[k] ?? grid.text[k];

/** The drawn cells [r, c] of step t's window: Python's rows of output row i times its columns of j. */
export function windowCells(S, t) {
  const [i, j] = cellOf(t, S.out[1]);
  return S.win_rows[i].flatMap((r) => S.win_cols[j].map((c) => [r, c]));
}

/** The steps whose window reads input cell (r, c), from Python's per-axis readers. */
export function readersOf(S, r, c) {
  const rows = S.row_readers[r] || [];
  const cols = S.col_readers[c] || [];
  return rows.flatMap((i) => cols.map((j) => i * S.out[1] + j));
}

/** The kind letter of drawn cell (r, c): i input, u unread input, p padding, o overhang. */
export function kindAt(S, r, c) {
  return S.kinds[(r - S.rows[0]) * (S.cols[1] - S.cols[0] + 1) + (c - S.cols[0])];
}

/** A cell h px high: its width and number font (px); font 0 = too small for numbers, drawn as an image.
 * text10 is the px width of the widest number at a 10 px font. */
export function cellFor(h, text10) {
  let font = Math.min(18, Math.round(h * 0.4));
  if (font < SIZES.minFont) return { h, w: h, font: 0 };
  const need = (f) => Math.ceil((text10 * f) / 10) + 12; // + padding and borders
  // a long number first gets a smaller font (not below readFont), then a wider cell
  if (need(font) > h) font = Math.max(Math.min(font, SIZES.readFont), Math.floor((10 * (h - 12)) / text10));
  return { h, w: Math.max(h, need(font)), font };
}

/** The arrangements to try: all C channels in a row (input beside output, or stacked), then divisors. */
export function arrangements(C) {
  const options = [["row", C], ["stack", C]];
  for (let n = C - 1; n > 1; n--) if (C % n === 0) options.push(["row", n], ["stack", n]);
  if (C > 1) options.push(["row", 1]);
  return options;
}

/** Pure layout choice. g: {avail, C, rows, cols, orows, ocols, text10, inTitle, outTitle} (px and cells).
 * The first arrangement that fits the width, largest cells first: numbers in the cells if the grid is
 * small enough, else an image with cells of at least imageMin px; then fewer channels per row. */
export function chooseLayout(g, Z = SIZES) {
  const width = {
    row: (w) => Math.max(g.inTitle, Z.idx + g.cols * w) + 2 * Z.gapIn + Z.arrow + Math.max(g.outTitle, Z.idx + g.ocols * w),
    stack: (w) => Math.max(g.inTitle, g.outTitle, Z.idx + g.cols * w),
  };
  const tall = (arrange, h) => arrange === "stack" && (g.rows + g.orows) * h > Z.stackHeight;
  const fits = (arrange, n, cell) => n * width[arrange](cell.w) + (n - 1) * Z.gapCh <= g.avail && !tall(arrange, cell.h);
  const passes = [[Z.imageMax, Z.imageMin, false]];
  if (g.rows <= Z.numberGrid && g.cols <= Z.numberGrid) passes.unshift([Z.numberMax, Z.minNumberCell, true]);
  const options = arrangements(g.C);
  const tries = [[options.filter(([, n]) => n === g.C), passes], [options.filter(([, n]) => n < g.C), passes],
    [options, [[Z.imageMin - 1, 6, false]]]];
  const largest = ([arrange, n], [top, bottom, numbers]) => {
    for (let h = top; h >= bottom; h--) {
      const cell = cellFor(h, g.text10);
      if (numbers === cell.font > 0 && fits(arrange, n, cell)) return { ...cell, arrange, n };
    }
    return null;
  };
  // among those that fit: more channels per row, then input beside output unless stacking gives cells
  // at least 35% larger
  const score = (L) => L.n * 1000 + L.h * (L.arrange === "row" ? 1.35 : 1);
  for (const [group, sizes] of tries)
    for (const size of sizes) {
      const fitting = group.map((option) => largest(option, size)).filter(Boolean);
      if (fitting.length) return fitting.reduce((a, b) => (score(b) > score(a) ? b : a));
    }
  return { ...cellFor(6, g.text10), arrange: "row", n: 1 }; // wider than any screen: scrolls
}

export const layoutKey = (L) => (L ? [L.h, L.w, L.font, L.arrange, L.n].join() : "");

/** What the probe line says about a hovered or pinned input-area cell. */
export function probeText(S, T, r, c) {
  const kind = kindAt(S, r, c);
  if (kind === "p") return fill(T.not_input_padding, { r, c });
  if (kind === "o") return fill(T.not_input_overhang, { r, c });
  const ts = readersOf(S, r, c);
  if (!ts.length) return fill(T.never_read, { r, c });
  const where = ts.map((t) => `Y[${cellOf(t, S.out[1]).join(", ")}]`).join(", ");
  return fill(T.read_by, { r, c, count: ts.length, where });
}

/** Channel c's remark at step t: the winner's flat index (modes that pick one), then ties or NaN. */
export function channelNote(S, T, c, t) {
  const ch = S.channels[c];
  const flat = ch.argmax[t];
  const parts = [];
  if (flat >= 0) {
    const [r, col] = cellOf(flat, S.shape[2]);
    parts.push(fill(T.index, { index: flat, r, W: S.shape[2], c: col }));
  }
  if (ch.remarks[t]) parts.push(ch.remarks[t]);
  return parts.join("; ");
}

/** The note of step t (Python sends each distinct note once). */
export const stepNote = (S, t) => (S.note.length ? S.notes[S.note[t]] : S.notes[0] || "");

// ------------------------------------------------------------------------------- DOM building blocks

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value != null) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function put(node, ...children) {
  node.replaceChildren(...children.filter((c) => c != null));
}

function skeleton(el, T) {
  el.classList.add("pk-sw");
  const dom = {
    root: h("div", { class: "pk-root", tabindex: "0", "data-lm-suppress-shortcuts": "true" }),
    title: h("div", { class: "pk-title" }), torch: h("code", { class: "pk-torch" }),
    controls: h("div", { class: "pk-controls" }), noKernel: h("div", { class: "pk-no-kernel" }),
    error: h("div", { class: "pk-error", role: "alert" }), stage: h("div", { class: "pk-stage" }),
    stepLine: h("div", { class: "pk-stepline" }), formulas: h("div", { class: "pk-formulas" }),
    note: h("div", { class: "pk-note" }), probe: h("div", { class: "pk-probe" }),
    player: h("div", { class: "pk-player" }), shape: h("div", { class: "pk-shape" }),
    legend: h("div", { class: "pk-legend" }), shadeKey: h("span", { class: "pk-key", "data-key": "shade" }),
  };
  const keys = [["Space", T.key_space], ["← →", T.key_arrows], ["Home End", T.key_ends], ["+ −", T.key_speed],
    ["L", T.key_loop], ["Esc", T.key_escape]];
  const help = h("details", { class: "pk-help" }, h("summary", { text: T.keys_title }),
    h("ul", {}, ...keys.map(([k, what]) => h("li", {}, h("kbd", { text: k }), " " + what)),
      h("li", { text: T.hover_help }), h("li", { text: T.click_help })));
  const panel = h("div", { class: "pk-panel" }, dom.stepLine, dom.formulas, dom.note, dom.probe);
  dom.root.append(h("div", { class: "pk-head" }, dom.title, h("span", { class: "pk-torch-label", text: "PyTorch:" }),
    dom.torch), dom.controls, dom.noKernel, dom.error, dom.stage, panel, dom.player, dom.shape, dom.legend, help);
  el.append(dom.root);
  return dom;
}

/** The parameter controls. Each sets a trait (Python recomputes); all carry data-needs-kernel. */
function buildControls(ctx) {
  const { model, T, dom } = ctx;
  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const field = (name, ...children) => h("label", { class: "pk-field", "data-param": name }, ...children);
  const needs = { "data-needs-kernel": "" };
  const inputs = {};
  for (const [name] of PAIRS) {
    const [hIn, wIn] = ["height", "width"].map((axis) => h("input", {
      type: "number", class: "pk-num", "aria-label": `${name} ${axis}`, title: T[axis], ...needs }));
    const onChange = () => {
      // An empty stride means PyTorch's default (= kernel_size): fill it from the placeholder.
      const value = (input) => num(input) ?? (input.placeholder ? Number(input.placeholder) : null);
      send(name, [value(hIn), value(wIn)]);
    };
    for (const input of [hIn, wIn]) input.addEventListener("change", onChange);
    inputs[name] = [hIn, wIn];
    dom.controls.append(field(name, h("span", { text: T[name] }), hIn, h("span", { class: "pk-times", text: "×" }), wIn));
  }
  inputs.mode = h("select", { "aria-label": "mode", ...needs },
    ...model.get("modes").map(([value, text]) => h("option", { value, text })));
  inputs.mode.addEventListener("change", () => send("mode", inputs.mode.value));
  dom.controls.prepend(field("mode", h("span", { text: T.mode }), inputs.mode));
  inputs.ceil_mode = h("input", { type: "checkbox", "aria-label": "ceil_mode", ...needs });
  inputs.ceil_mode.addEventListener("change", () => send("ceil_mode", inputs.ceil_mode.checked));
  dom.controls.append(field("ceil_mode", inputs.ceil_mode, h("span", { text: "ceil_mode" })));
  inputs.count_include_pad = h("input", { type: "checkbox", "aria-label": "count_include_pad", ...needs });
  inputs.count_include_pad.addEventListener("change", () => send("count_include_pad", inputs.count_include_pad.checked));
  inputs.divisor_override = h("input", { type: "number", class: "pk-num", placeholder: "None", "aria-label": "divisor_override", ...needs });
  inputs.divisor_override.addEventListener("change", () => send("divisor_override", num(inputs.divisor_override)));
  const avgOnly = [field("count_include_pad", inputs.count_include_pad, h("span", { text: "count_include_pad" })),
    field("divisor_override", h("span", { text: "divisor_override" }), inputs.divisor_override)];
  for (const node of avgOnly) node.classList.add("pk-avg-only"), node.setAttribute("title", T.avg_only);
  const initial = Object.fromEntries(ctx.params.map((k) => [k, model.get(k)]));
  const reset = h("button", { class: "pk-btn pk-reset", title: T.reset_tip, text: T.reset, ...needs });
  reset.addEventListener("click", () => {
    for (const [k, v] of Object.entries(initial)) model.set(k, v);
    model.save_changes();
  });
  dom.controls.append(...avgOnly, reset);
  return { inputs, avgOnly };
}

/** Show the traits' current values in the controls (a reset or Python may change them). */
function syncControls(ctx) {
  const { model, T } = ctx;
  const { inputs, avgOnly } = ctx.controls;
  const kernel = pair(model.get("kernel_size"), 2);
  for (const [name, fallback] of PAIRS) {
    const value = model.get(name);
    const [hIn, wIn] = inputs[name];
    const empty = name === "stride" && value == null;
    const [a, b] = empty ? ["", ""] : pair(value, fallback);
    hIn.value = a ?? "";
    wIn.value = b ?? "";
    // an empty stride shows PyTorch's default (= kernel_size) as a placeholder
    [hIn.placeholder, wIn.placeholder] = empty ? kernel.map((k) => (Number.isInteger(k) ? String(k) : "")) : ["", ""];
    if (empty) hIn.title = wIn.title = T.stride_default;
  }
  inputs.mode.value = model.get("mode");
  inputs.ceil_mode.checked = !!model.get("ceil_mode");
  inputs.count_include_pad.checked = !!model.get("count_include_pad");
  const d = model.get("divisor_override");
  inputs.divisor_override.value = d == null ? "" : d;
  // fields only some modes use (Python's mode table says which) are dimmed for the others
  const mode = model.get("modes").find(([name]) => name === model.get("mode"));
  for (const node of avgOnly) node.classList.toggle("pk-dim", !(mode && mode[2]));
}

/** The player: buttons, scrubber, counter, speed, loop, gradient view. None of them needs a kernel. */
function buildPlayer(ctx, act) {
  const { T, dom, view } = ctx;
  const btn = (text, label, action, cls = "") => h("button", {
    class: `pk-btn ${cls}`, title: label, "aria-label": label, text,
    onclick: () => {
      act(action);
      dom.root.focus({ preventScroll: true });
    },
  });
  const p = {
    first: btn("|◀", T.first_tip, "first"), back: btn("◀", T.back_tip, "back"),
    play: btn(T.play, T.play_tip, "toggle", "pk-play"), next: btn("▶", T.next_tip, "next"),
    last: btn("▶|", T.last_tip, "last"),
    slider: h("input", { type: "range", class: "pk-slider", min: "0", value: "0", "aria-label": "step" }),
    counter: h("span", { class: "pk-counter" }),
    speed: h("select", { "aria-label": "speed", title: T.speed_tip },
      ...SPEEDS.map((rate, i) => h("option", { value: String(i), text: speedLabel(rate) }))),
    loop: h("input", { type: "checkbox", "aria-label": "loop" }),
    grad: h("input", { type: "checkbox", "aria-label": "gradient" }),
  };
  p.slider.addEventListener("input", () => act("seek", Number(p.slider.value)));
  p.speed.addEventListener("change", () => act("speed", Number(p.speed.value)));
  p.loop.addEventListener("change", () => (view.loop = p.loop.checked));
  p.grad.addEventListener("change", () => act("grad", p.grad.checked));
  dom.player.append(p.first, p.back, p.play, p.next, p.last, p.slider, p.counter,
    h("label", { class: "pk-field" }, h("span", { text: T.speed }), p.speed),
    h("label", { class: "pk-field" }, p.loop, h("span", { text: T.loop })),
    h("label", { class: "pk-field", title: T.gradient_tip }, p.grad, h("span", { text: T.gradient })));
  return p;
}

/** px widths the layout needs that only the browser knows: titles and the widest number, in the
 * widget's own font. */
function measured(ctx) {
  const { S, view, dom } = ctx;
  const family = getComputedStyle(dom.root).fontFamily || "sans-serif";
  const ctx2d = document.createElement("canvas").getContext("2d");
  const width = (font) => (text) => {
    ctx2d.font = `${font} ${family}`;
    return ctx2d.measureText(text).width;
  };
  const title = width("600 13px");
  const titles = [0, 1].map((k) => Math.ceil(Math.max(...S.labels.map((l) => title(l[k])))) + 6);
  const number = width("700 10px");
  const seen = new Set(["00"]);
  for (const ch of S.channels)
    for (const grid of [view.grad ? ch.grad : ch.input, ch.output]) for (const v of grid.text) seen.add(minus(v));
  return { inTitle: titles[0], outTitle: titles[1], text10: Math.max(...[...seen].map(number)) };
}

function layoutFor(ctx) {
  const { S, dom } = ctx;
  const m = measured(ctx);
  const css = getComputedStyle(dom.root);
  const px = (name, fallback) => parseFloat(css.getPropertyValue(name)) || fallback;
  ctx.sizes = { ...SIZES, idx: px("--pk-idx", SIZES.idx), arrow: px("--pk-arrow", SIZES.arrow),
    gapIn: px("--pk-gap-in", SIZES.gapIn), gapCh: px("--pk-gap-ch", SIZES.gapCh) };
  return {
    ...chooseLayout({
      avail: dom.stage.clientWidth || dom.root.clientWidth || SIZES.fallbackWidth, C: S.shape[0],
      rows: S.rows[1] - S.rows[0] + 1, cols: S.cols[1] - S.cols[0] + 1, orows: S.out[0], ocols: S.out[1], ...m,
    }, ctx.sizes), ...m, idx: ctx.sizes.idx, arrow: ctx.sizes.arrow,
  };
}

function paintCell(cell, grid, k, tip, T) {
  const text = grid.text[k];
  const exact = fullText(grid, k);
  cell.textContent = minus(text);
  cell.title = tip + minus(exact) + (text === exact ? "" : fill(T.rounded_tip, { text: minus(text) }));
  cell.classList.toggle("pk-special", grid.shade[k] == null);
  if (grid.shade[k] == null) cell.style.removeProperty("--shade");
  else cell.style.setProperty("--shade", grid.shade[k] / 100);
}

function gridNode(cls, c0, c1, L, image, label) {
  const grid = h("div", { class: `pk-grid ${cls}` });
  grid.style.gridTemplateColumns = `${L.idx}px repeat(${c1 - c0 + 1}, ${L.w}px)`;
  grid.style.setProperty("--cw", `${L.w}px`);
  grid.style.setProperty("--ch", `${L.h}px`);
  grid.append(h("div", { class: "pk-idx" }));
  const shown = (i) => !image || i % 4 === 0; // an image gets every 4th index only
  for (let col = c0; col <= c1; col++)
    grid.append(h("div", { class: "pk-idx pk-idx-col", text: label(col) && shown(col) ? col : "" }));
  return { grid, shown };
}

/** The input area of channel c: padding ring, overhang and input cells, keyed "r,c". */
function buildInput(ctx, c, L) {
  const { S, T, view } = ctx;
  const [, H, W] = S.shape;
  const { grid, shown } = gridNode("pk-grid-in", S.cols[0], S.cols[1], L, view.image, (col) => col >= 0 && col < W);
  const cells = new Map();
  const source = view.grad ? S.channels[c].grad : S.channels[c].input;
  for (let r = S.rows[0]; r <= S.rows[1]; r++) {
    grid.append(h("div", { class: "pk-idx pk-idx-row", text: r >= 0 && r < H && shown(r) ? r : "" }));
    for (let col = S.cols[0]; col <= S.cols[1]; col++) {
      const kind = kindAt(S, r, col);
      const cell = h("div", { class: `pk-cell ${KIND_CLASS[kind]}`, "data-r": r, "data-c": col });
      if (kind === "i" || kind === "u") {
        paintCell(cell, source, r * W + col, `${view.grad ? "∂ΣY/∂" : ""}X[${r}, ${col}] = `, T);
        if (kind === "u") cell.title += T.tip_unread;
        cell.classList.toggle("pk-zero", view.grad && fullText(source, r * W + col) === "0");
      } else if (kind === "p") {
        cell.textContent = S.pad;
        cell.title = fill(T.tip_padding, { pad: S.pad });
      } else cell.title = T.tip_overhang;
      cells.set(`${r},${col}`, cell);
      grid.append(cell);
    }
  }
  return { grid, cells };
}

/** The output grid of a channel: one cell per step, row-major. */
function buildOutput(ctx, L) {
  const { S, view } = ctx;
  const { grid } = gridNode("pk-grid-out", 0, S.out[1] - 1, L, view.image, () => true);
  const cells = [];
  for (let i = 0; i < S.out[0]; i++) {
    grid.append(h("div", { class: "pk-idx pk-idx-row", text: !view.image || i % 4 === 0 ? i : "" }));
    for (let j = 0; j < S.out[1]; j++) {
      const cell = h("div", { class: "pk-cell pk-pending", "data-i": i, "data-j": j, "data-t": i * S.out[1] + j });
      cells.push(cell);
      grid.append(cell);
    }
  }
  return { grid, cells };
}

/** Lay the channels out on the stage for layout L; returns per channel its cells and window boxes. */
function buildStage(ctx, L, hover) {
  const { S, dom } = ctx;
  const stack = L.arrange === "stack";
  dom.stage.replaceChildren();
  dom.stage.style.gridTemplateColumns = `repeat(${L.n}, max-content)`;
  dom.stage.dataset.arrange = `${L.arrange} ${L.n}`;
  const gridWidth = (n) => L.idx + n * L.w;
  return S.channels.map((_, c) => {
    const input = buildInput(ctx, c, L);
    const out = buildOutput(ctx, L);
    const box = h("div", { class: "pk-window" });
    const outBox = h("div", { class: "pk-window pk-window-out" });
    const inWrap = h("div", { class: "pk-gridwrap" }, input.grid, box);
    const outWrap = h("div", { class: "pk-gridwrap" }, out.grid, outBox);
    const inWidth = Math.max(L.inTitle, stack ? L.outTitle : 0, gridWidth(S.cols[1] - S.cols[0] + 1));
    const inCol = h("div", { class: "pk-col", style: `width:${inWidth}px` }, h("div", { class: "pk-label", text: S.labels[c][0] }), inWrap);
    const outCol = h("div", { class: "pk-col", style: `width:${stack ? inWidth : Math.max(L.outTitle, gridWidth(S.out[1]))}px` },
      h("div", { class: "pk-label", text: S.labels[c][1] }), outWrap);
    const arrow = h("div", { class: "pk-arrow", text: stack ? "↓" : "→" });
    if (stack) arrow.style.paddingLeft = `${L.idx + (S.out[1] * L.w) / 2 - L.arrow / 2}px`;
    dom.stage.append(h("div", { class: `pk-channel${stack ? " pk-stack" : ""}`, "data-channel": c }, inCol, arrow, outCol));
    for (const cell of [...input.cells.values(), ...out.cells]) {
      cell.addEventListener("mouseenter", () => hover("enter", cell));
      cell.addEventListener("mouseleave", () => hover("leave", cell));
      cell.addEventListener("click", () => hover("click", cell));
    }
    return { input: input.cells, out: out.cells, box, outBox, inWrap, outWrap };
  });
}

function placeBox(box, wrap, a, b, outside) {
  // box over the cells from a to b, relative to wrap; around them when the input is drawn as an image,
  // so that the outline covers none of the window's pixels
  if (!a || !b) return void (box.style.display = "none");
  const base = wrap.getBoundingClientRect();
  const p = a.getBoundingClientRect();
  const q = b.getBoundingClientRect();
  const out = outside ? 3 : 0;
  Object.assign(box.style, { left: `${p.left - base.left - out}px`, top: `${p.top - base.top - out}px`,
    width: `${q.right - p.left + 2 * out}px`, height: `${q.bottom - p.top + 2 * out}px`, display: "block" });
}

/** Output cells 0..upTo show their value (the output fills in as the window moves). */
function fillOutputs(ctx, upTo) {
  const { S, T, view } = ctx;
  for (let c = 0; c < ctx.grids.length; c++) {
    const grid = S.channels[c].output;
    for (let t = Math.min(view.filled, upTo) + 1; t <= Math.max(view.filled, upTo); t++) {
      const cell = ctx.grids[c].out[t];
      const [i, j] = cellOf(t, S.out[1]);
      if (t <= upTo) {
        paintCell(cell, grid, t, `Y[${i}, ${j}] = `, T);
        cell.dataset.value = fullText(grid, t);
        cell.classList.remove("pk-pending");
      } else {
        cell.textContent = "";
        delete cell.dataset.value;
        cell.title = fill(T.pending, { i, j });
        cell.classList.add("pk-pending");
      }
    }
  }
  view.filled = upTo;
}

/** Mark step `shown`'s window in every channel: its cells, the holes between them, outline, winner. */
function markWindow(ctx, shown, mark) {
  const { S, view } = ctx;
  const cells = windowCells(S, shown);
  const [i, j] = cellOf(shown, S.out[1]);
  const [rs, cs] = [S.win_rows[i], S.win_cols[j]];
  const taps = new Set(cells.map(([r, c]) => `${r},${c}`));
  ctx.grids.forEach((g, c) => {
    for (const [r, cc] of cells) mark(g.input.get(`${r},${cc}`), "pk-win");
    if (S.dilated)
      for (let r = rs[0]; r <= rs[rs.length - 1]; r++)
        for (let cc = cs[0]; cc <= cs[cs.length - 1]; cc++) if (!taps.has(`${r},${cc}`)) mark(g.input.get(`${r},${cc}`), "pk-hole");
    placeBox(g.box, g.inWrap, g.input.get(`${rs[0]},${cs[0]}`), g.input.get(`${rs[rs.length - 1]},${cs[cs.length - 1]}`), view.image);
    const flat = S.channels[c].argmax[shown];
    if (flat >= 0) mark(g.input.get(cellOf(flat, S.shape[2]).join(",")), "pk-argmax");
    const outCell = g.out[shown];
    mark(outCell, "pk-cur");
    placeBox(g.outBox, g.outWrap, outCell, outCell, false);
    if (shown > view.t) {
      // previewing a cell the player has not reached yet: show its value until the preview ends
      outCell.textContent = minus(S.channels[c].output.text[shown]);
      mark(outCell, "pk-preview");
      view.previewed.push(outCell);
    }
  });
}

/** One frame: the window of the shown step, the output filled to the player's step, the words. */
function drawFrame(ctx) {
  const { S, T, view, dom, player } = ctx;
  if (!S.channels) return;
  for (const [node, cls] of view.marked) node.classList.remove(cls);
  view.marked = [];
  for (const cell of view.previewed) if (Number(cell.dataset.t) > view.filled) cell.textContent = "";
  view.previewed = [];
  const mark = (node, cls) => node && (node.classList.add(cls), view.marked.push([node, cls]));
  const focus = view.pinned || view.hover;
  const shown = focus && focus.kind === "out" ? focus.t : view.t;
  const n = S.out[0] * S.out[1];
  fillOutputs(ctx, view.t);
  markWindow(ctx, shown, mark);
  dom.probe.textContent = "";
  if (focus && focus.kind === "in") {
    const key = `${focus.r},${focus.c}`;
    for (const g of ctx.grids) {
      mark(g.input.get(key), "pk-probe-cell");
      for (const t of readersOf(S, focus.r, focus.c)) mark(g.out[t], "pk-reader");
    }
    dom.probe.textContent = probeText(S, T, focus.r, focus.c) + (view.pinned ? `  📌 ${T.pinned}` : "");
  }
  drawWords(ctx, shown, focus);
  player.slider.value = String(view.t);
  player.counter.textContent = `${view.t + 1} / ${n}`;
  Object.assign(dom.root.dataset, { step: String(view.t), shown: String(shown), frames: String(++view.frames) });
  for (const b of [player.first, player.back]) b.disabled = view.t === 0;
  for (const b of [player.next, player.last]) b.disabled = view.t === n - 1;
}

function drawWords(ctx, shown, focus) {
  const { S, T, view, dom } = ctx;
  const n = S.out[0] * S.out[1];
  const [i, j] = cellOf(shown, S.out[1]);
  dom.stepLine.textContent = `${fill(T.step, { t: shown + 1, n })} ${fill(T.step_output, { i, j })}`
    + (view.pinned && view.pinned.kind === "out" ? `  📌 ${T.pinned}` : "")
    + (focus && focus.kind === "out" && !view.pinned ? `  ${T.preview}` : "");
  put(dom.formulas, ...S.channels.map((ch, c) => {
    const note = channelNote(S, T, c, shown);
    return h("div", { class: "pk-formula" },
      S.channels.length > 1 ? h("span", { class: "pk-chname", text: `${S.names[c]}: ` }) : null,
      h("span", { class: "pk-math", text: `Y[${i}, ${j}] = ${minus(ch.formula[shown])}` }),
      note ? h("span", { class: "pk-chnote", text: `  ·  ${note}` }) : null);
  }));
  dom.note.textContent = [stepNote(S, shown), view.grad ? S.grad_note : ""].filter(Boolean).join("  ·  ");
}

function swatch(cls, label) {
  return h("span", { class: "pk-key" }, h("span", { class: `pk-cell pk-swatch ${cls}` }), label);
}

function shadeLegend(ctx) {
  // what the background of an input/output cell means (its brightness comes from Python's shades)
  const { S, T, view } = ctx;
  const key = view.grad ? "grad_range" : "range";
  const range = S.channels.length > 1 ? T.shade_each : S.channels[0][key].join(" … ");
  const [ramp, template] = view.grad ? ["pk-ramp-grad", T.shade_grad] : view.image ? ["pk-ramp-image", T.shade_image]
    : ["", T.shade];
  put(ctx.dom.shadeKey, h("span", { class: `pk-ramp ${ramp}` }), fill(template, { range }));
}

/** The scene's words that change only with the state: title, PyTorch line, sizes, legend. */
function drawScene(ctx) {
  const { S, T, dom } = ctx;
  dom.title.textContent = S.title;
  dom.torch.textContent = S.pytorch;
  put(dom.shape, h("div", { class: "pk-shape-title", text: S.size_title }),
    ...S.size_lines.map((line) => h("div", { class: "pk-math", text: line })),
    S.unread_note ? h("div", { class: "pk-unread-note", text: S.unread_note }) : null,
    S.channels_note ? h("div", { text: S.channels_note }) : null);
  put(dom.legend, ...S.legend.map(([style, label]) => swatch(STYLE_CLASS[style], label)),
    swatch("pk-reader", T.legend_reader), dom.shadeKey,
    S.rounded ? h("span", { class: "pk-key", "data-key": "rounded" }, h("span", { class: "pk-approx", text: "≈" }), T.legend_rounded) : null);
}

/** A refusal from Python, as fields: title, the parameter and value, the rule, the fix. */
function drawError(ctx, error) {
  const { T, dom } = ctx;
  dom.title.textContent = `${error.title} · ⚠`;
  put(dom.error, h("div", { class: "pk-error-title", text: `⚠ ${error.title}` }),
    h("div", { class: "pk-error-rule" }, h("code", { class: "pk-error-value", text: error.value }), `: ${minus(error.rule)}`),
    h("div", { class: "pk-error-fix", text: `${T.fix} ${error.fix}` }));
}

// ------------------------------------------------------------------------------- wiring

function render({ model, el }) {
  const T = model.get("text");
  const view = {
    t: 0, grad: false, playing: false, speed: DEFAULT_SPEED, loop: false, pinned: null, hover: null,
    filled: -1, raf: 0, last: 0, frames: 0, marked: [], previewed: [], layout: null, image: false,
  };
  const ctx = { model, T, view, S: {}, grids: [], dom: skeleton(el, T),
    params: ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "mode", "count_include_pad", "divisor_override"] };
  const { dom } = ctx;
  const act = (action, value) => actions[action](value);
  const rebuild = () => layOut(ctx);
  const actions = playerActions(ctx, () => drawFrame(ctx), rebuild);
  ctx.actions = actions;
  ctx.controls = buildControls(ctx);
  ctx.player = buildPlayer(ctx, act);
  withoutKernel(ctx, !!document.querySelector('meta[name="poolkit-no-kernel"]'));
  dom.root.addEventListener("keydown", (e) => onKey(e, ctx, act));

  let latest = 0; // a newer state may arrive while one is unpacking: only the newest is drawn
  async function onState() {
    const seq = ++latest;
    const S = await unpackState(model.get("packed"));
    if (seq !== latest) return;
    ctx.S = S;
    const error = model.get("error") || {};
    const failed = !!error.rule;
    syncControls(ctx);
    dom.root.classList.toggle("pk-has-error", failed);
    put(dom.error);
    actions.stop();
    if (failed) return drawError(ctx, error);
    drawScene(ctx);
    rebuild();
    view.pinned = view.hover = null;
    view.t = clamp(model.get("initial_step") || 0, ctx.S.out[0] * ctx.S.out[1]);
    requestAnimationFrame(() => drawFrame(ctx)); // the window outline is measured once the grids are shown
    drawFrame(ctx);
  }

  const onParams = () => syncControls(ctx);
  model.on("change:packed", onState);
  model.on("change:error", onState);
  for (const name of ctx.params) model.on(`change:${name}`, onParams);
  actions.speed(DEFAULT_SPEED);
  onState();
  // redraw when the layout changes (shown, resized); lay out again when another cell size fits
  const resize = new ResizeObserver(() => {
    if (!ctx.S.channels) return;
    if (layoutKey(layoutFor(ctx)) !== layoutKey(view.layout)) rebuild();
    drawFrame(ctx);
  });
  resize.observe(dom.stage);
  return () => {
    cancelAnimationFrame(view.raf);
    resize.disconnect();
    model.off("change:packed", onState);
    model.off("change:error", onState);
    for (const name of ctx.params) model.off(`change:${name}`, onParams);
  };
}

/** On a page without a kernel (a static site) the parameter controls are off and a note says why. */
function withoutKernel(ctx, static_) {
  const { dom, T } = ctx;
  dom.root.classList.toggle("pk-static", static_);
  if (!static_) return;
  for (const node of dom.controls.querySelectorAll("[data-needs-kernel]")) node.disabled = true;
  dom.noKernel.textContent = T.no_kernel;
}

/** Choose the layout for the width we have and build the grids (on a new state, resize or view). */
function layOut(ctx) {
  const { S, view, dom } = ctx;
  if (!S.channels) return;
  const L = layoutFor(ctx);
  view.layout = L;
  view.image = L.font === 0;
  // a big input (e.g. a 32x32 photo) is drawn as an image: numbers only in the formula and on hover
  dom.root.classList.toggle("pk-image", view.image);
  dom.root.classList.toggle("pk-dilated", !!S.dilated);
  dom.root.classList.toggle("pk-grad", view.grad);
  dom.root.style.setProperty("--font", `${L.font || 10}px`);
  shadeLegend(ctx);
  ctx.grids = buildStage(ctx, L, (what, cell) => onHover(ctx, what, cell));
  ctx.player.slider.max = String(S.out[0] * S.out[1] - 1);
  view.filled = -1;
  view.marked = [];
}

/** What the player's buttons, keys and timer do to the view. */
function playerActions(ctx, draw, rebuild) {
  const { view, dom } = ctx;
  const n = () => (ctx.S.out ? ctx.S.out[0] * ctx.S.out[1] : 0);
  const go = (t, fromPlayer = false) => {
    if (!ctx.S.channels) return;
    if (!fromPlayer && view.playing) setPlaying(false);
    view.t = clamp(t, n());
    if (!fromPlayer && view.pinned && view.pinned.kind === "out") view.pinned = null;
    draw();
  };
  const tick = (now) => {
    if (!view.playing) return;
    if (now - view.last >= 1000 / SPEEDS[view.speed] - 1) {
      view.last = now;
      const t = nextStep(view.t, n(), view.loop);
      if (t === null) return setPlaying(false);
      go(t, true);
    }
    view.raf = requestAnimationFrame(tick);
  };
  function setPlaying(on) {
    view.playing = on && n() > 1;
    ctx.player.play.textContent = view.playing ? ctx.T.pause : ctx.T.play;
    dom.root.dataset.playing = view.playing ? "1" : "0";
    cancelAnimationFrame(view.raf);
    if (view.playing) {
      view.last = performance.now();
      view.raf = requestAnimationFrame(tick);
    }
  }
  const speed = (i) => {
    view.speed = clamp(i, SPEEDS.length);
    ctx.player.speed.value = String(view.speed);
    dom.root.classList.toggle("pk-fast", SPEEDS[view.speed] > 4);
  };
  return {
    first: () => go(0), last: () => go(n() - 1), next: () => go(view.t + 1), back: () => go(view.t - 1),
    seek: (t) => go(t), stop: () => setPlaying(false),
    toggle: () => {
      if (!view.playing && view.t >= n() - 1) go(0); // play again from the start
      view.pinned = null;
      setPlaying(!view.playing);
    },
    speed, faster: () => speed(view.speed + 1), slower: () => speed(view.speed - 1),
    loop: () => (ctx.player.loop.checked = view.loop = !view.loop),
    unpin: () => ((view.pinned = null), draw()),
    grad: (on) => ((view.grad = on), rebuild(), draw()), // the gradient's numbers may need other cells
  };
}

function onKey(e, ctx, act) {
  if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) && e.target.type !== "range") {
    // typing in a field is for the field: not a notebook shortcut (digits would change the cell type)
    e.stopPropagation();
    if (e.key === "Enter") e.target.blur(); // commit the number (fires "change")
    return;
  }
  const action = keyAction(e.key);
  if (!action || !ctx.S.channels) return;
  e.preventDefault();
  e.stopPropagation(); // keep JupyterLab's own shortcuts (run cell, move cell...) out of it
  act(action);
}

function onHover(ctx, what, cell) {
  const { view } = ctx;
  const target = cell.dataset.t != null ? { kind: "out", t: Number(cell.dataset.t) }
    : { kind: "in", r: Number(cell.dataset.r), c: Number(cell.dataset.c) };
  const same = (a, b) => a && b && a.kind === b.kind && a.t === b.t && a.r === b.r && a.c === b.c;
  if (what === "leave") {
    if (!view.hover) return;
    view.hover = null;
  } else if (what === "enter") {
    if (view.pinned) return;
    if (target.kind === "out") ctx.actions.stop(); // looking at one window pauses the film
    view.hover = target;
  } else {
    view.pinned = same(view.pinned, target) ? null : target;
    if (view.pinned) ctx.actions.stop();
    if (view.pinned && target.kind === "out") view.t = target.t; // pinning an output cell moves the player
    view.hover = null;
    ctx.dom.root.focus({ preventScroll: true });
  }
  drawFrame(ctx);
}

export default { render };
