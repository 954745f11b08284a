"""Regenerate every file in Images/ from poolkit.trace (matplotlib + Pillow, nothing else).

    python -m poolkit.images              # writes Images/ next to the package
    python -m poolkit.images --out DIR    # writes somewhere else (the reproducibility test does this)

The output is byte-reproducible: fixed sizes and dpi, no timestamps or software versions in the files.
"""

import argparse
from pathlib import Path

import matplotlib
import torch
from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .draw import BLUE, CELL_INCHES, DPI, FONT, LINE, RC, draw_frame, frame_figure, frames, layout, png_bytes
from .explain import LECTURE_X

IMAGES = Path(__file__).resolve().parent.parent / "Images"
STEP_SECONDS = 0.8  # one window position per frame
END_FRAMES = 4  # the finished output stays 4 x 0.8 s before the loop restarts

D2L_X = torch.arange(16.0).reshape(4, 4)  # d2l's padding/stride example
# CS231n's max pooling example: max keeps each quarter's strongest value, avg smooths it out.
CONTRAST_X = torch.tensor([[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])

GIFS = {
    "max-pool.gif": (LECTURE_X, dict(kernel_size=2, stride=1, mode="max")),
    "avg-pool.gif": (LECTURE_X, dict(kernel_size=2, stride=1, mode="avg")),
    "padding-stride.gif": (D2L_X, dict(kernel_size=3, stride=2, padding=1, mode="max")),
}


def write_gif(path, fr):
    """Every step of fr, then the finished output held for a moment; loops forever."""
    fig = frame_figure(fr, 0, still=False)
    ax = fig.axes[0]
    writer = PillowWriter(fps=1 / STEP_SECONDS)
    with matplotlib.rc_context(RC), writer.saving(fig, str(path), dpi=DPI):
        for t in range(fr.n_steps):
            draw_frame(ax, fr, t)
            writer.grab_frame(facecolor="white")
        draw_frame(ax, fr, fr.n_steps)
        for _ in range(END_FRAMES):  # Pillow merges identical frames into one longer frame
            writer.grab_frame(facecolor="white")


def stacked_figure(panels, heading):
    """One figure: a heading, then the frames (fr, t) of panels top to bottom, left-aligned, same scale."""
    sizes = [layout(fr, t) for fr, t in panels]
    band = 2 * LINE  # the heading's height, in cells
    width, height = max(s.width for s in sizes), band + sum(s.height for s in sizes)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width * CELL_INCHES, height * CELL_INCHES), facecolor="white")
        FigureCanvasAgg(fig)
        fig.text(0.3 / width, 1 - LINE / height, heading, fontsize=FONT["title"] * CELL_INCHES * 72,
                 va="center", color=BLUE, weight="bold", parse_math=False)
        top = 1.0 - band / height
        for (fr, t), size in zip(panels, sizes, strict=True):
            h = size.height / height
            ax = fig.add_axes((0, top - h, size.width / width, h))
            draw_frame(ax, fr, t, still=True)
            top -= h
    return fig


def multi_channel_png():
    """Two channels, torch.cat((X, X + 1)), pooled independently: channel 2 gives [[6, 8], [14, 16]]."""
    fr = frames(torch.stack((D2L_X, D2L_X + 1)), kernel_size=3, stride=2, padding=1)
    return png_bytes(frame_figure(fr, fr.n_steps - 1, stack_channels=True))  # legible at README width


def max_vs_avg_png():
    """The same input and windows, max above avg, at the last step so both outputs are complete."""
    panels = []
    for mode in ("max", "avg"):
        fr = frames(CONTRAST_X, kernel_size=2, stride=2, mode=mode)
        panels.append((fr, fr.n_steps - 1))
    return png_bytes(stacked_figure(panels, "Same input, same windows:\n"
                                            "max keeps the largest, avg blends all four"))


def generate(out=IMAGES):
    """Write every image into out; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (X, params) in GIFS.items():
        write_gif(out / name, frames(X, **params))
        written.append(out / name)
    for name, make in (("multi-channel.png", multi_channel_png), ("max-vs-avg.png", max_vs_avg_png)):
        (out / name).write_bytes(make())
        written.append(out / name)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(IMAGES), help="folder to write into (default: Images/)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
