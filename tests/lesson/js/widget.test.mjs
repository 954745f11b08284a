// Unit tests of widget.js's pure functions: node --test tests/lesson/js/ (no browser, no dependencies).
// widget.js is loaded from its source as an ES module (the package ships it without a package.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const source = readFileSync(new URL("../../../poolkit/widget.js", import.meta.url), "utf8");
const W = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);

// A scene as widget.py sends it: 4x4 input, k=2, s=1, padding 0 (3x3 output).
const S = {
  shape: [1, 4, 4], out: [3, 3], rows: [0, 3], cols: [0, 3], kinds: "iiiiiiiiiiiiiiii",
  win_rows: [[0, 1], [1, 2], [2, 3]], win_cols: [[0, 1], [1, 2], [2, 3]],
  row_readers: [[0], [0, 1], [1, 2], [2]], col_readers: [[0], [0, 1], [1, 2], [2]],
  notes: ["only note"], note: [],
  channels: [{ argmax: [5, 6, 7, 9, 10, 11, 13, 14, 15], remarks: ["index 5 = 1·4 + 1 (return_indices)", "", "", "",
    "index 10 = 2·4 + 2 (return_indices); tie: 2 cells equal 5"] }],
};
const T = {
  read_by: "X[{r}, {c}] is read by {count} window(s): {where}",
  never_read: "X[{r}, {c}] is never read by any window", not_input_padding: "({r}, {c}) is padding",
  not_input_overhang: "({r}, {c}) is overhang",
};

test("fill puts values into catalogue templates and leaves unknown names", () => {
  assert.equal(W.fill("Step {t} of {n}:", { t: 2, n: 9 }), "Step 2 of 9:");
  assert.equal(W.fill("{a} {b}", { a: 0 }), "0 {b}");
});

test("minus and pair format values as PyTorch takes them", () => {
  assert.equal(W.minus("-∞ and -1.5"), "−∞ and −1.5");
  assert.deepEqual(W.pair(2, 1), [2, 2]);
  assert.deepEqual(W.pair([2, 3], 1), [2, 3]);
  assert.deepEqual(W.pair(null, 1), [1, 1]);
});

test("keyboard mapping", () => {
  assert.equal(W.keyAction(" "), "toggle");
  assert.equal(W.keyAction("ArrowRight"), "next");
  assert.equal(W.keyAction("ArrowLeft"), "back");
  assert.equal(W.keyAction("Home"), "first");
  assert.equal(W.keyAction("End"), "last");
  assert.equal(W.keyAction("+"), "faster");
  assert.equal(W.keyAction("="), "faster");
  assert.equal(W.keyAction("-"), "slower");
  assert.equal(W.keyAction("L"), "loop");
  assert.equal(W.keyAction("Escape"), "unpin");
  assert.equal(W.keyAction("x"), null);
});

test("Shift + an arrow probes the input; other keys keep their actions; unknown keys do nothing", () => {
  assert.deepEqual(W.keyPress("ArrowDown", true), ["probe", [1, 0]]);
  assert.deepEqual(W.keyPress("ArrowLeft", true), ["probe", [0, -1]]);
  assert.deepEqual(W.keyPress("ArrowRight", false), ["next", undefined]);
  assert.deepEqual(W.keyPress("Escape", true), ["unpin", undefined]);
  assert.equal(W.keyPress("x", false), null);
  assert.equal(W.keyPress("x", true), null);
});

test("player steps: forward, loop or stop at the end; clamp", () => {
  assert.equal(W.nextStep(0, 9, false), 1);
  assert.equal(W.nextStep(8, 9, false), null);
  assert.equal(W.nextStep(8, 9, true), 0);
  assert.equal(W.clamp(-3, 9), 0);
  assert.equal(W.clamp(12, 9), 8);
  assert.deepEqual(W.SPEEDS.map(W.speedLabel).slice(-2), ["30 /s", "max"]);
});

test("window cells and readers come from Python's per-axis lists", () => {
  assert.deepEqual(W.windowCells(S, 4), [[1, 1], [1, 2], [2, 1], [2, 2]]);
  assert.deepEqual(W.readersOf(S, 1, 1), [0, 1, 3, 4]);
  assert.deepEqual(W.readersOf(S, 0, 3), [2]);
  assert.deepEqual(W.cellOf(14, 4), [3, 2]);
  assert.equal(W.kindAt({ ...S, kinds: "pppp" + "piip" + "piip" + "pppp", rows: [-1, 2], cols: [-1, 2] }, -1, 0), "p");
});

