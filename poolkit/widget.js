// The front end of poolkit's widgets: the sliding window (SlidingWindow, renderWindow) and the receptive-field
// view (FieldView, renderField), one ES module; each only DRAWS the scene Python synced (`packed`: the state
// as compressed JSON, read by unpackState). No pooling and no geometry happen here: every number, formula,
// cell kind, window, field and sentence comes from poolkit (explain.py via widget.py, fields.py via
// field_view.py); `text` holds the catalogue's sentences with {names} this file fills in.
// A view's state (step, playing, pin...) changes only through a pure table of transitions (nextView,
// fieldNext); one store per widget holds it and is the only code that writes it. Playing sends nothing to
// the kernel; only the parameter controls set traits, and Python names them (`controls`).
// Pure helpers are exported and tested with `node --test` (tests/lesson/js/).

export const SPEEDS = [0.5, 1, 2, 4, 10, 30, Infinity]; // steps per second; Infinity: every frame
const DEFAULT_SPEED = 2; // index into SPEEDS: 2 steps per second, slow enough to read each formula
export const KEYS = {
  " ": "toggle", ArrowRight: "next", ArrowLeft: "back", Home: "first", End: "last",
  "+": "faster", "=": "faster", "-": "slower", l: "loop", L: "loop", Escape: "unpin",
};
// Shift + an arrow moves the probe over the input area, one cell at a time (the keyboard's hover)
export const PROBE_KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
const KIND_CLASS = { i: "pk-in", u: "pk-in pk-unread", p: "pk-pad", o: "pk-overhang" };
const STYLE_CLASS = {
  window: "pk-win", argmax: "pk-argmax", current: "pk-cur", padding: "pk-pad", hole: "pk-hole",
  overhang: "pk-overhang", unread: "pk-unread", reader: "pk-reader",
};
// Layout, in px. idx, arrow, gapIn and gapCh are read from widget.css (--pk-idx ...) when the widget is
// shown; these are the defaults (and what the unit tests use).
export const SIZES = {
  idx: 22, arrow: 24, gapIn: 12, gapCh: 28, minFont: 11, readFont: 14, numberMax: 46, minNumberCell: 27,
  numberGrid: 12, imageMax: 24, imageMin: 14, stackHeight: 700, fallbackWidth: 840, fieldLabel: 96,
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

/** A key press as [action, value]: Shift + arrow probes the input ("probe", [dr, dc]); null for none. */
export const keyPress = (key, shift) => (shift && PROBE_KEYS[key] ? ["probe", PROBE_KEYS[key]]
  : keyAction(key) && [keyAction(key), undefined]);

/** A speed label: 2 -> "2 /s", Infinity -> "max". */
export const speedLabel = (rate) => (rate === Infinity ? "max" : `${rate} /s`);

/** The step after t when playing: t + 1, 0 when looping at the end, or null to stop. */
export function nextStep(t, n, loop) {
  if (t + 1 < n) return t + 1;
  return loop ? 0 : null;
}

/** The state as widget.py's pack_state sends it (zlib-compressed JSON bytes, a DataView) -> the object; {} for none. */
export async function unpackState(bytes) {
  if (!bytes || !bytes.byteLength) return {};
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Response(stream).json();
}

/** [row, col] of a flat index into an H x W plane. */
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

/** Channel c's remark at step t, as Python wrote it (the winner's index, ties, NaN; '' for none). */
export const channelNote = (S, c, t) => S.channels[c].remarks[t] || "";

/** The note of step t (Python sends each distinct note once). */
export const stepNote = (S, t) => (S.note.length ? S.notes[S.note[t]] : S.notes[0] || "");

/** The number of steps (windows) of a scene; 0 for none (an error). */
export const stepsOf = (S) => (S.out ? S.out[0] * S.out[1] : 0);

/** What a hovered or clicked cell stands for, from its data-* attributes: an output step or an input cell. */
export const targetOf = (data) => (data.t != null ? { kind: "out", t: Number(data.t) }
  : { kind: "in", r: Number(data.r), c: Number(data.c) });

const same = (a, b) => !!(a && b && a.kind === b.kind && a.t === b.t && a.r === b.r && a.c === b.c);

// ------------------------------------------------------------------------------- the view's state (tested)

/** The view at the start: step 0, paused, 2 steps/s, nothing pinned or hovered, the input's values. */
export const VIEW = Object.freeze({
  t: 0, playing: false, speed: DEFAULT_SPEED, loop: false, pinned: null, hover: null, grad: false,
});

// A step the learner asks for stops playing and releases a pinned output cell.
const go = (v, t, n) => ({ ...v, t: clamp(t, n), playing: false, pinned: v.pinned?.kind === "out" ? null : v.pinned });

// lo..hi: a scene's input area, S.rows or S.cols
const within = (x, [lo, hi]) => Math.max(lo, Math.min(hi, x));

/** Each action: (view, n steps, value, scene) -> the next view. */
export const TRANSITIONS = {
  first: (v, n) => go(v, 0, n),
  last: (v, n) => go(v, n - 1, n),
  next: (v, n) => go(v, v.t + 1, n),
  back: (v, n) => go(v, v.t - 1, n),
  seek: (v, n, t) => go(v, t, n),
  tick: (v, n) => {
    const t = nextStep(v.t, n, v.loop);
    return t === null ? { ...v, playing: false } : { ...v, t };
  },
  toggle: (v, n) => {
    const from = !v.playing && v.t >= n - 1 ? go(v, 0, n) : v; // at the end: play again from the start
    return { ...from, pinned: null, playing: !v.playing && n > 1 };
  },
  stop: (v) => ({ ...v, playing: false }),
  speed: (v, n, i) => ({ ...v, speed: clamp(i, SPEEDS.length) }),
  faster: (v) => ({ ...v, speed: clamp(v.speed + 1, SPEEDS.length) }),
  slower: (v) => ({ ...v, speed: clamp(v.speed - 1, SPEEDS.length) }),
  loop: (v, n, on = !v.loop) => ({ ...v, loop: on }),
  unpin: (v) => ({ ...v, pinned: null }),
  grad: (v, n, on) => ({ ...v, grad: on }),
  // hovering an output cell shows its window and pauses; nothing changes while a cell is pinned
  enter: (v, n, target) => (v.pinned ? v : { ...v, hover: target, playing: target.kind === "out" ? false : v.playing }),
  leave: (v) => (v.hover ? { ...v, hover: null } : v),
  // a click pins a cell (pinning an output cell moves the player there); clicking it again releases it
  click: (v, n, target) => {
    const pinned = same(v.pinned, target) ? null : target;
    const t = pinned && pinned.kind === "out" ? pinned.t : v.t;
    return { ...v, pinned, hover: null, t, playing: pinned ? false : v.playing };
  },
  scene: (v, n, first) => ({ ...v, t: clamp(first, n), playing: false, pinned: null, hover: null }),
  // the first press pins input cell (0, 0); each next one moves it, within the input area (padding included)
  probe: (v, n, [dr, dc], S) => {
    const at = v.pinned?.kind === "in" ? { r: v.pinned.r + dr, c: v.pinned.c + dc } : { r: 0, c: 0 };
    const pinned = { kind: "in", r: within(at.r, S.rows), c: within(at.c, S.cols) };
    return same(pinned, v.pinned) ? v : { ...v, pinned, hover: null, playing: false };
  },
};

/** The view after an action (unchanged, the same object, when the action changes nothing). */
export const nextView = (v, action, value, n, S) => TRANSITIONS[action](v, n, value, S);

/** The step whose window is shown: a hovered or pinned output cell's, else the player's. */
export function focusOf(v) {
  const focus = v.pinned || v.hover;
  return { focus, shown: focus && focus.kind === "out" ? focus.t : v.t };
}

// ------------------------------------------------------------------------------- the receptive-field view (tested)
// poolkit.FieldView: every map of a net, input first; pick or hover a cell of the last map and its field
// (Python's [r0, r1, c0, c1] per map, field_view.py) lights up on each map. Same grids, marks and packed state.

export const FIELD_KEYS = {
  ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Enter: "pin", " ": "pin",
  Escape: "unpin",
};

/** The field view at the start: Python's cell of the last map (flat), nothing hovered or pinned. */
export const fieldStart = (cell, W) => ({ cell: cell[0] * W + cell[1], hover: null, pinned: false });

/** Each action of the field view: (view, [H, W] of the last map, value) -> the next view. */
export const FIELD_TRANSITIONS = {
  enter: (v, hw, t) => (v.pinned ? v : { ...v, hover: t }),
  leave: (v) => (v.hover === null ? v : { ...v, hover: null }),
  click: (v, hw, t) => ({ cell: t, hover: null, pinned: !(v.pinned && v.cell === t) }),
  move: (v, [H, W], [dr, dc]) => {
    const [r, c] = cellOf(v.cell, W);
    return { ...v, hover: null, cell: clamp(r + dr, H) * W + clamp(c + dc, W) };
  },
  pin: (v) => ({ ...v, hover: null, pinned: !v.pinned }),
  unpin: (v) => ({ ...v, pinned: false }),
};

export const fieldNext = (v, action, value, hw) => FIELD_TRANSITIONS[action](v, hw, value);

/** The last map's cell whose field is shown: the hovered one, else the picked one. */
export const fieldShown = (v) => (v.hover === null ? v.cell : v.hover);

/** The action of a key in the field view, [action, value], or null. */
export function fieldKey(key) {
  const action = FIELD_KEYS[key];
  if (action == null) return null;
  return Array.isArray(action) ? ["move", action] : [action, undefined];
}

/** The cell size (px) that puts every map in one row of avail px: n maps of widths[i] cells, each with an
 * index column and at least Z.fieldLabel px wide (its label), arrows between (gapIn on each side); the largest from Z.imageMax down to 6 (then the row wraps). */
export function fieldCellSize(widths, avail, Z = SIZES) {
  const arrows = (widths.length - 1) * (Z.arrow + 2 * Z.gapIn);
  const width = (px) => widths.reduce((sum, n) => sum + Math.max(Z.fieldLabel, Z.idx + n * px), arrows);
  let px = Z.imageMax;
  while (px > 6 && width(px) > avail) px--;
  return px;
}

/** Call use(load()) for the newest call only: a newer state may arrive while one is still unpacking. */
export function latestOnly(load, use) {
  let latest = 0;
  return async () => {
    const seq = ++latest;
    const value = await load();
    if (seq === latest) use(value);
  };
}

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

/** model.on for each [event, handler]; returns the function that takes them off again. */
function listen(model, handlers) {
  for (const [event, handler] of handlers) model.on(event, handler);
  return () => handlers.forEach(([event, handler]) => model.off(event, handler));
}

/** Classes put on cells for one frame (and output values shown ahead, as a preview), undone by clear(). */
function marker() {
  let marked = [];
  let previewed = [];
  return {
    mark(node, cls) {
      if (node) node.classList.add(cls), marked.push([node, cls]);
    },
    preview(cell, text) {
      cell.textContent = text;
      this.mark(cell, "pk-preview");
      previewed.push(cell);
    },
    clear(filled) {
      for (const [node, cls] of marked) node.classList.remove(cls);
      for (const cell of previewed) if (Number(cell.dataset.t) > filled) cell.textContent = "";
      marked = [];
      previewed = [];
    },
  };
}

function skeleton(el, T) {
  el.classList.add("pk-sw");
  const dom = {
    root: h("div", { class: "pk-root", tabindex: "0", "data-lm-suppress-shortcuts": "true" }),
    title: h("div", { class: "pk-title" }), torch: h("code", { class: "pk-torch" }),
    controls: h("div", { class: "pk-controls" }), noKernel: h("div", { class: "pk-no-kernel" }),
    error: h("div", { class: "pk-error", role: "alert" }), stage: h("div", { class: "pk-stage" }),
    stepLine: h("div", { class: "pk-stepline" }), formulas: h("div", { class: "pk-formulas" }),
    note: h("div", { class: "pk-note" }), probe: h("div", { class: "pk-probe", "aria-live": "polite" }),
    player: h("div", { class: "pk-player" }), shape: h("div", { class: "pk-shape" }),
    legend: h("div", { class: "pk-legend" }), shadeKey: h("span", { class: "pk-key", "data-key": "shade" }),
  };
  const keys = [["Space", T.key_space], ["← →", T.key_arrows], ["Home End", T.key_ends], ["+ −", T.key_speed],
    ["L", T.key_loop], ["Shift + ← ↑ → ↓", T.key_probe], ["Esc", T.key_escape]];
  const help = h("details", { class: "pk-help" }, h("summary", { text: T.keys_title }),
    h("ul", {}, ...keys.map(([k, what]) => h("li", {}, h("kbd", { text: k }), " " + what)),
      h("li", { text: T.hover_help }), h("li", { text: T.click_help })));
  const panel = h("div", { class: "pk-panel" }, dom.stepLine, dom.formulas, dom.note, dom.probe);
  dom.root.append(h("div", { class: "pk-head" }, dom.title, h("span", { class: "pk-torch-label", text: "PyTorch:" }),
    dom.torch), dom.controls, dom.noKernel, dom.error, dom.stage, panel, dom.player, dom.shape, dom.legend, help);
  el.append(dom.root);
  return dom;
}

// ------------------------------------------------------------------------------- parameter controls

const NEEDS_KERNEL = { "data-needs-kernel": "" };
const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
const labelled = (c, ...children) => h("label", { class: "pk-field", "data-param": c.name }, ...children);

/** Each kind of control Python names (widget.py's CONTROL): (row, T, modes) -> its label node, its inputs,
 * read() the value to send, show(value, get) to display a trait's value. */
const CONTROL = {
  pair(c, T) {
    const inputs = ["height", "width"].map((axis) => h("input", {
      type: "number", class: "pk-num", "aria-label": `${c.label} ${T[axis]}`, title: T[axis], ...NEEDS_KERNEL }));
    const node = labelled(c, h("span", { text: c.label }), inputs[0], h("span", { class: "pk-times", text: "×" }),
      inputs[1]);
    // an empty field is PyTorch's default (stride: the kernel_size), shown as the placeholder
    const read = () => inputs.map((input) => number(input) ?? (input.placeholder ? Number(input.placeholder) : null));
    const show = (value, get) => {
      const empty = value == null && !!c.empty_from;
      const values = empty ? ["", ""] : pair(value, c.default);
      const hints = empty ? pair(get(c.empty_from), "").map((k) => (Number.isInteger(k) ? String(k) : "")) : ["", ""];
      inputs.forEach((input, k) => Object.assign(input, { value: values[k] ?? "", placeholder: hints[k] }));
      if (empty) for (const input of inputs) input.title = c.empty_tip;
    };
    return { node, inputs, read, show };
  },
  check(c) {
    const input = h("input", { type: "checkbox", ...NEEDS_KERNEL });
    return { node: labelled(c, input, h("span", { text: c.label })), inputs: [input], read: () => input.checked,
      show: (value) => (input.checked = !!value) };
  },
  menu(c, T, modes) {
    const input = h("select", NEEDS_KERNEL, ...modes.map(([value, text]) => h("option", { value, text })));
    return { node: labelled(c, h("span", { text: c.label }), input), inputs: [input], read: () => input.value,
      show: (value) => (input.value = value) };
  },
  number(c) {
    const input = h("input", { type: "number", class: "pk-num", placeholder: "None", ...NEEDS_KERNEL });
    return { node: labelled(c, h("span", { text: c.label }), input), inputs: [input], read: () => number(input),
      show: (value) => (input.value = value == null ? "" : value) };
  },
};

/** The parameter controls, one per row of Python's `controls`. Each sets its trait (Python recomputes). */
function buildControls(model, T, dom) {
  const send = (name, value) => (model.set(name, value), model.save_changes());
  const modes = model.get("modes");
  const controls = model.get("controls").map((c) => ({ ...c, ...CONTROL[c.kind](c, T, modes) }));
  for (const c of controls) {
    for (const input of c.inputs) input.addEventListener("change", () => send(c.name, c.read()));
    if (c.dividing_only) c.node.classList.add("pk-avg-only"), c.node.setAttribute("title", c.tip);
  }
  const initial = controls.map((c) => [c.name, model.get(c.name)]);
  const reset = () => (initial.forEach(([name, value]) => model.set(name, value)), model.save_changes());
  dom.controls.append(...controls.map((c) => c.node),
    h("button", { class: "pk-btn pk-reset", title: T.reset_tip, text: T.reset, onclick: reset, ...NEEDS_KERNEL }));
  return controls;
}

/** Show the traits' current values in the controls (a reset or Python may change them). */
function syncControls(model, controls) {
  const get = (name) => model.get(name);
  const menu = controls.find((c) => c.kind === "menu");
  const mode = model.get("modes").find(([name]) => name === get(menu.name));
  for (const c of controls) {
    c.show(get(c.name), get);
    // fields only some modes use (Python's mode table says which) are dimmed for the others
    if (c.dividing_only) c.node.classList.toggle("pk-dim", !(mode && mode[2]));
  }
}

/** On a page without a kernel (a static site) the parameter controls are off and a note says why. */
function withoutKernel(dom, T, static_) {
  dom.root.classList.toggle("pk-static", static_);
  if (!static_) return;
  for (const node of dom.controls.querySelectorAll("[data-needs-kernel]")) node.disabled = true;
  dom.noKernel.textContent = T.no_kernel;
}

// ------------------------------------------------------------------------------- the player

/** The player: buttons, scrubber, counter, speed, loop, gradient view. None of them needs a kernel.
 * A button showing a word is named by it; one showing a symbol (◀) by what it does. */
function buildPlayer(T, dom, act) {
  const btn = (text, tip, action, cls = "", label = tip) => h("button", {
    class: `pk-btn ${cls}`, title: tip, "aria-label": label, text,
    onclick: () => (act(action), dom.root.focus({ preventScroll: true })),
  });
  const p = {
    first: btn("|◀", T.first_tip, "first"), back: btn("◀", T.back_tip, "back"),
    play: btn(T.play, T.play_tip, "toggle", "pk-play", null), next: btn("▶", T.next_tip, "next"),
    last: btn("▶|", T.last_tip, "last"),
    slider: h("input", { type: "range", class: "pk-slider", min: "0", value: "0", "aria-label": "step" }),
    counter: h("span", { class: "pk-counter" }),
    speed: h("select", { title: T.speed_tip }, ...SPEEDS.map((rate, i) => h("option", { value: String(i), text: speedLabel(rate) }))),
    loop: h("input", { type: "checkbox" }), grad: h("input", { type: "checkbox" }),
  };
  p.slider.addEventListener("input", () => act("seek", Number(p.slider.value)));
  p.speed.addEventListener("change", () => act("speed", Number(p.speed.value)));
  p.loop.addEventListener("change", () => act("loop", p.loop.checked));
  p.grad.addEventListener("change", () => act("grad", p.grad.checked));
  dom.player.append(p.first, p.back, p.play, p.next, p.last, p.slider, p.counter,
    h("label", { class: "pk-field" }, h("span", { text: T.speed }), p.speed),
    h("label", { class: "pk-field" }, p.loop, h("span", { text: T.loop })),
    h("label", { class: "pk-field", title: T.gradient_tip }, p.grad, h("span", { text: T.gradient })));
  return p;
}

/** The play loop: step() every 1/rate() s on animation frames, while on. */
function playTimer(rate, step) {
  let raf = 0;
  let last = 0;
  let running = false;
  const tick = (now) => {
    if (!running) return;
    if (now - last >= 1000 / rate() - 1) (last = now), step();
    if (running) raf = requestAnimationFrame(tick);
  };
  return (on) => {
    if (on === running) return;
    running = on;
    cancelAnimationFrame(raf);
    if (on) (last = performance.now()), (raf = requestAnimationFrame(tick));
  };
}

/** The player's controls as the view says: play or pause, speed, loop, gradient. */
function showView({ T, dom, player }, v, play) {
  play(v.playing);
  player.play.textContent = v.playing ? T.pause : T.play;
  dom.root.dataset.playing = v.playing ? "1" : "0";
  player.speed.value = String(v.speed);
  dom.root.classList.toggle("pk-fast", SPEEDS[v.speed] > 4);
  player.loop.checked = v.loop;
  player.grad.checked = v.grad;
}

function drawPlayer({ dom, player }, view, shown, n) {
  player.slider.value = String(view.t);
  player.counter.textContent = `${view.t + 1} / ${n}`;
  const frames = String(Number(dom.root.dataset.frames || 0) + 1);
  Object.assign(dom.root.dataset, { step: String(view.t), shown: String(shown), frames });
  for (const b of [player.first, player.back]) b.disabled = view.t === 0;
  for (const b of [player.next, player.last]) b.disabled = view.t === n - 1;
}

function onKey(e, ready, act) {
  if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) && e.target.type !== "range") {
    // typing in a field is for the field: not a notebook shortcut (digits would change the cell type)
    e.stopPropagation();
    if (e.key === "Enter") e.target.blur(); // commit the number (fires "change")
    return;
  }
  const press = keyPress(e.key, e.shiftKey);
  if (!press || !ready()) return;
  e.preventDefault();
  e.stopPropagation(); // keep JupyterLab's own shortcuts (run cell, move cell...) out of it
  act(...press);
}

