// The sliding-window widget's front end: it only DRAWS and PLAYS the trace that Python synced in `state`.
// No pooling happens here: every number, formula and note comes from poolkit (widget.py). The current
// step lives in this view; playing sends nothing to the kernel. Only parameter controls set traits.

const SPEEDS = [
  [0.5, "0.5 /s"], [1, "1 /s"], [2, "2 /s"], [4, "4 /s"], [10, "10 /s"], [30, "30 /s"], [Infinity, "max"],
];
const DEFAULT_SPEED = 2; // index into SPEEDS: 2 steps per second, slow enough to read each formula
const SHORTCUTS = [
  ["Space", "播放/暂停 play / pause"],
  ["← →", "上一步/下一步 step back / forward"],
  ["Home End", "第一步/最后一步 first / last step"],
  ["+ −", "加速/减速 faster / slower"],
  ["L", "循环 loop on / off"],
  ["Esc", "取消固定 unpin"],
];
// Layout, in px (widget.css draws these parts at exactly these sizes)
const IDX = 22; // the row-index column of a grid
const ARROW = 24; // the arrow between a channel's input and output
const GAP_IN = 12; // between a channel's input, arrow and output
const GAP_CH = 28; // between channels
const MIN_FONT = 11; // smallest font for numbers in cells
const READ_FONT = 14; // a long number widens its cell rather than get a font below this
const NUMBER_MAX = 46; // largest cell
const MIN_NUMBER_CELL = 27; // smallest cell that holds a MIN_FONT number (0.4 * 27 = 10.8 -> 11)
const NUMBER_GRID = 12; // at most this many rows and columns (padding included) show numbers in cells
const IMAGE_MAX = 24; // an input drawn as an image: cells between IMAGE_MIN and IMAGE_MAX
const IMAGE_MIN = 14;
const STACK_HEIGHT = 700; // input above output only while both grids together are at most this high
const FALLBACK_WIDTH = 840; // a notebook's output width at 1280 px with the file browser open

const PAIRS = [
  ["kernel_size", "窗口 kernel_size", 1],
  ["stride", "步幅 stride", 1],
  ["padding", "填充 padding", 0],
  ["dilation", "空洞 dilation", 1],
];

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function put(node, ...children) {
  node.replaceChildren(...children.filter((c) => c != null));
}

const pair = (v, fallback) => (Array.isArray(v) ? v : v == null ? [fallback, fallback] : [v, v]);
const minus = (s) => String(s).replace(/-/g, "−"); // typographic minus: "-∞" reads as "−∞"