test("probe, channel and step notes fill the catalogue's templates", () => {
  assert.equal(W.probeText(S, T, 1, 1), "X[1, 1] is read by 4 window(s): Y[0, 0], Y[0, 1], Y[1, 0], Y[1, 1]");
  const padded = { ...S, kinds: "p".repeat(16), rows: [-1, 2], cols: [-1, 2] };
  assert.equal(W.probeText(padded, T, -1, -1), "(-1, -1) is padding");
  assert.equal(W.channelNote(S, 0, 4), "index 10 = 2·4 + 2 (return_indices); tie: 2 cells equal 5");
  assert.equal(W.channelNote(S, 0, 1), "");
  assert.equal(W.channelNote({ ...S, channels: [{ argmax: [-1], remarks: [] }] }, 0, 0), ""); // average pooling
  assert.equal(W.stepNote(S, 3), "only note");
  assert.equal(W.stepNote({ notes: ["a", "b"], note: [0, 1] }, 1), "b");
  assert.equal(W.fullText({ text: ["1e5"], full: { 0: "1.235e+05" } }, 0), "1.235e+05");
});

const geometry = (over) => ({ avail: 840, C: 1, rows: 3, cols: 3, orows: 2, ocols: 2, text10: 14, inTitle: 90,
  outTitle: 90, ...over });

test("layout: a small grid gets the largest number cells, input beside output", () => {
  const L = W.chooseLayout(geometry());
  assert.equal(L.arrange, "row");
  assert.equal(L.h, W.SIZES.numberMax);
  assert.ok(L.font >= W.SIZES.minFont);
});

test("layout: a 32x32 photo is drawn as an image with cells of at least 14 px", () => {
  const L = W.chooseLayout(geometry({ rows: 32, cols: 32, orows: 16, ocols: 16 }));
  assert.equal(L.font, 0);
  assert.ok(L.h >= W.SIZES.imageMin && L.h <= W.SIZES.imageMax);
});

test("layout: three channels stay in one row when they fit, else fewer per row", () => {
  const wide = W.chooseLayout(geometry({ C: 3, rows: 16, cols: 16, orows: 8, ocols: 8, avail: 1400 }));
  assert.equal(wide.n, 3);
  const narrow = W.chooseLayout(geometry({ C: 3, rows: 16, cols: 16, orows: 8, ocols: 8, avail: 500 }));
  assert.ok(narrow.n < 3);
  assert.deepEqual(W.arrangements(4), [["row", 4], ["stack", 4], ["row", 2], ["stack", 2], ["row", 1]]);
});

test("layout: nothing fits: the smallest cells, one channel per row (the stage scrolls)", () => {
  const L = W.chooseLayout(geometry({ rows: 64, cols: 64, orows: 63, ocols: 63, avail: 200 }));
  assert.deepEqual([L.h, L.arrange, L.n], [6, "row", 1]);
});

test("cell size: long numbers widen the cell rather than shrink the font below 14 px", () => {
  const cell = W.cellFor(30, 40); // a number 40 px wide at 10 px
  assert.ok(cell.w > 30);
  assert.ok(cell.font >= 11);
  assert.deepEqual(W.cellFor(20, 14), { h: 20, w: 20, font: 0 });
  assert.equal(W.layoutKey(null), "");
});

test("unpackState reads the zlib-compressed JSON widget.py sends; nothing sent is {}", async () => {
  const state = { title: "最大池化 max pooling", pad: "−∞", channels: [{ formula: ["max(1, 2) = 2"] }] };
  const bytes = deflateSync(Buffer.from(JSON.stringify(state)));
  assert.deepEqual(await W.unpackState(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)), state);
  assert.deepEqual(await W.unpackState(new DataView(new ArrayBuffer(0))), {});
  assert.deepEqual(await W.unpackState(undefined), {});
});

// ------------------------------------------------------------------------------- the view's state

const view = (over = {}) => ({ ...W.VIEW, ...over });
const step = (v, action, value, n = 9) => W.nextView(v, action, value, n);

test("the player's buttons and keys move the step, stop playing and release a pinned output cell", () => {
  const pinnedOut = { kind: "out", t: 7 };
  const pinnedIn = { kind: "in", r: 1, c: 1 };
  assert.deepEqual(step(view({ t: 4, playing: true, pinned: pinnedOut }), "next"), view({ t: 5 }));
  assert.equal(step(view({ t: 4, pinned: pinnedIn }), "back").pinned, pinnedIn); // an input probe stays
  assert.equal(step(view({ t: 4 }), "first").t, 0);
  assert.equal(step(view(), "last").t, 8);
  assert.equal(step(view({ t: 8 }), "next").t, 8); // clamped at the end
  assert.equal(step(view(), "seek", 20).t, 8);
  assert.equal(step(view(), "seek", 3).t, 3);
});