// ------------------------------------------------------------------------------- layout and grids

/** px widths the layout needs that only the browser knows: titles and the widest number, in the
 * widget's own font. */
function measured(S, grad, dom) {
  const family = getComputedStyle(dom.root).fontFamily || "sans-serif";
  const ctx2d = document.createElement("canvas").getContext("2d");
  const width = (font) => (text) => {
    ctx2d.font = `${font} ${family}`;
    return ctx2d.measureText(text).width;
  };
  const title = width("600 13px");
  const titles = [0, 1].map((k) => Math.ceil(Math.max(...S.labels.map((l) => title(l[k])))) + 6);
  const text = width("700 10px");
  const seen = new Set(["00"]);
  for (const ch of S.channels)
    for (const grid of [grad ? ch.grad : ch.input, ch.output]) for (const v of grid.text) seen.add(minus(v));
  return { inTitle: titles[0], outTitle: titles[1], text10: Math.max(...[...seen].map(text)) };
}

/** widget.css's layout sizes (--pk-idx ...), SIZES where it sets none. */
function cssSizes(dom) {
  const css = getComputedStyle(dom.root);
  const px = (name, fallback) => parseFloat(css.getPropertyValue(name)) || fallback;
  return { ...SIZES, idx: px("--pk-idx", SIZES.idx), arrow: px("--pk-arrow", SIZES.arrow),
    gapIn: px("--pk-gap-in", SIZES.gapIn), gapCh: px("--pk-gap-ch", SIZES.gapCh) };
}