function render({ model, el }) {
  const view = {
    t: 0, // current step (index into state.steps)
    grad: false, // input grid shows d(sum Y)/dX instead of X
    playing: false,
    speed: DEFAULT_SPEED,
    loop: false,
    pinned: null, // {kind: "out", t} or {kind: "in", r, c}: survives mouse moves until clicked again
    hover: null, // same shape as pinned, while the mouse is over a cell
    filled: -1, // output cells 0..filled show their value
    raf: 0,
    last: 0,
    frames: 0, // frames drawn (read by the benchmark)
  };
  let S = {}; // the synced state
  const full = (text, exact) => minus(exact) + (text === exact ? "" : ` (the cell shows ${minus(text)}: rounded to fit)`);
  let grids = []; // per channel: {input: Map "r,c" -> cell, out: [cells], box, inputWrap}
  let readers = new Map(); // "r,c" -> steps whose window reads that input cell
  let marked = []; // [node, class] added for the current frame, removed before the next
  let previewed = []; // output cells showing a value only because the mouse is over them

  // ---------------------------------------------------------------- skeleton
  el.classList.add("pk-sw");
  const root = h("div", { class: "pk-root", tabindex: "0", "data-lm-suppress-shortcuts": "true" });
  const title = h("div", { class: "pk-title" });
  const torchLine = h("code", { class: "pk-torch" });
  const controls = h("div", { class: "pk-controls" });
  const errorBox = h("div", { class: "pk-error", role: "alert" });
  const stage = h("div", { class: "pk-stage" });
  const stepLine = h("div", { class: "pk-stepline" });
  const formulas = h("div", { class: "pk-formulas" });
  const note = h("div", { class: "pk-note" });
  const probe = h("div", { class: "pk-probe" });
  const player = h("div", { class: "pk-player" });
  const shapeBox = h("div", { class: "pk-shape" });
  const legend = h("div", { class: "pk-legend" });
  const help = h("details", { class: "pk-help" },
    h("summary", { text: "⌨ 快捷键 Keyboard & mouse" }),
    h("ul", {}, ...SHORTCUTS.map(([k, what]) => h("li", {}, h("kbd", { text: k }), " " + what)),
      h("li", { text: "鼠标 Hover an output cell: see its window · hover an input cell: see which outputs read it" }),
      h("li", { text: "单击 Click a cell to pin it (click again or Esc to release) · click the widget first so keys reach it" })));
  const panel = h("div", { class: "pk-panel" }, stepLine, formulas, note, probe);
  root.append(h("div", { class: "pk-head" }, title, h("span", { class: "pk-torch-label", text: "PyTorch:" }),
    torchLine), controls, errorBox, stage, panel, player, shapeBox, legend, help);
  el.append(root);

  // ---------------------------------------------------------------- parameter controls (set traits)
  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const pairInputs = {};
  for (const [name, label] of PAIRS) {
    const hIn = h("input", { type: "number", class: "pk-num", "aria-label": `${name} height`, title: "height (rows)" });
    const wIn = h("input", { type: "number", class: "pk-num", "aria-label": `${name} width`, title: "width (columns)" });
    const onChange = () => {
      // An empty stride means PyTorch's default (= kernel_size): fill it from the placeholder.
      const a = num(hIn) ?? (hIn.placeholder ? Number(hIn.placeholder) : null);
      const b = num(wIn) ?? (wIn.placeholder ? Number(wIn.placeholder) : null);
      send(name, [a, b]);
    };
    hIn.addEventListener("change", onChange);
    wIn.addEventListener("change", onChange);
    pairInputs[name] = [hIn, wIn];
    controls.append(h("label", { class: "pk-field", "data-param": name }, h("span", { text: label }), hIn,
      h("span", { class: "pk-times", text: "×" }), wIn));
  }
  const modeSel = h("select", { "aria-label": "mode" },
    h("option", { value: "max", text: "最大 max" }), h("option", { value: "avg", text: "平均 avg" }));
  modeSel.addEventListener("change", () => send("mode", modeSel.value));
  const ceilBox = h("input", { type: "checkbox" });
  ceilBox.addEventListener("change", () => send("ceil_mode", ceilBox.checked));
  const cipBox = h("input", { type: "checkbox" });
  cipBox.addEventListener("change", () => send("count_include_pad", cipBox.checked));
  const divIn = h("input", { type: "number", class: "pk-num", placeholder: "None", "aria-label": "divisor_override" });
  divIn.addEventListener("change", () => send("divisor_override", num(divIn)));
  const avgOnly = [];
  controls.prepend(h("label", { class: "pk-field", "data-param": "mode" }, h("span", { text: "池化 mode" }), modeSel));
  controls.append(h("label", { class: "pk-field", "data-param": "ceil_mode" }, ceilBox, h("span", { text: "ceil_mode" })));
  for (const [name, node] of [["count_include_pad", cipBox], ["divisor_override", divIn]]) {
    const field = h("label", { class: "pk-field pk-avg-only", "data-param": name, title: "average pooling only" },
      name === "count_include_pad" ? node : h("span", { text: name }),
      name === "count_include_pad" ? h("span", { text: name }) : node);
    avgOnly.push(field);
    controls.append(field);
  }
  const initial = Object.fromEntries(
    ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "mode", "count_include_pad",
      "divisor_override"].map((k) => [k, model.get(k)]));
  const resetBtn = h("button", { class: "pk-btn pk-reset", title: "back to the settings this widget started with", text: "↺ 重置 reset" });
  resetBtn.addEventListener("click", () => {
    for (const [k, v] of Object.entries(initial)) model.set(k, v);
    model.save_changes();
  });
  controls.append(resetBtn);

  function syncControls() {
    const kernel = pair(model.get("kernel_size"), 2);
    for (const [name, , fallback] of PAIRS) {
      const value = model.get(name);
      const [hIn, wIn] = pairInputs[name];
      if (name === "stride" && value == null) {
        hIn.value = wIn.value = "";
        [hIn.placeholder, wIn.placeholder] = kernel.map((k) => (Number.isInteger(k) ? String(k) : ""));
        hIn.title = wIn.title = "empty = PyTorch's default, stride = kernel_size";
        continue;
      }
      const [a, b] = pair(value, fallback);
      hIn.value = a ?? "";
      wIn.value = b ?? "";
      hIn.placeholder = wIn.placeholder = "";
    }
    modeSel.value = model.get("mode");
    ceilBox.checked = !!model.get("ceil_mode");
    cipBox.checked = !!model.get("count_include_pad");
    const d = model.get("divisor_override");
    divIn.value = d == null ? "" : d;
    for (const field of avgOnly) field.classList.toggle("pk-dim", model.get("mode") !== "avg");
  }

  // ---------------------------------------------------------------- playback controls
  const btn = (text, label, action) => {
    const b = h("button", { class: "pk-btn", title: label, "aria-label": label, text });
    b.addEventListener("click", () => {
      action();
      root.focus({ preventScroll: true });
    });
    return b;
  };
  const firstBtn = btn("|◀", "第一步 first step (Home)", () => go(0));
  const backBtn = btn("◀", "上一步 step back (←)", () => go(view.t - 1));
  const playBtn = btn("▶ 播放 Play", "播放/暂停 play / pause (Space)", () => toggle());
  playBtn.classList.add("pk-play");
  const nextBtn = btn("▶", "下一步 step forward (→)", () => go(view.t + 1));
  const lastBtn = btn("▶|", "最后一步 last step (End)", () => go(S.steps.length - 1));
  const slider = h("input", { type: "range", class: "pk-slider", min: "0", value: "0", "aria-label": "step" });
  slider.addEventListener("input", () => go(Number(slider.value)));
  const speedSel = h("select", { "aria-label": "speed", title: "速度 steps per second (+ / −)" },
    ...SPEEDS.map(([, label], i) => h("option", { value: String(i), text: label })));
  speedSel.value = String(view.speed);
  speedSel.addEventListener("change", () => setSpeed(Number(speedSel.value)));
  const loopBox = h("input", { type: "checkbox", "aria-label": "loop" });
  loopBox.addEventListener("change", () => (view.loop = loopBox.checked));
  const counter = h("span", { class: "pk-counter" });
  const gradBox = h("input", { type: "checkbox", "aria-label": "gradient" });
  gradBox.addEventListener("change", () => {
    view.grad = gradBox.checked;
    // the gradient's numbers may need other cells: lay out again
    build();
    draw();
  });
  player.append(firstBtn, backBtn, playBtn, nextBtn, lastBtn, slider, counter,
    h("label", { class: "pk-field" }, h("span", { text: "速度 speed" }), speedSel),
    h("label", { class: "pk-field" }, loopBox, h("span", { text: "循环 loop" })),
    h("label", { class: "pk-field", title: "show d(sum of all outputs)/dX in the input grid: where backprop sends the gradient" },
      gradBox, h("span", { text: "梯度 gradient ∂ΣY/∂X" })));

  function setSpeed(i) {
    view.speed = Math.max(0, Math.min(SPEEDS.length - 1, i));
    speedSel.value = String(view.speed);
    root.classList.toggle("pk-fast", SPEEDS[view.speed][0] > 4);
  }

  function setPlaying(on) {
    view.playing = on && !!S.steps && S.steps.length > 1;
    playBtn.textContent = view.playing ? "❚❚ 暂停 Pause" : "▶ 播放 Play";
    root.dataset.playing = view.playing ? "1" : "0";
    cancelAnimationFrame(view.raf);
    if (view.playing) {
      view.last = performance.now();
      view.raf = requestAnimationFrame(tick);
    }
  }

  function toggle() {
    if (!view.playing && view.t >= S.steps.length - 1) go(0); // play again from the start
    view.pinned = null;
    setPlaying(!view.playing);
  }

  function tick(now) {
    if (!view.playing) return;
    const rate = SPEEDS[view.speed][0];
    if (now - view.last >= 1000 / rate - 1) {
      view.last = now;
      const n = S.steps.length;
      if (view.t + 1 < n) go(view.t + 1, true);
      else if (view.loop) go(0, true);
      else return setPlaying(false);
    }
    view.raf = requestAnimationFrame(tick);
  }

  function go(t, fromPlayer = false) {
    if (!S.steps) return;
    if (!fromPlayer && view.playing) setPlaying(false);
    view.t = Math.max(0, Math.min(S.steps.length - 1, t));
    if (!fromPlayer && view.pinned && view.pinned.kind === "out") view.pinned = null;
    draw();
  }

  // ---------------------------------------------------------------- keyboard
  root.addEventListener("keydown", (e) => {
    if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) && e.target.type !== "range") {
      // typing in a field is for the field: not a notebook shortcut (digits would change the cell type)
      e.stopPropagation();
      if (e.key === "Enter") e.target.blur(); // commit the number (fires "change")
      return;
    }
    if (!S.steps) return;
    const keys = {
      " ": () => toggle(),
      ArrowRight: () => go(view.t + 1),
      ArrowLeft: () => go(view.t - 1),
      Home: () => go(0),
      End: () => go(S.steps.length - 1),
      "+": () => setSpeed(view.speed + 1),
      "=": () => setSpeed(view.speed + 1),
      "-": () => setSpeed(view.speed - 1),
      l: () => ((loopBox.checked = view.loop = !view.loop)),
      L: () => ((loopBox.checked = view.loop = !view.loop)),
      Escape: () => {
        view.pinned = null;
        draw();
      },
    };
    const action = keys[e.key];
    if (!action) return;
    e.preventDefault();
    e.stopPropagation(); // keep JupyterLab's own shortcuts (run cell, move cell...) out of it
    action();
  });

  // ---------------------------------------------------------------- building the grids (once per state)
  // ---------------------------------------------------------------- layout: cell size, channels per row
  // Drawing only: how big the cells are and how the channels are arranged, from the width JupyterLab gives
  // the widget. Every arrangement keeps all channels at the same window position.
  function labels(c) {
    // the titles above a channel's input and output grids
    const [C, H, W] = S.shape;
    return [`${C > 1 ? `通道 ${S.names[c]}` : "输入 input"} · ${H}×${W}`, `输出 output · ${S.out[0]}×${S.out[1]}`];
  }

  function measure(font) {
    // text width in px with the widget's own font family (known once the widget is shown)
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = `${font} ${getComputedStyle(root).fontFamily || "sans-serif"}`;
    return (text) => ctx.measureText(text).width;
  }

  function labelWidths() {
    // px of the widest input title and the widest output title (a grid's column is never narrower)
    const width = measure("600 13px");
    const titles = S.channels.map((_, c) => labels(c).map(width));
    return [0, 1].map((k) => Math.ceil(Math.max(...titles.map((t) => t[k]))) + 6);
  }

  function widestNumber() {
    // px, at a 10 px bold font, of the widest number a cell shows now (measured with the widget's font)
    const width = measure("700 10px");
    const seen = new Set();
    let widest = width("00");
    for (const ch of S.channels)
      for (const grid of view.grad ? [ch.grad, ch.output] : [ch.input, ch.output])
        for (const row of grid)
          for (const v of row) {
            if (seen.has(v)) continue;
            seen.add(v);
            widest = Math.max(widest, width(minus(v)));
          }
    return widest;
  }

  function cellFor(h, text10) {
    // a cell h px high: its width and number font (px); font 0: too small for numbers, drawn as an image
    let font = Math.min(18, Math.round(h * 0.4));
    if (font < MIN_FONT) return { h, w: h, font: 0 };
    const need = (f) => Math.ceil((text10 * f) / 10) + 12; // + padding and borders
    // a long number first gets a smaller font (not below READ_FONT), then a wider cell
    if (need(font) > h) font = Math.max(Math.min(font, READ_FONT), Math.floor((10 * (h - 12)) / text10));
    return { h, w: Math.max(h, need(font)), font }; // a long number (1.111) widens the cell, never shrinks
  }

  function chooseLayout() {
    // The first arrangement that fits the width, largest cells first: numbers in the cells if possible,
    // else an image of at least IMAGE_MIN px cells. Arrangements: all channels in one row, input beside
    // output ("row") or input above output ("stack"); then fewer channels per row, in equal rows.
    const avail = stage.clientWidth || root.clientWidth || FALLBACK_WIDTH; // 0 until shown
    const [C] = S.shape;
    const cols = S.cols[1] - S.cols[0] + 1;
    const ocols = S.out[1];
    const text10 = widestNumber(); // measured each time: the font is known only once the widget is shown
    const [inTitle, outTitle] = labelWidths();
    const width = {
      row: (w) => Math.max(inTitle, IDX + cols * w) + 2 * GAP_IN + ARROW + Math.max(outTitle, IDX + ocols * w),
      stack: (w) => Math.max(inTitle, outTitle, IDX + cols * w),
    };
    const rows = S.rows[1] - S.rows[0] + 1;
    const options = [["row", C], ["stack", C]];
    for (let n = C - 1; n > 1; n--) if (C % n === 0) options.push(["row", n], ["stack", n]);
    if (C > 1) options.push(["row", 1]);
    const tall = (arrange, h) => arrange === "stack" && (rows + S.out[0]) * h > STACK_HEIGHT;
    const fits = (arrange, n, cell) => n * width[arrange](cell.w) + (n - 1) * GAP_CH <= avail && !tall(arrange, cell.h);
    const passes = [[IMAGE_MAX, IMAGE_MIN, false]];
    // numbers in the cells only for a grid small enough to read as numbers (a 16x16 photo is an image)
    if (rows <= NUMBER_GRID && cols <= NUMBER_GRID) passes.unshift([NUMBER_MAX, MIN_NUMBER_CELL, true]);
    // all channels side by side first (numbers, else an image), then fewer per row, then smaller cells
    const tries = [[options.filter(([, n]) => n === C), passes], [options.filter(([, n]) => n < C), passes],
      [options, [[IMAGE_MIN - 1, 6, false]]]];
    const largest = ([arrange, n], [top, bottom, numbers]) => {
      for (let h = top; h >= bottom; h--) {
        const cell = cellFor(h, text10);
        if (numbers === cell.font > 0 && fits(arrange, n, cell)) return { ...cell, arrange, n, inTitle, outTitle };
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
    return { ...cellFor(6, text10), arrange: "row", n: 1, inTitle, outTitle }; // wider than any screen: scrolls
  }

  const layoutKey = (L) => (L ? [L.h, L.w, L.font, L.arrange, L.n, L.inTitle, L.outTitle].join() : "");

  function shade(node, s) {
    if (s == null) node.classList.add("pk-special");
    else node.style.setProperty("--shade", s);
  }

  function buildGrid(kind, c, L) {
    // kind "in": padding, overhang and the input; "out": the output grid
    const [r0, r1] = kind === "in" ? S.rows : [0, S.out[0] - 1];
    const [c0, c1] = kind === "in" ? S.cols : [0, S.out[1] - 1];
    const [, H, W] = S.shape;
    const ch = S.channels[c];
    const grid = h("div", { class: `pk-grid pk-grid-${kind}` });
    const label = (i) => !view.image || i % 4 === 0; // an image gets every 4th index only
    grid.style.gridTemplateColumns = `${IDX}px repeat(${c1 - c0 + 1}, ${L.w}px)`;
    grid.style.setProperty("--cw", `${L.w}px`);
    grid.style.setProperty("--ch", `${L.h}px`);
    grid.append(h("div", { class: "pk-idx" }));
    for (let col = c0; col <= c1; col++) {
      const inside = kind === "out" || (col >= 0 && col < W);
      grid.append(h("div", { class: "pk-idx pk-idx-col", text: inside && label(col) ? col : "" }));
    }
    const cells = kind === "in" ? new Map() : [];
    const unread = new Set(S.unread.map(([r, cc]) => `${r},${cc}`));
    const overhang = new Set();
    for (const step of S.steps) for (const [r, cc, k] of step.cells) if (k === "o") overhang.add(`${r},${cc}`);
    const [ph, pw] = S.padding;
    for (let r = r0; r <= r1; r++) {
      const rowInside = kind === "out" || (r >= 0 && r < H);
      grid.append(h("div", { class: "pk-idx pk-idx-row", text: rowInside && label(r) ? r : "" }));
      for (let col = c0; col <= c1; col++) {
        const cell = h("div", { class: "pk-cell" });
        if (kind === "out") {
          cell.dataset.i = r;
          cell.dataset.j = col;
          cell.dataset.t = r * S.out[1] + col; // steps are row-major over the output
          cells.push(cell);
        } else {
          cell.dataset.r = r;
          cell.dataset.c = col;
          const key = `${r},${col}`;
          if (r >= 0 && r < H && col >= 0 && col < W) {
            cell.classList.add("pk-in");
            if (unread.has(key)) cell.classList.add("pk-unread");
            paintInput(cell, ch, r, col);
          } else if (overhang.has(key) || r >= H + ph || col >= W + pw) {
            cell.classList.add("pk-overhang");
            cell.title = "ceil_mode overhang: beyond the padding, never read or counted";
          } else {
            cell.classList.add("pk-pad");
            cell.textContent = minus(S.pad_label);
            cell.title = `padding: contributes ${minus(S.pad_label)} (${S.mode === "max" ? "can never be the max" : "a zero in the sum"})`;
          }
          cells.set(key, cell);
        }
        grid.append(cell);
      }
    }
    return { grid, cells };
  }

  function paintInput(cell, ch, r, c) {
    // an input cell shows X, or (gradient view) d(sum Y)/dX at that cell
    const [text, exact, shadeOf] = view.grad ? [ch.grad, ch.grad_full, ch.grad_shade]
      : [ch.input, ch.input_full, ch.input_shade];
    cell.textContent = minus(text[r][c]);
    cell.title = `${view.grad ? "∂ΣY/∂" : ""}X[${r}, ${c}] = ${full(text[r][c], exact[r][c])}`
      + (cell.classList.contains("pk-unread") ? " · never read by any window" : "");
    cell.classList.remove("pk-special");
    cell.style.removeProperty("--shade");
    shade(cell, shadeOf[r][c]);
    cell.classList.toggle("pk-zero", view.grad && exact[r][c] === "0");
  }

  function build() {
    stage.replaceChildren();
    grids = [];
    readers = new Map();
    S.steps.forEach((step, t) => {
      for (const [r, c, k] of step.cells) {
        if (k !== "i") continue;
        const key = `${r},${c}`;
        if (!readers.has(key)) readers.set(key, []);
        readers.get(key).push(t);
      }
    });
    const L = chooseLayout();
    view.layout = L;
    const [C] = S.shape;
    view.image = L.font === 0;
    // A big input (e.g. a 32x32 photo) is drawn as an image: numbers only in the formula and on hover.
    root.classList.toggle("pk-image", view.image);
    root.classList.toggle("pk-dilated", !!S.dilated);
    root.classList.toggle("pk-grad", !!view.grad);
    root.style.setProperty("--font", `${L.font || 10}px`);
    put(shadeKey, ...shadeLegend());
    stage.style.gridTemplateColumns = `repeat(${L.n}, max-content)`;
    stage.dataset.arrange = `${L.arrange} ${L.n}`;
    const stack = L.arrange === "stack";

    for (let c = 0; c < C; c++) {
      const input = buildGrid("in", c, L);
      const out = buildGrid("out", c, L);
      const box = h("div", { class: "pk-window" });
      const inWrap = h("div", { class: "pk-gridwrap" }, input.grid, box);
      const outBox = h("div", { class: "pk-window pk-window-out" });
      const outWrap = h("div", { class: "pk-gridwrap" }, out.grid, outBox);
      const [inLabel, outLabel] = labels(c);
      const inCol = h("div", { class: "pk-col" }, h("div", { class: "pk-label", text: inLabel }), inWrap);
      const outCol = h("div", { class: "pk-col" }, h("div", { class: "pk-label", text: outLabel }), outWrap);
      const arrow = h("div", { class: "pk-arrow", text: stack ? "↓" : "→" });
      const gridWidth = (n) => IDX + n * L.w;
      inCol.style.width = `${stack ? Math.max(L.inTitle, L.outTitle, gridWidth(S.cols[1] - S.cols[0] + 1))
        : Math.max(L.inTitle, gridWidth(S.cols[1] - S.cols[0] + 1))}px`;
      outCol.style.width = stack ? inCol.style.width : `${Math.max(L.outTitle, gridWidth(S.out[1]))}px`;
      if (stack) arrow.style.paddingLeft = `${IDX + (S.out[1] * L.w) / 2 - ARROW / 2}px`;
      stage.append(h("div", { class: `pk-channel${stack ? " pk-stack" : ""}`, "data-channel": c },
        inCol, arrow, outCol));
      grids.push({ input: input.cells, out: out.cells, box, outBox, inWrap, outWrap });
      for (const cell of input.cells.values()) {
        cell.addEventListener("mouseenter", () => hoverIn(cell));
        cell.addEventListener("mouseleave", unhover);
        cell.addEventListener("click", () => pin(cell));
      }
      for (const cell of out.cells) {
        cell.addEventListener("mouseenter", () => hoverOut(cell));
        cell.addEventListener("mouseleave", unhover);
        cell.addEventListener("click", () => pin(cell));
      }
    }
    slider.max = String(S.steps.length - 1);
    view.filled = -1;
    for (const g of grids) for (const cell of g.out) cell.classList.add("pk-pending");
  }

  // ---------------------------------------------------------------- hover and pin
  const target = (cell) => (cell.dataset.t != null ? { kind: "out", t: Number(cell.dataset.t) }
    : { kind: "in", r: Number(cell.dataset.r), c: Number(cell.dataset.c) });
  const same = (a, b) => a && b && a.kind === b.kind && a.t === b.t && a.r === b.r && a.c === b.c;

  function hoverIn(cell) {
    if (view.pinned) return;
    view.hover = target(cell);
    draw();
  }
  function hoverOut(cell) {
    if (view.pinned) return;
    if (view.playing) setPlaying(false); // looking at one window pauses the film (as CNN Explainer does)
    view.hover = target(cell);
    draw();
  }
  function unhover() {
    if (!view.hover) return;
    view.hover = null;
    draw();
  }
  function pin(cell) {
    const what = target(cell);
    if (same(view.pinned, what)) {
      view.pinned = null;
    } else {
      view.pinned = what;
      if (view.playing) setPlaying(false);
      if (what.kind === "out") view.t = what.t; // pinning an output cell moves the player there
    }
    view.hover = null;
    root.focus({ preventScroll: true });
    draw();
  }

  // ---------------------------------------------------------------- drawing one frame
  function mark(node, cls) {
    if (!node) return;
    node.classList.add(cls);
    marked.push([node, cls]);
  }

  function placeBox(box, wrap, a, b) {
    // box over the cells from a to b (DOM nodes), relative to wrap; around them (outside) when the input
    // is drawn as an image, so that the outline covers none of the window's pixels
    const base = wrap.getBoundingClientRect();
    const p = a.getBoundingClientRect();
    const q = b.getBoundingClientRect();
    const out = view.image ? 3 : 0;
    box.style.left = `${p.left - base.left - out}px`;
    box.style.top = `${p.top - base.top - out}px`;
    box.style.width = `${q.right - p.left + 2 * out}px`;
    box.style.height = `${q.bottom - p.top + 2 * out}px`;
    box.style.display = "block";
  }

  function fill(upTo) {
    // output cells 0..upTo show their value (the output fills in as the window moves)
    const [, ow] = S.out;
    for (let c = 0; c < grids.length; c++) {
      const ch = S.channels[c];
      for (let t = Math.min(view.filled, upTo) + 1; t <= Math.max(view.filled, upTo); t++) {
        const cell = grids[c].out[t];
        const [i, j] = [Math.floor(t / ow), t % ow];
        if (t <= upTo) {
          cell.textContent = minus(ch.output[i][j]);
          cell.dataset.value = ch.output_full[i][j];
          cell.title = `Y[${i}, ${j}] = ${full(ch.output[i][j], ch.output_full[i][j])}`;
          cell.classList.remove("pk-pending");
          shade(cell, ch.output_shade[i][j]);
        } else {
          cell.textContent = "";
          delete cell.dataset.value;
          cell.title = `Y[${i}, ${j}]: not computed yet`;
          cell.classList.add("pk-pending");
        }
      }
    }
    view.filled = upTo;
  }

  function draw() {
    if (!S.steps) return;
    for (const [node, cls] of marked) node.classList.remove(cls);
    marked = [];
    for (const cell of previewed) if (Number(cell.dataset.t) > view.filled) cell.textContent = "";
    previewed = [];
    const focus = view.pinned || view.hover;
    const shown = focus && focus.kind === "out" ? focus.t : view.t; // the step whose window is drawn
    const step = S.steps[shown];
    const n = S.steps.length;
    fill(view.t);
    const [oi, oj] = step.at;

    // the window: its cells (holes between them with dilation), its outline, the argmax
    for (let c = 0; c < grids.length; c++) {
      const g = grids[c];
      const cells = step.cells.map(([r, cc, k]) => [g.input.get(`${r},${cc}`), k]);
      for (const [node] of cells) mark(node, "pk-win");
      const rs = step.cells.map((x) => x[0]);
      const cs = step.cells.map((x) => x[1]);
      const [rmin, rmax, cmin, cmax] = [Math.min(...rs), Math.max(...rs), Math.min(...cs), Math.max(...cs)];
      if (cells.length !== (rmax - rmin + 1) * (cmax - cmin + 1)) {
        const taps = new Set(step.cells.map(([r, cc]) => `${r},${cc}`));
        for (let r = rmin; r <= rmax; r++)
          for (let cc = cmin; cc <= cmax; cc++) if (!taps.has(`${r},${cc}`)) mark(g.input.get(`${r},${cc}`), "pk-hole");
      }
      placeBox(g.box, g.inWrap, g.input.get(`${rmin},${cmin}`), g.input.get(`${rmax},${cmax}`));
      const argmax = step.ch[c].argmax;
      if (argmax) mark(g.input.get(`${argmax[0]},${argmax[1]}`), "pk-argmax");
      const outCell = g.out[shown];
      mark(outCell, "pk-cur");
      placeBox(g.outBox, g.outWrap, outCell, outCell);
      if (shown > view.t) {
        // previewing a cell the player has not reached yet: show its value until the preview ends
        outCell.textContent = minus(S.channels[c].output[oi][oj]);
        mark(outCell, "pk-preview");
        previewed.push(outCell);
      }
    }

    // hovering/pinning an input cell: which outputs read it
    probe.textContent = "";
    if (focus && focus.kind === "in") {
      const key = `${focus.r},${focus.c}`;
      const ts = readers.get(key) || [];
      for (const g of grids) {
        mark(g.input.get(key), "pk-probe-cell");
        for (const t of ts) mark(g.out[t], "pk-reader");
      }
      const [, H, W] = S.shape;
      const inside = focus.r >= 0 && focus.r < H && focus.c >= 0 && focus.c < W;
      const where = ts.map((t) => `Y[${S.steps[t].at.join(", ")}]`).join(", ");
      probe.textContent = !inside ? `(${focus.r}, ${focus.c}) is ${focus.r < H + S.padding[0] && focus.c < W + S.padding[1] ? "padding" : "ceil_mode overhang"}: it is not an input cell`
        : ts.length ? `X[${key.replace(",", ", ")}] is read by ${ts.length} window${ts.length > 1 ? "s" : ""}: ${where}`
          : `X[${key.replace(",", ", ")}] is never read by any window`;
      if (view.pinned) probe.textContent += "  📌 pinned (click again or Esc)";
    }

    // the arithmetic of this step
    const C = grids.length;
    stepLine.textContent = `第 ${shown + 1} / ${n} 步 · Step ${shown + 1} of ${n}: output Y[${oi}, ${oj}]`
      + (view.pinned && view.pinned.kind === "out" ? "  📌 pinned (click again or Esc)" : "")
      + (focus && focus.kind === "out" && !view.pinned ? "  (hover preview)" : "");
    put(formulas, ...step.ch.map((x, c) => h("div", { class: "pk-formula" },
      C > 1 ? h("span", { class: "pk-chname", text: `${S.names[c]}: ` }) : null,
      h("span", { class: "pk-math", text: `Y[${oi}, ${oj}] = ${minus(x.formula)}` }),
      x.note ? h("span", { class: "pk-chnote", text: `  ·  ${x.note}` }) : null)));
    const gradNote = !view.grad ? ""
      : S.mode === "max" ? "梯度 Gradient view: each output sends its gradient 1 to the max of its window (★); a cell that wins k windows gets k, the others 0."
        : "梯度 Gradient view: each output spreads its gradient 1 evenly, 1/divisor to each input cell it counted; overlapping windows add up.";
    note.textContent = [step.note, gradNote].filter(Boolean).join("  ·  ");
    note.style.display = note.textContent ? "" : "none";

    slider.value = String(view.t);
    counter.textContent = `${view.t + 1} / ${n}`;
    root.dataset.step = String(view.t);
    root.dataset.shown = String(shown);
    view.frames += 1;
    root.dataset.frames = String(view.frames);
    for (const b of [firstBtn, backBtn]) b.disabled = view.t === 0;
    for (const b of [nextBtn, lastBtn]) b.disabled = view.t === n - 1;
  }

  // ---------------------------------------------------------------- state from Python
  function swatch(cls, label) {
    return h("span", { class: "pk-key" }, h("span", { class: `pk-cell pk-swatch ${cls}` }), label);
  }

  const shadeKey = h("span", { class: "pk-key", "data-key": "shade" });
  function shadeLegend() {
    // what the background of an input/output cell means (its brightness comes from Python's *_shade)
    const C = S.channels.length;
    const range = (key) => (C > 1 ? "each channel from its own min to its max"
      : `${minus(S.channels[0][key][0])} … ${minus(S.channels[0][key][1])}`);
    if (view.grad)
      return [h("span", { class: "pk-ramp pk-ramp-grad" }),
        `梯度 gradient: deeper orange = more gradient (${range("grad_range")})`];
    if (view.image)
      return [h("span", { class: "pk-ramp pk-ramp-image" }),
        `亮度 brightness = value, brighter = larger (${range("range")}); the numbers are in the formula and on hover`];
    return [h("span", { class: "pk-ramp" }), `灰度 shade: brighter = larger value (${range("range")})`];
  }

  function onState() {
    S = model.get("state") || {};
    const error = model.get("error");
    syncControls();
    root.classList.toggle("pk-has-error", !!error);
    put(errorBox);
    if (error) {
      setPlaying(false);
      title.textContent = `${model.get("mode") === "avg" ? "平均池化 Average pooling" : "最大池化 Max pooling"} · ⚠`;
      const [rule, fix] = error.split(/\s*Fix:\s*/);
      errorBox.append(h("div", { class: "pk-error-title", text: "⚠ 参数无效 Invalid parameters" }),
        h("div", { class: "pk-error-rule", text: minus(rule) }),
        fix ? h("div", { class: "pk-error-fix", text: `修正 Fix: ${fix}` }) : null);
      return;
    }
    const mode = S.mode === "max" ? "最大池化 Max pooling" : "平均池化 Average pooling";
    const [C, H, W] = S.shape;
    title.textContent = `${mode} · ${C > 1 ? `${C} channels, ` : ""}${H}×${W} → ${S.out[0]}×${S.out[1]}`;
    torchLine.textContent = S.pytorch;
    put(shapeBox, h("div", { class: "pk-shape-title", text: "输出形状 Output size" }),
      ...S.shape_formula.map((line) => h("div", { class: "pk-math", text: line })),
      S.unread_note ? h("div", { class: "pk-unread-note", text: S.unread_note }) : null,
      C > 1 ? h("div", { text: `每个通道单独池化 Each of the ${C} channels is pooled on its own: ${C} channels in, ${C} channels out.` }) : null);
    const hasPad = S.padding[0] > 0 || S.padding[1] > 0;
    const hasOver = S.steps.some((s) => s.cells.some((x) => x[2] === "o"));
    put(legend, 
      swatch("pk-win", "窗口 window"),
      S.mode === "max" ? swatch("pk-argmax", "最大值 max of the window") : null,
      swatch("pk-cur", "当前输出 current output"),
      hasPad ? swatch("pk-pad", `填充 padding = ${minus(S.pad_label)}${S.mode === "max" ? " (never wins)" : " (adds 0)"}`) : null,
      S.dilated ? swatch("pk-hole", "空洞 dilation hole (skipped)") : null,
      hasOver ? swatch("pk-overhang", "ceil_mode 越界 overhang (not counted)") : null,
      S.unread.length ? swatch("pk-unread", "未读取 never read") : null,
      swatch("pk-reader", "读取它的输出 outputs reading the hovered cell"),
      shadeKey,
      S.rounded ? h("span", { class: "pk-key", "data-key": "rounded" }, h("span", { class: "pk-approx", text: "≈" }),
        "格中数字已四舍五入 a number too long for its cell is rounded; hover the cell for the value the formula uses") : null);
    build();
    view.pinned = view.hover = null;
    setPlaying(false);
    view.t = Math.max(0, Math.min(S.steps.length - 1, model.get("initial_step") || 0));
    // grids must be in the document before the window outline can be measured
    requestAnimationFrame(() => draw());
    draw();
  }

  const onParams = () => syncControls();
  model.on("change:state", onState);
  model.on("change:error", onState);
  for (const name of Object.keys(initial)) model.on(`change:${name}`, onParams);
  setSpeed(DEFAULT_SPEED);
  onState();
  // the window outline is measured from the cells: redraw when the layout changes (shown, resized)
  // and lay the grids out again when the width changes which cell size or arrangement fits
  const resize = new ResizeObserver(() => {
    if (!S.steps) return;
    if (layoutKey(chooseLayout()) !== layoutKey(view.layout)) build();
    draw();
  });
  resize.observe(stage);

  return () => {
    cancelAnimationFrame(view.raf);
    resize.disconnect();
    model.off("change:state", onState);
    model.off("change:error", onState);
    for (const name of Object.keys(initial)) model.off(`change:${name}`, onParams);
  };
}

export default { render };
