"""poolkit: a readable reference for 2D pooling that matches PyTorch exactly, and tools to see it.

    pool2d                        the reference loop (poolkit.reference)
    output_shape, PoolingError    PyTorch's output size; every refusal, with .parameter, .value, .rule, .fix
    trace, Cell, Step             how each output cell is computed (poolkit.trace)
    check_close                   the one-line check every notebook prints (poolkit.checks)
    pool2d_vectorized             the same results without a Python loop (poolkit.vectorized)
    SlidingWindow                 the animated sliding-window widget (poolkit.widget)
    receptive_field               the input rows and columns that can change one cell (poolkit.fields)
    FieldView                     hover a last-layer cell: its field on every map (poolkit.field_view)

The layers, each importing only those before it: params (parameters, modes, output size, arithmetic
rules) -> reference and vectorized -> trace -> explain (a trace as a scene, every sentence a learner
reads) -> draw (matplotlib) -> widget (+ widget.js, widget.css).
"""

import importlib

from .checks import check_close
from .params import PoolingError, output_shape
from .reference import pool2d
from .trace import Cell, Step, trace

# Heavier parts load on first use, so `import poolkit` stays fast and needs no browser bits.
_LAZY = {"pool2d_vectorized": "vectorized", "SlidingWindow": "widget", "receptive_field": "fields",
         "FieldView": "field_view"}

__all__ = ["Cell", "PoolingError", "Step", "check_close", "output_shape", "pool2d", "trace", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'poolkit' has no attribute {name!r}")
