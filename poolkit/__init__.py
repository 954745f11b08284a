"""poolkit: a readable reference for 2D pooling that matches PyTorch exactly, and tools to see it.

    pool2d, output_shape, trace   the reference (poolkit.reference; parameters in poolkit.params)
    PoolingError                  every refusal, with .parameter, .value, .rule and .fix
    check_close                   the one-line check every notebook prints (poolkit.checks)
    pool2d_vectorized             the same results without a Python loop (poolkit.vectorized)
    SlidingWindow                 the animated sliding-window widget (poolkit.widget)
    receptive_field               the input rows and columns that can change one cell (poolkit.fields)
    FieldView                     hover a last-layer cell: its field on every map (poolkit.field_view)

Where things live: params.py (parameters, the table of modes, output size), reference.py (the loop and
the trace), explain.py (a trace as a scene, and every sentence a learner reads), draw.py (matplotlib)
and widget.py + widget.js + widget.css (the browser) render the scene.
"""

import importlib

from .checks import check_close
from .params import PoolingError
from .reference import Cell, Step, output_shape, pool2d, trace

# Heavier parts load on first use, so `import poolkit` stays fast and needs no browser bits.
_LAZY = {"pool2d_vectorized": "vectorized", "SlidingWindow": "widget", "receptive_field": "fields",
         "FieldView": "field_view"}

__all__ = ["Cell", "PoolingError", "Step", "check_close", "output_shape", "pool2d", "trace", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'poolkit' has no attribute {name!r}")
