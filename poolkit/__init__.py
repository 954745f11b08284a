"""poolkit: a readable reference for 2D pooling that matches PyTorch exactly, and tools to see it.

    pool2d                        the reference loop (poolkit.reference)
    output_shape, PoolingError    PyTorch's output size; every refusal, with .parameter, .value, .rule, .fix
    trace, Cell, Step             how each output cell is computed (poolkit.trace)
    check_close                   the one-line check every notebook prints (poolkit.checks)
    pool2d_vectorized             the same results without a Python loop (poolkit.vectorized)
    SlidingWindow                 the animated sliding-window widget (poolkit.widget)

The layers, each importing only those before it: params (parameters, modes, output size, arithmetic
rules) -> reference and vectorized -> trace -> explain (a trace as a scene, every sentence a learner
reads) -> draw (matplotlib) -> widget (+ widget.js, widget.css).
"""

import importlib

from .checks import check_close
from .params import PoolingError, output_shape
from .reference import pool2d
from .trace import Cell, Step, trace
from .vectorized import pool2d_vectorized

__all__ = ["Cell", "PoolingError", "SlidingWindow", "Step", "check_close", "output_shape", "pool2d",
           "pool2d_vectorized", "trace"]


def __getattr__(name):
    # The widget loads on first use: anywidget and matplotlib are heavy, and `import poolkit` needs neither.
    if name == "SlidingWindow":
        return importlib.import_module(".widget", __name__).SlidingWindow
    raise AttributeError(f"module 'poolkit' has no attribute {name!r}")