test("playing: toggle, ticks, the end (stop or loop), one step only never plays", () => {
  assert.equal(step(view(), "toggle").playing, true);
  assert.equal(step(view({ playing: true }), "toggle").playing, false);
  assert.deepEqual(step(view({ t: 8 }), "toggle"), view({ t: 0, playing: true })); // again from the start
  assert.equal(step(view({ pinned: { kind: "in", r: 0, c: 0 } }), "toggle").pinned, null);
  assert.equal(step(view(), "toggle", undefined, 1).playing, false);
  assert.deepEqual(step(view({ t: 3, playing: true }), "tick"), view({ t: 4, playing: true }));
  assert.deepEqual(step(view({ t: 8, playing: true }), "tick"), view({ t: 8, playing: false }));
  assert.deepEqual(step(view({ t: 8, playing: true, loop: true }), "tick"), view({ t: 0, playing: true, loop: true }));
  assert.equal(step(view({ playing: true }), "stop").playing, false);
});

test("speed, loop and gradient settings", () => {
  assert.equal(step(view(), "faster").speed, W.VIEW.speed + 1);
  assert.equal(step(view(), "slower").speed, W.VIEW.speed - 1);
  assert.equal(step(view({ speed: W.SPEEDS.length - 1 }), "faster").speed, W.SPEEDS.length - 1);
  assert.equal(step(view(), "speed", -4).speed, 0);
  assert.equal(step(view(), "loop").loop, true); // the L key toggles
  assert.equal(step(view({ loop: true }), "loop", true).loop, true); // the checkbox sets
  assert.equal(step(view(), "grad", true).grad, true);
});

test("the keyboard probe: first press pins (0, 0), then moves within the input area, padding included", () => {
  const S = { rows: [-1, 3], cols: [-1, 4] }; // a 3x4 input with padding 1
  const probe = (v, d) => W.nextView(v, "probe", d, 9, S);
  const first = probe(view({ playing: true, hover: { kind: "out", t: 2 } }), [1, 0]);
  assert.deepEqual(first, view({ pinned: { kind: "in", r: 0, c: 0 } })); // pauses, drops the hover
  assert.deepEqual(probe(first, [0, 1]).pinned, { kind: "in", r: 0, c: 1 });
  const corner = probe(probe(first, [-1, 0]), [0, -1]);
  assert.deepEqual(corner.pinned, { kind: "in", r: -1, c: -1 }); // into the padding ring
  assert.equal(probe(corner, [-1, 0]), corner); // at the edge: the same object, nothing to redraw
  const far = view({ pinned: { kind: "in", r: 3, c: 4 } });
  assert.equal(probe(far, [1, 0]), far);
  // a pinned output cell is replaced by the probe
  assert.deepEqual(probe(view({ pinned: { kind: "out", t: 5 }, t: 5 }), [0, 1]).pinned, { kind: "in", r: 0, c: 0 });
  assert.equal(W.nextView(corner, "unpin", undefined, 9, S).pinned, null); // Esc releases it
});

test("hover previews, a click pins (and moves the player to an output cell), a second click releases", () => {
  const out = { kind: "out", t: 6 };
  const cell = { kind: "in", r: 2, c: 3 };
  assert.deepEqual(step(view({ playing: true }), "enter", out), view({ hover: out }));
  assert.deepEqual(step(view({ playing: true }), "enter", cell), view({ hover: cell, playing: true }));
  const pinned = view({ pinned: cell });
  assert.equal(step(pinned, "enter", out), pinned); // nothing changes while a cell is pinned
  const idle = view();
  assert.equal(step(idle, "leave"), idle); // the same object: nothing to redraw
  assert.deepEqual(step(view({ hover: out }), "leave"), view());
  assert.deepEqual(step(view({ playing: true, hover: out }), "click", out), view({ pinned: out, t: 6 }));
  assert.deepEqual(step(view({ pinned: { ...out } }), "click", out), view());
  assert.deepEqual(step(view({ t: 2 }), "click", cell), view({ t: 2, pinned: cell }));
  assert.equal(step(view({ pinned: cell }), "unpin").pinned, null);
});

test("a new scene starts at Python's initial step, paused, with nothing pinned", () => {
  const busy = view({ t: 5, playing: true, pinned: { kind: "in", r: 0, c: 0 }, hover: { kind: "out", t: 1 }, loop: true });
  assert.deepEqual(step(busy, "scene", 2, 4), view({ t: 2, loop: true }));
  assert.equal(step(busy, "scene", 99, 4).t, 3);
  assert.equal(step(busy, "scene", 0, 0).t, 0); // an error: no steps
  for (const action of Object.values(W.KEYS)) assert.ok(action in W.TRANSITIONS, action); // every key does something
});

