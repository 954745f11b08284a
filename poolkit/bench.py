"""Why frameworks don't loop in Python: time the lecture-style loop, the vectorised version and torch.

    python -m poolkit.bench              # the full table
    python -m poolkit.bench --threads 1  # torch's thread count (default 2, printed with the table)
    python -m poolkit.bench --quick      # tiny sizes only, a few seconds (also when POOLKIT_QUICK=1)
    python -m poolkit.bench --target-only  # only the (32, 64, 56, 56) rows the target is about

Every row is a median over interleaved rounds (loop, vectorised and torch take turns, so a busy machine
slows all three alike). The last line is the worst vectorised/torch ratio on the (32, 64, 56, 56)
float32 batch over the three target settings: k=2 s=2, k=3 s=2 p=1, k=3 s=1 p=1 (target: <= 1.5).
"""

import argparse
import os
import statistics
import time
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .params import MODES
from .reference import pool2d
from .vectorized import pool2d_vectorized

TARGET_SHAPE = (32, 64, 56, 56)
TARGET_SETTINGS = [(2, 2, 0), (3, 2, 1), (3, 1, 1)]  # (kernel_size, stride, padding)
SHAPES = [(1, 1, 3, 3), (1, 1, 4, 4), (1, 1, 28, 28), (4, 8, 28, 28), TARGET_SHAPE]
QUICK_SHAPES = [(1, 1, 3, 3), (2, 3, 8, 8)]
LOOP_MAX_ELEMENTS = 4 * 8 * 28 * 28  # the loop takes seconds to minutes beyond this: skipped


class Case(NamedTuple):
    shape: tuple
    mode: str  # "max" or "avg"
    kernel_size: int
    stride: int
    padding: int


class Row(NamedTuple):
    case: Case
    loop: float | None  # median seconds; None when skipped
    vectorized: float
    torch: float


def torch_pool(X, case):
    pool = getattr(F, MODES[case.mode].functional)  # F.max_pool2d or F.avg_pool2d
    return pool(X, case.kernel_size, case.stride, case.padding)


def _calls(fn, min_seconds):
    """How many calls of fn make one measurement last at least min_seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_seconds:
            return number
        number *= 2


def median_times(fns, rounds=9, min_seconds=0.01):
    """Median seconds per call of each fn, measured in interleaved rounds."""
    numbers = [_calls(fn, min_seconds) for fn in fns]  # also warms each fn up
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for fn, number, times in zip(fns, numbers, samples, strict=True):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number)
    return [statistics.median(times) for times in samples]


def run_case(case, rounds=9, min_seconds=0.01, loop=None):
    """Check that all three agree exactly, then time them. loop=None: time the loop on small inputs."""
    X = torch.randn(case.shape, generator=torch.Generator().manual_seed(0))
    args = (case.kernel_size, case.stride, case.padding)
    fns = {
        "vectorized": lambda: pool2d_vectorized(X, *args, mode=case.mode),
        "torch": lambda: torch_pool(X, case),
    }
    expected = fns["torch"]()
    torch.testing.assert_close(fns["vectorized"](), expected, rtol=0, atol=0)
    if loop is None:
        loop = X.numel() <= LOOP_MAX_ELEMENTS
    if loop:
        fns["loop"] = lambda: pool2d(X, *args, mode=case.mode)
        torch.testing.assert_close(fns["loop"](), expected, rtol=0, atol=0)
    times = dict(zip(fns, median_times(list(fns.values()), rounds, min_seconds), strict=True))
    return Row(case, times.get("loop"), times["vectorized"], times["torch"])


def cases(shapes=SHAPES, settings=TARGET_SETTINGS, modes=tuple(MODES)):
    return [Case(shape, mode, k, s, p) for shape in shapes for mode in modes for k, s, p in settings]


def _ms(seconds):
    return "skipped" if seconds is None else f"{seconds * 1e3:.3f}"


def table(rows):
    """The rows as aligned text, one line per case."""
    header = ("input (N,C,H,W)", "mode", "k", "s", "p", "loop ms", "vectorized ms", "torch ms",
              "loop/torch", "vec/torch")
    lines = [header]
    for row in rows:
        c = row.case
        lines.append((
            str(c.shape), c.mode, str(c.kernel_size), str(c.stride), str(c.padding),
            _ms(row.loop), _ms(row.vectorized), _ms(row.torch),
            "-" if row.loop is None else f"{row.loop / row.torch:.0f}x",
            f"{row.vectorized / row.torch:.2f}x",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def worst_target_ratio(rows, shape=TARGET_SHAPE):
    """The largest vectorised/torch ratio among the target cases (the big batch, target settings)."""
    ratios = [row.vectorized / row.torch for row in rows
              if row.case.shape == shape
              and (row.case.kernel_size, row.case.stride, row.case.padding) in TARGET_SETTINGS]
    return max(ratios) if ratios else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per case (default 9)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes only (a smoke test, not the target)")
    parser.add_argument("--target-only", action="store_true", help=f"only the {TARGET_SHAPE} rows")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("POOLKIT_QUICK") == "1"
    shapes = QUICK_SHAPES if quick else [TARGET_SHAPE] if args.target_only else SHAPES
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32, median of "
          f"{args.rounds} interleaved rounds; all three results checked equal before timing")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPU(s) (other work makes timings noisy)")
    print(f"loop = poolkit.pool2d (one Python step per output position); skipped above "
          f"{LOOP_MAX_ELEMENTS} input elements, where it takes seconds to minutes per call")
    rows = [run_case(case, rounds=args.rounds, min_seconds=0.01) for case in cases(shapes)]
    print(table(rows))
    note = f" (quick run on {shapes[-1]}: not the target size)" if quick else ""
    print(f"worst vectorized/torch ratio: {worst_target_ratio(rows, shapes[-1]):.2f}x{note}")
    return rows


if __name__ == "__main__":
    main()
