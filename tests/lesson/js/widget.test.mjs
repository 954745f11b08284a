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
  channels: [{ argmax: [5, 6, 7, 9, 10, 11, 13, 14, 15], remarks: { 4: "tie: 2 cells equal 5" } }],
};
const T = {
  index: "index {index} = {r}·{W} + {c} (return_indices)", read_by: "X[{r}, {c}] is read by {count} window(s): {where}",
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
  assert.equal(W.channelNote(S, T, 0, 4), "index 10 = 2·4 + 2 (return_indices); tie: 2 cells equal 5");
  assert.equal(W.channelNote({ ...S, channels: [{ argmax: [-1], remarks: {} }] }, T, 0, 0), "");
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