function layoutFor(S, grad, dom) {
  const m = measured(S, grad, dom);
  const sizes = cssSizes(dom);
  const avail = dom.stage.clientWidth || dom.root.clientWidth || SIZES.fallbackWidth;
  const g = { avail, C: S.shape[0], rows: S.rows[1] - S.rows[0] + 1, cols: S.cols[1] - S.cols[0] + 1,
    orows: S.out[0], ocols: S.out[1], ...m };
  return { ...chooseLayout(g, sizes), ...m, idx: sizes.idx, arrow: sizes.arrow };
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

/** An empty grid of columns c0..c1 with its column indices (every 4th for an image). */
function gridNode(cls, c0, c1, L, image, label) {
  const grid = h("div", { class: `pk-grid ${cls}` });
  grid.style.gridTemplateColumns = `${L.idx}px repeat(${c1 - c0 + 1}, ${L.w}px)`;
  grid.style.setProperty("--cw", `${L.w}px`);
  grid.style.setProperty("--ch", `${L.h}px`);
  grid.append(h("div", { class: "pk-idx" }));
  const shown = (i) => !image || i % 4 === 0;
  for (let col = c0; col <= c1; col++)
    grid.append(h("div", { class: "pk-idx pk-idx-col", text: label(col) && shown(col) ? col : "" }));
  return { grid, shown };
}

/** The input area of channel c: padding ring, overhang and input cells, keyed "r,c". */
function buildInput(S, T, c, L, { grad, image }) {
  const [, H, W] = S.shape;
  const { grid, shown } = gridNode("pk-grid-in", S.cols[0], S.cols[1], L, image, (col) => col >= 0 && col < W);
  const cells = new Map();
  const source = grad ? S.channels[c].grad : S.channels[c].input;
  for (let r = S.rows[0]; r <= S.rows[1]; r++) {
    grid.append(h("div", { class: "pk-idx pk-idx-row", text: r >= 0 && r < H && shown(r) ? r : "" }));
    for (let col = S.cols[0]; col <= S.cols[1]; col++) {
      const kind = kindAt(S, r, col);
      const cell = h("div", { class: `pk-cell ${KIND_CLASS[kind]}`, "data-r": r, "data-c": col });
      if (kind === "i" || kind === "u") {
        paintCell(cell, source, r * W + col, `${grad ? "∂ΣY/∂" : ""}X[${r}, ${col}] = `, T);
        if (kind === "u") cell.title += T.tip_unread;
        cell.classList.toggle("pk-zero", grad && fullText(source, r * W + col) === "0");
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
function buildOutput(S, L, image) {
  const { grid } = gridNode("pk-grid-out", 0, S.out[1] - 1, L, image, () => true);
  const cells = [];
  for (let i = 0; i < S.out[0]; i++) {
    grid.append(h("div", { class: "pk-idx pk-idx-row", text: !image || i % 4 === 0 ? i : "" }));
    for (let j = 0; j < S.out[1]; j++) {
      const cell = h("div", { class: "pk-cell pk-pending", "data-i": i, "data-j": j, "data-t": i * S.out[1] + j });
      cells.push(cell);
      grid.append(cell);
    }
  }
  return { grid, cells };
}

/** hover(what, cell) on entering, leaving and clicking each cell. */
function hoverable(cells, hover) {
  for (const cell of cells)
    for (const [event, what] of [["mouseenter", "enter"], ["mouseleave", "leave"], ["click", "click"]])
      cell.addEventListener(event, () => hover(what, cell));
}

/** One channel: its input, an arrow and its output, each under its label; returns its cells and boxes. */
function buildChannel(S, T, c, L, look, hover) {
  const stack = L.arrange === "stack";
  const gridWidth = (n) => L.idx + n * L.w;
  const input = buildInput(S, T, c, L, look);
  const out = buildOutput(S, L, look.image);
  const [box, outBox] = [h("div", { class: "pk-window" }), h("div", { class: "pk-window pk-window-out" })];
  const inWrap = h("div", { class: "pk-gridwrap" }, input.grid, box);
  const outWrap = h("div", { class: "pk-gridwrap" }, out.grid, outBox);
  const inWidth = Math.max(L.inTitle, stack ? L.outTitle : 0, gridWidth(S.cols[1] - S.cols[0] + 1));
  const outWidth = stack ? inWidth : Math.max(L.outTitle, gridWidth(S.out[1]));
  const column = (width, label, wrap) => h("div", { class: "pk-col", style: `width:${width}px` },
    h("div", { class: "pk-label", text: label }), wrap);
  const arrow = h("div", { class: "pk-arrow", text: stack ? "↓" : "→" });
  if (stack) arrow.style.paddingLeft = `${L.idx + (S.out[1] * L.w) / 2 - L.arrow / 2}px`;
  const node = h("div", { class: `pk-channel${stack ? " pk-stack" : ""}`, "data-channel": c },
    column(inWidth, S.labels[c][0], inWrap), arrow, column(outWidth, S.labels[c][1], outWrap));
  hoverable([...input.cells.values(), ...out.cells], hover);
  return { node, input: input.cells, out: out.cells, box, outBox, inWrap, outWrap };
}

/** Lay the channels out on the stage for layout L; returns per channel its cells and window boxes. */
function buildStage(dom, S, T, L, look, hover) {
  dom.stage.style.gridTemplateColumns = `repeat(${L.n}, max-content)`;
  dom.stage.dataset.arrange = `${L.arrange} ${L.n}`;
  const grids = S.channels.map((_, c) => buildChannel(S, T, c, L, look, hover));
  put(dom.stage, ...grids.map((g) => g.node));
  return grids;
}

/** Choose the layout for the width there is and build the grids: the stage frames are drawn on. Its
 * `filled` and `marks` are what the last frame drew (written only by drawFrame and fillOutputs). */
function layOut({ T, dom, player }, S, view, hover) {
  const L = layoutFor(S, view.grad, dom);
  const look = { grad: view.grad, image: L.font === 0 };
  // a big input (e.g. a 32x32 photo) is drawn as an image: numbers only in the formula and on hover
  dom.root.classList.toggle("pk-image", look.image);
  dom.root.classList.toggle("pk-dilated", !!S.dilated);
  dom.root.classList.toggle("pk-grad", view.grad);
  dom.root.style.setProperty("--font", `${L.font || 10}px`);
  shadeLegend(dom, T, S, look);
  player.slider.max = String(stepsOf(S) - 1);
  return { layout: L, image: look.image, grids: buildStage(dom, S, T, L, look, hover), filled: -1, marks: marker() };
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

// ------------------------------------------------------------------------------- drawing a frame

/** Output cells 0..upTo show their value (the output fills in as the window moves). */
function fillOutputs(S, T, stage, upTo) {
  stage.grids.forEach((g, c) => {
    const grid = S.channels[c].output;
    for (let t = Math.min(stage.filled, upTo) + 1; t <= Math.max(stage.filled, upTo); t++) {
      const cell = g.out[t];
      const [i, j] = cellOf(t, S.out[1]);
      cell.classList.toggle("pk-pending", t > upTo);
      if (t <= upTo) {
        paintCell(cell, grid, t, `Y[${i}, ${j}] = `, T);
        cell.dataset.value = fullText(grid, t);
      } else {
        cell.textContent = "";
        delete cell.dataset.value;
        cell.title = fill(T.pending, { i, j });
      }
    }
  });
  stage.filled = upTo;
}

/** Mark step `shown`'s window in every channel: its cells, the holes between them, outline, winner. */
function markWindow(S, stage, shown, t) {
  const { marks } = stage;
  const cells = windowCells(S, shown);
  const [i, j] = cellOf(shown, S.out[1]);
  const [rs, cs] = [S.win_rows[i], S.win_cols[j]];
  const taps = new Set(cells.map(([r, c]) => `${r},${c}`));
  stage.grids.forEach((g, c) => {
    for (const [r, cc] of cells) marks.mark(g.input.get(`${r},${cc}`), "pk-win");
    if (S.dilated)
      for (let r = rs[0]; r <= rs.at(-1); r++)
        for (let cc = cs[0]; cc <= cs.at(-1); cc++) if (!taps.has(`${r},${cc}`)) marks.mark(g.input.get(`${r},${cc}`), "pk-hole");
    placeBox(g.box, g.inWrap, g.input.get(`${rs[0]},${cs[0]}`), g.input.get(`${rs.at(-1)},${cs.at(-1)}`), stage.image);
    const flat = S.channels[c].argmax[shown];
    if (flat >= 0) marks.mark(g.input.get(cellOf(flat, S.shape[2]).join(",")), "pk-argmax");
    const outCell = g.out[shown];
    marks.mark(outCell, "pk-cur");
    placeBox(g.outBox, g.outWrap, outCell, outCell, false);
    // previewing a cell the player has not reached yet: show its value until the preview ends
    if (shown > t) marks.preview(outCell, minus(S.channels[c].output.text[shown]));
  });
}

/** A probed input cell in every channel, and the outputs that read it; returns the probe line. */
function markProbe(S, T, stage, focus) {
  for (const g of stage.grids) {
    stage.marks.mark(g.input.get(`${focus.r},${focus.c}`), "pk-probe-cell");
    for (const t of readersOf(S, focus.r, focus.c)) stage.marks.mark(g.out[t], "pk-reader");
  }
  return probeText(S, T, focus.r, focus.c);
}

/** One frame: the window of the shown step, the output filled to the player's step, the words. */
function drawFrame(parts, S, stage, view) {
  const { T, dom } = parts;
  stage.marks.clear(stage.filled);
  const { focus, shown } = focusOf(view);
  fillOutputs(S, T, stage, view.t);
  markWindow(S, stage, shown, view.t);
  const pin = view.pinned ? `  📌 ${T.pinned}` : "";
  dom.probe.textContent = focus && focus.kind === "in" ? markProbe(S, T, stage, focus) + pin : "";
  drawWords(dom, T, S, view, shown, focus);
  drawPlayer(parts, view, shown, stepsOf(S));
}

function drawWords(dom, T, S, view, shown, focus) {
  const [i, j] = cellOf(shown, S.out[1]);
  dom.stepLine.textContent = `${fill(T.step, { t: shown + 1, n: stepsOf(S) })} ${fill(T.step_output, { i, j })}`
    + (view.pinned && view.pinned.kind === "out" ? `  📌 ${T.pinned}` : "")
    + (focus && focus.kind === "out" && !view.pinned ? `  ${T.preview}` : "");
  put(dom.formulas, ...S.channels.map((ch, c) => {
    const note = channelNote(S, c, shown);
    return h("div", { class: "pk-formula" },
      S.channels.length > 1 ? h("span", { class: "pk-chname", text: `${S.names[c]}: ` }) : null,
      h("span", { class: "pk-math", text: `Y[${i}, ${j}] = ${minus(ch.formula[shown])}` }),
      note ? h("span", { class: "pk-chnote", text: `  ·  ${note}` }) : null);
  }));
  dom.note.textContent = [stepNote(S, shown), view.grad ? S.grad_note : ""].filter(Boolean).join("  ·  ");
}

// ------------------------------------------------------------------------------- words that change with the state

function swatch(cls, label) {
  return h("span", { class: "pk-key" }, h("span", { class: `pk-cell pk-swatch ${cls}` }), label);
}

/** What the background of an input/output cell means (its brightness comes from Python's shades). */
function shadeLegend(dom, T, S, { grad, image }) {
  const range = S.channels.length > 1 ? T.shade_each : S.channels[0][grad ? "grad_range" : "range"].join(" … ");
  const [ramp, template] = grad ? ["pk-ramp-grad", T.shade_grad] : image ? ["pk-ramp-image", T.shade_image]
    : ["", T.shade];
  put(dom.shadeKey, h("span", { class: `pk-ramp ${ramp}` }), fill(template, { range }));
}

/** The scene's words that change only with the state: title, PyTorch line, sizes, legend. */
function drawScene({ T, dom }, S) {
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
function drawError({ T, dom }, error) {
  dom.title.textContent = `${error.title} · ⚠`;
  put(dom.error, h("div", { class: "pk-error-title", text: `⚠ ${error.title}` }),
    h("div", { class: "pk-error-rule" }, h("code", { class: "pk-error-value", text: error.value }), `: ${minus(error.rule)}`),
    h("div", { class: "pk-error-fix", text: `${T.fix} ${error.fix}` }));
}

// ------------------------------------------------------------------------------- the receptive-field view

function fieldSkeleton(el) {
  el.classList.add("pk-sw");
  const dom = {
    root: h("div", { class: "pk-root pk-fieldview", tabindex: "0", "data-lm-suppress-shortcuts": "true" }),
    title: h("div", { class: "pk-title" }), stage: h("div", { class: "pk-stage" }),
    panel: h("div", { class: "pk-panel", "aria-live": "polite" }), help: h("div", { class: "pk-help" }),
  };
  // the maps in a row, grids on one line, the gap of a channel's input and output between map and arrow
  Object.assign(dom.stage.style, { display: "flex", flexWrap: "wrap", alignItems: "flex-end",
    columnGap: "var(--pk-gap-in)" });
  dom.root.append(h("div", { class: "pk-head" }, dom.title), dom.stage, dom.panel, dom.help);
  el.append(dom.root);
  return dom;
}

/** Map i: its label over its grid (cells keyed "r,c"; the last map's cells carry data-t and hover). */
function buildMap(S, i, L, hover) {
  const [H, W] = S.shapes[i];
  const last = i === S.shapes.length - 1;
  const image = L.h < 14; // small cells: an index every 4th row and column
  const { grid, shown } = gridNode("pk-grid-in", 0, W - 1, L, image, () => true);
  const cells = new Map();
  for (let r = 0; r < H; r++) {
    grid.append(h("div", { class: "pk-idx pk-idx-row", text: shown(r) ? r : "" }));
    for (let c = 0; c < W; c++) {
      const cell = h("div", { class: "pk-cell pk-in", "data-r": r, "data-c": c, "data-t": last ? r * W + c : null });
      cells.set(`${r},${c}`, cell);
      grid.append(cell);
    }
  }
  if (last) hoverable(cells.values(), hover);
  const box = h("div", { class: "pk-window" });
  const wrap = h("div", { class: "pk-gridwrap" }, grid, box);
  // the label wraps within the grid's width, so that the maps pack side by side
  const label = h("div", { class: "pk-label", text: S.labels[i], style: `white-space:normal;width:${Math.max(SIZES.fieldLabel, L.idx + W * L.w)}px` });
  const node = h("div", { class: "pk-col", "data-map": i }, label, wrap);
  return { node, cells, box, wrap };
}

/** Every map in a row (wrapping when the width runs out), arrows between them. */
function buildFieldStage(dom, S, hover) {
  const sizes = cssSizes(dom);
  const avail = dom.stage.clientWidth || dom.root.clientWidth || SIZES.fallbackWidth;
  const px = fieldCellSize(S.shapes.map(([, W]) => W), avail, sizes);
  const L = { idx: sizes.idx, w: px, h: px };
  const maps = S.shapes.map((_, i) => buildMap(S, i, L, hover));
  const arrow = () => h("div", { class: "pk-arrow", text: "→" });
  put(dom.stage, ...maps.flatMap((m, i) => (i ? [arrow(), m.node] : [m.node])));
  return { px, maps, marks: marker() };
}

/** The shown cell's field on every map, outlined, and the sentences that size it. */
function drawField(dom, S, stage, v) {
  stage.marks.clear();
  const t = fieldShown(v);
  S.fields[t].forEach((span, i) => {
    const { cells, box, wrap } = stage.maps[i];
    if (!span.length) return void (box.style.display = "none");
    const [r0, r1, c0, c1] = span;
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) stage.marks.mark(cells.get(`${r},${c}`), "pk-win");
    placeBox(box, wrap, cells.get(`${r0},${c0}`), cells.get(`${r1},${c1}`), false);
  });
  const W = S.shapes.at(-1)[1];
  stage.marks.mark(stage.maps.at(-1).cells.get(cellOf(t, W).join(",")), "pk-reader");
  put(dom.panel, ...S.labels.map((label, i) => h("div", { class: "pk-note", text: `${label}：${S.notes[t][i]}` })),
    v.pinned && v.hover === null ? h("div", { class: "pk-probe", text: `📌 ${S.pinned}` }) : null);
  dom.root.dataset.cell = String(t);
}

/** The field view's one mutable object, and the only code that writes it (as createStore). */
function createFieldStore(dom) {
  const state = { S: null, view: null, stage: null };
  const draw = () => state.stage && drawField(dom, state.S, state.stage, state.view);
  const hover = (what, cell) => {
    dispatch(what, Number(cell.dataset.t));
    if (what === "click") dom.root.focus({ preventScroll: true });
  };
  function dispatch(action, value) {
    if (!state.S) return;
    const before = state.view;
    state.view = fieldNext(before, action, value, state.S.shapes.at(-1));
    if (state.view !== before) draw();
  }
  function show(S, cell) {
    dom.title.textContent = S.title;
    dom.help.textContent = S.help;
    Object.assign(state, { S, view: fieldStart(cell, S.shapes.at(-1)[1]), stage: buildFieldStage(dom, S, hover) });
    draw();
    requestAnimationFrame(draw); // the outlines are measured once the grids are shown
  }
  function resized() {
    if (!state.stage) return;
    const avail = dom.stage.clientWidth || SIZES.fallbackWidth;
    const px = fieldCellSize(state.S.shapes.map(([, W]) => W), avail, cssSizes(dom));
    if (px !== state.stage.px) state.stage = buildFieldStage(dom, state.S, hover);
    draw();
  }
  return { dispatch, show, resized };
}

function onFieldKey(e, dispatch) {
  const action = fieldKey(e.key);
  if (!action) return;
  e.preventDefault();
  e.stopPropagation(); // keep JupyterLab's own shortcuts out of it
  dispatch(...action);
}

function renderField({ model, el }) {
  const dom = fieldSkeleton(el);
  const store = createFieldStore(dom);
  dom.root.addEventListener("keydown", (e) => onFieldKey(e, store.dispatch));
  const onState = latestOnly(() => unpackState(model.get("packed")), (S) => store.show(S, model.get("cell")));
  const off = listen(model, [["change:packed", onState]]);
  onState();
  const resize = new ResizeObserver(() => store.resized());
  resize.observe(dom.stage);
  return () => (resize.disconnect(), off());
}

// ------------------------------------------------------------------------------- the store and the wiring

/** The widget's one mutable object, and the only code that writes it: the scene Python sent (S), the view
 * (nextView's state) and the stage drawn for them. Everything else gets them as arguments. */
function createStore(parts) {
  const state = { S: {}, view: VIEW, stage: null };
  const play = playTimer(() => SPEEDS[state.view.speed], () => dispatch("tick"));
  const draw = () => state.stage && drawFrame(parts, state.S, state.stage, state.view);
  const hover = (what, cell) => {
    dispatch(what, targetOf(cell.dataset));
    if (what === "click") parts.dom.root.focus({ preventScroll: true });
  };
  const relayout = () => (state.stage = layOut(parts, state.S, state.view, hover));
  function dispatch(action, value) {
    const before = state.view;
    state.view = nextView(before, action, value, stepsOf(state.S), state.S);
    if (state.view === before) return;
    showView(parts, state.view, play);
    if (before.grad !== state.view.grad) relayout(); // the gradient's numbers may need other cells
    draw();
  }
  function show(S, error, first) {
    Object.assign(state, { S, stage: null });
    parts.dom.root.classList.toggle("pk-has-error", !!error.rule);
    put(parts.dom.error);
    dispatch("scene", first);
    if (error.rule) return drawError(parts, error);
    drawScene(parts, S);
    relayout();
    draw();
    requestAnimationFrame(draw); // the window outline is measured once the grids are shown
  }
  function resized() {
    // lay out again when another cell size fits; redraw anyway (the outline is measured)
    if (!state.stage) return;
    if (layoutKey(layoutFor(state.S, state.view.grad, parts.dom)) !== layoutKey(state.stage.layout)) relayout();
    draw();
  }
  showView(parts, state.view, play);
  return { dispatch, show, resized, ready: () => !!state.stage, stop: () => play(false) };
}

function renderWindow({ model, el }) {
  const T = model.get("text");
  const dom = skeleton(el, T);
  const act = (action, value) => store.dispatch(action, value);
  const parts = { T, dom, player: buildPlayer(T, dom, act) };
  const store = createStore(parts);
  const controls = buildControls(model, T, dom);
  withoutKernel(dom, T, !!document.querySelector('meta[name="poolkit-no-kernel"]'));
  dom.root.addEventListener("keydown", (e) => onKey(e, store.ready, act));
  const onState = latestOnly(() => unpackState(model.get("packed")), (S) => {
    syncControls(model, controls);
    store.show(S, model.get("error") || {}, model.get("initial_step") || 0);
  });
  const onParams = () => syncControls(model, controls);
  const off = listen(model, [["change:packed", onState], ["change:error", onState],
    ...controls.map((c) => [`change:${c.name}`, onParams])]);
  onState();
  const resize = new ResizeObserver(() => store.resized());
  resize.observe(dom.stage);
  return () => {
    store.stop();
    resize.disconnect();
    off();
  };
}

// Each Python class names the view that draws it (`view`; SlidingWindow has none).
const VIEWS = { window: renderWindow, field: renderField };

function render(args) {
  return VIEWS[args.model.get("view") || "window"](args);
}

export default { render };
