"""poolkit.draw and `python -m poolkit.images`: frames drawn from the trace, Images/ reproducible."""

import io
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import poolkit.draw as draw
from poolkit import output_shape
from poolkit.draw import draw_frame, frame_figure, frame_png, frames, png_bytes, text_lines
from poolkit.trace import fmt

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "Images"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.slow  # draws every frame: the fast command leaves it out

X3 = torch.arange(9.0).reshape(3, 3)
X4 = torch.arange(16.0).reshape(4, 4)
PARAMETER_SETS = [
    (X3, dict(kernel_size=2, stride=1)),
    (X3, dict(kernel_size=2, stride=1, mode="avg")),
    (X4, dict(kernel_size=3, stride=2, padding=1)),
    (-X4 - 1, dict(kernel_size=3, stride=2, padding=1)),  # padding must never win: -inf, not 0
    (torch.stack((X4, X4 + 1)), dict(kernel_size=3, stride=2, padding=1)),
    (torch.ones(6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, mode="avg")),
    (torch.ones(3, 3), dict(kernel_size=3, stride=1, padding=1, mode="avg", count_include_pad=False)),
    (X4, dict(kernel_size=2, stride=1, mode="avg", divisor_override=1)),
    (torch.arange(49.0).reshape(7, 7), dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    (torch.arange(25.0).reshape(5, 5), dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True)),
]


def torch_pool(X, p):
    """What PyTorch computes: the numbers every frame must show."""
    X4d = X.reshape(1, -1, *X.shape[-2:])
    stride = p.get("stride") or p["kernel_size"]
    common = dict(kernel_size=p["kernel_size"], stride=stride, padding=p.get("padding", 0),
                  ceil_mode=p.get("ceil_mode", False))
    if p.get("mode", "max") == "max":
        Y = F.max_pool2d(X4d, dilation=p.get("dilation", 1), **common)
    else:
        Y = F.avg_pool2d(X4d, count_include_pad=p.get("count_include_pad", True),
                         divisor_override=p.get("divisor_override"), **common)
    return Y.reshape(-1, *Y.shape[-2:])


def filled_output(fr, t):
    """The output grid as frame t shows it: values of steps 0..t, NaN where nothing is filled yet."""
    Y = torch.full((len(fr.steps), *fr.out_hw), float("nan"), dtype=torch.float64)
    for c, steps in enumerate(fr.steps):
        for step in steps[: t + 1]:
            Y[c, step.out_row, step.out_col] = step.result
    return Y


def drawn_texts(fr, t):
    fig = frame_figure(fr, t)
    return [text.get_text() for text in fig.axes[0].texts]


@pytest.mark.parametrize("X, params", PARAMETER_SETS)
def test_frames_equal_torch_frame_by_frame(X, params):
    fr = frames(X, **params)
    expected = torch_pool(X, params).double()
    assert fr.out_hw == tuple(expected.shape[-2:])
    for t in range(fr.n_steps + 1):
        shown = filled_output(fr, t)
        filled = ~shown.isnan()
        assert filled.sum() == len(fr.steps) * min(t + 1, fr.n_steps)
        torch.testing.assert_close(shown[filled], expected[filled], rtol=0, atol=0)
    torch.testing.assert_close(filled_output(fr, fr.n_steps), expected, rtol=0, atol=0)


@pytest.mark.parametrize("X, params", PARAMETER_SETS[:6])
def test_every_frame_draws_the_trace_numbers(X, params):
    """Each frame shows the filled outputs, the pending ones empty, and each channel's Step.formula."""
    fr = frames(X, **params)
    for t in range(fr.n_steps + 1):
        texts = drawn_texts(fr, t)
        lines = text_lines(fr, t)
        for steps in fr.steps:
            if t < fr.n_steps:
                assert any(steps[t].formula in line for line in lines)
        shown = [s.replace("\u2212", "-") for s in texts]
        for steps in fr.steps:
            for step in steps[: t + 1]:
                assert fmt(step.result) in shown
        assert frame_png(X, t, **params).startswith(PNG_MAGIC)