test("focus: a hovered or pinned output cell shows its own window, an input cell the player's", () => {
  assert.deepEqual(W.focusOf(view({ t: 3 })), { focus: null, shown: 3 });
  assert.deepEqual(W.focusOf(view({ t: 3, hover: { kind: "out", t: 7 } })).shown, 7);
  assert.deepEqual(W.focusOf(view({ t: 3, hover: { kind: "in", r: 0, c: 1 } })).shown, 3);
  const pinned = { kind: "out", t: 1 };
  assert.equal(W.focusOf(view({ pinned, hover: { kind: "out", t: 7 } })).focus, pinned);
  assert.deepEqual(W.targetOf({ t: "4" }), { kind: "out", t: 4 });
  assert.deepEqual(W.targetOf({ r: "-1", c: "2" }), { kind: "in", r: -1, c: 2 });
  assert.equal(W.stepsOf(S), 9);
  assert.equal(W.stepsOf({}), 0);
});

test("latestOnly draws only the newest state when an older one finishes unpacking later", async () => {
  const drawn = [];
  const delays = [30, 0];
  let call = 0;
  const load = () => new Promise((resolve) => {
    const k = call++;
    setTimeout(() => resolve(k), delays[k]);
  });
  const onState = W.latestOnly(load, (k) => drawn.push(k));
  await Promise.all([onState(), onState()]);
  assert.deepEqual(drawn, [1]);
});

// ------------------------------------------------------------------------------- the receptive-field view

test("field view: hover shows a cell's field, a click pins it, keys move the picked cell", () => {
  const hw = [5, 5];
  const start = W.fieldStart([2, 2], 5);
  assert.deepEqual(start, { cell: 12, hover: null, pinned: false });
  const hovered = W.fieldNext(start, "enter", 3, hw);
  assert.equal(W.fieldShown(hovered), 3);
  assert.equal(W.fieldShown(W.fieldNext(hovered, "leave", undefined, hw)), 12);
  assert.equal(W.fieldNext(start, "leave", undefined, hw), start); // nothing to redraw
  const pinned = W.fieldNext(hovered, "click", 3, hw);
  assert.deepEqual(pinned, { cell: 3, hover: null, pinned: true });
  assert.equal(W.fieldNext(pinned, "enter", 7, hw), pinned); // a pinned cell stays shown
  assert.equal(W.fieldNext(pinned, "click", 3, hw).pinned, false); // a second click releases it
  assert.equal(W.fieldNext(pinned, "click", 8, hw).cell, 8);
  assert.equal(W.fieldNext(pinned, "unpin", undefined, hw).pinned, false);
  assert.equal(W.fieldNext(start, "pin", undefined, hw).pinned, true);
  assert.equal(W.fieldNext(start, "move", [0, 1], hw).cell, 13);
  assert.equal(W.fieldNext(start, "move", [-1, 0], hw).cell, 7);
  assert.equal(W.fieldNext({ ...start, cell: 24 }, "move", [1, 1], hw).cell, 24); // stays on the map
  assert.equal(W.fieldNext({ ...start, cell: 0 }, "move", [0, -1], hw).cell, 0);
  assert.equal(W.fieldNext({ ...hovered }, "move", [1, 0], hw).hover, null); // the keys take over
});

test("field view: keys and cell size", () => {
  assert.deepEqual(W.fieldKey("ArrowDown"), ["move", [1, 0]]);
  assert.deepEqual(W.fieldKey("Enter"), ["pin", undefined]);
  assert.deepEqual(W.fieldKey("Escape"), ["unpin", undefined]);
  assert.equal(W.fieldKey("x"), null);
  // LeNet's maps: 28, 28, 14, 10, 5 columns
  const widths = [28, 28, 14, 10, 5];
  const px = W.fieldCellSize(widths, 1400);
  const width = widths.reduce((a, n) => a + Math.max(96, W.SIZES.idx + n * px), 0) + 4 * (W.SIZES.arrow + 2 * W.SIZES.gapIn);
  assert.ok(widths.reduce((a, n) => a + Math.max(96, W.SIZES.idx + n * (px + 1)), 0) + 4 * (W.SIZES.arrow + 2 * W.SIZES.gapIn) > 1400);
  assert.ok(width <= 1400 && px >= 10, `${px} px, ${width} px wide`);
  assert.equal(W.fieldCellSize(widths, 300), 6); // too narrow: the smallest cells, the row wraps
  assert.equal(W.fieldCellSize([3, 2], 2000), W.SIZES.imageMax);
});