def test_frames_come_from_trace_not_recomputed(monkeypatch):
    """Change what trace returns: the drawing must show the changed numbers."""
    real_steps = draw.steps_of

    def shifted(*args, **kwargs):
        return [s._replace(result=s.result + 1000, formula=f"{s.formula} (+1000)")
                for s in real_steps(*args, **kwargs)]

    monkeypatch.setattr(draw, "steps_of", shifted)
    fr = frames(X3, kernel_size=2, stride=1)
    texts = drawn_texts(fr, 3)
    assert {"1004", "1005", "1007", "1008"} <= set(texts)
    assert any("max(4, 5, 7, 8) = 8 (+1000)" in text for text in texts)


def test_text_lines_explain_the_divisor():
    ceil = frames(torch.ones(6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True, mode="avg")
    last = text_lines(ceil, ceil.n_steps - 1)
    assert last[0] == "Step 16 of 16: Y[3, 3] = (1 + 0 + 0 + 0) / 4 = 0.25"
    assert "÷ 4 = 1 input cell + 3 padding zeros" in last[1]
    assert "the 5 ceil_mode overhang cells (beyond the padding) never count" in last[1]
    override = frames(X4, kernel_size=2, mode="avg", divisor_override=1)
    assert "divisor_override=1" in text_lines(override, 0)[1]
    assert text_lines(frames(X3, kernel_size=2, stride=1), 4) == [
        "Done: 4 windows, 4 output values",
        "H_out = ⌊(H + 2p − d·(k−1) − 1) / s⌋ + 1 = ⌊(3 + 2·0 − 1·(2−1) − 1) / 1⌋ + 1 = 2",
        "W_out = ⌊(W + 2p − d·(k−1) − 1) / s⌋ + 1 = ⌊(3 + 2·0 − 1·(2−1) − 1) / 1⌋ + 1 = 2"]


@pytest.mark.parametrize("X", [X3, torch.stack((X4, X4 + 1)), torch.arange(6).reshape(2, 3)])
def test_frame_png_returns_a_png(X):
    png = frame_png(X, 0, kernel_size=2, stride=1)
    assert png.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 200 and image.height > 150
    assert png == frame_png(X, 0, kernel_size=2, stride=1)  # same input, same bytes


@pytest.mark.parametrize("params, message", [
    (dict(kernel_size=2, padding=2), "padding <= kernel_size // 2"),
    (dict(kernel_size=2, stride=0), "stride"),
    (dict(kernel_size=5), "does not fit"),
    (dict(kernel_size=2, mode="min"), "unknown pooling mode"),
    (dict(kernel_size=2, mode="avg", dilation=2), "no dilation"),
])
def test_frame_png_rejects_invalid_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        frame_png(X3, 0, **params)


def test_frame_png_rejects_bad_t_and_shapes():
    with pytest.raises(ValueError, match="0 <= t <= 4"):
        frame_png(X3, 5, kernel_size=2, stride=1)
    with pytest.raises(ValueError, match=r"\(H, W\) plane or one \(C, H, W\)"):
        frame_png(X3.reshape(1, 1, 3, 3), 0, kernel_size=2)


def test_draw_frame_on_any_axes():
    """draw_frame draws onto axes it is given (a notebook's own figure) and redraws in place."""
    from matplotlib.figure import Figure

    fr = frames(X4, kernel_size=3, stride=2, padding=1)
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    draw_frame(ax, fr, 0)
    first = len(ax.texts)
    draw_frame(ax, fr, 1)
    assert len(ax.texts) == first + 1  # one more output value, nothing left over from frame 0


# ------------------------------------------------------------------------------------------------
# Images/: regenerated by one command, byte for byte
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("images")
    subprocess.run([sys.executable, "-m", "poolkit.images", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return out


def decoded(path):
    """Every frame's RGB pixels and duration, and the loop count: what a viewer shows."""
    image = Image.open(path)
    shown = []
    for i in range(getattr(image, "n_frames", 1)):
        image.seek(i)
        shown.append((image.size, image.info.get("duration"), image.convert("RGB").tobytes()))
    return shown, image.info.get("loop")


def test_images_are_reproducible_from_the_command(regenerated):
    # Byte identity holds because every step is deterministic: Agg renders the same pixels with
    # matplotlib's bundled DejaVu fonts, the PNGs carry no Software/date metadata
    # (metadata={'Software': None}), and Pillow's GIF writer stores no timestamp. Pixels are compared
    # first, so a failure says whether the picture changed or only the encoder (Pillow/zlib version).
    made = sorted(p.name for p in regenerated.iterdir())
    committed = sorted(p.name for p in IMAGES.iterdir() if not p.name.startswith("."))
    assert made == committed, "Images/ holds files the command does not make, or misses some"
    for name in made:
        # Compared outside the assert: pytest's diff of two large byte strings runs for many minutes.
        same_pixels = decoded(regenerated / name) == decoded(IMAGES / name)
        same_bytes = (regenerated / name).read_bytes() == (IMAGES / name).read_bytes()
        assert same_pixels, (
            f"Images/{name} shows something else than `python -m poolkit.images` draws now: regenerate it")
        assert same_bytes, (
            f"Images/{name}: same pixels, different bytes, so the encoder changed (Pillow or zlib "
            "version): regenerate with the pinned environment")


@pytest.mark.parametrize("name, steps", [("max-pool.gif", 4), ("avg-pool.gif", 4), ("padding-stride.gif", 4)])
def test_gifs_play_every_step_then_pause(regenerated, name, steps):
    path = IMAGES / name
    assert path.stat().st_size < 400 * 1024
    gif = Image.open(path)
    assert gif.info["loop"] == 0 and 400 <= gif.width <= 800
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert durations[:steps] == [800] * steps  # one step per 0.8 s
    assert len(durations) == steps + 1 and durations[-1] >= 2000  # the finished output stays a while


def test_gif_frames_match_frame_png():
    """A GIF frame is the same drawing as frame_png (one drawing function serves both)."""
    gif = Image.open(IMAGES / "max-pool.gif")
    gif.seek(1)
    fr = frames(X3, kernel_size=2, stride=1)
    png = Image.open(io.BytesIO(png_bytes(frame_figure(fr, 1, still=False))))
    assert gif.size == png.size
    difference = [abs(a - b) for a, b in zip(gif.convert("L").tobytes(), png.convert("L").tobytes(),
                                             strict=True)]
    assert sum(d > 40 for d in difference) < 0.01 * len(difference)  # only palette rounding differs


def test_size_line_ends_in_output_shape():
    """The output-size arithmetic on the finished frame ends in output_shape's answer, ceil rule included."""
    for n, k, s, p, d, ceil in itertools.product(range(1, 8), range(1, 4), range(1, 4), range(2), (1, 2),
                                                 (False, True)):
        if p > k // 2 or d * (k - 1) + 1 > n + 2 * p:
            continue
        fr = frames(torch.zeros(n, n + 1), kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        lines = text_lines(fr, fr.n_steps)[-2:]
        ends = [int(re.findall(r"(?:= |→ )(\d+)", line)[-1]) for line in lines]
        assert ends == list(output_shape((n, n + 1), k, s, p, d, ceil)), lines


def test_stacked_channels_show_the_same_numbers():
    fr = frames(torch.stack((X4, X4 + 1)), kernel_size=3, stride=2, padding=1)
    side, stacked = frame_figure(fr, 3), frame_figure(fr, 3, stack_channels=True)
    assert stacked.get_figheight() > side.get_figheight() and stacked.get_figwidth() < side.get_figwidth()
    texts = [sorted(t.get_text() for t in fig.axes[0].texts) for fig in (side, stacked)]
    assert texts[0] == texts[1] and "16" in texts[1]
