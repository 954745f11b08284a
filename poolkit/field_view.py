"""The receptive-field view: pick or hover a cell of a net's last feature map, and its field (感受野) lights
up on every map below it, down to the input.

Python computes every highlighted cell (poolkit.fields) and every sentence, once, for every cell of the last
map; the ES module widget.js (the sliding-window widget's module: its grids, its packed state) only draws.
So hovering needs no kernel, and works on the static site too.

    FieldView(net, (28, 28))            net: an nn.Sequential of Conv2d, pools and shape-keeping layers
"""

import anywidget
import traitlets
from torch import nn

from .explain import say
from .fields import layer_fields, layer_shapes, layers
from .params import PoolingValueError, size_text
from .widget import HERE, pack_state


def _say(key, **values):
    """A sentence of the view, from explain.TEXT (Chinese, with the English terms)."""
    return say(f"fv_{key}", "zh", **values)


def _layer_text(layer):
    """A layer as nn is called, with what moves a field only: 'Conv2d(5, padding=2)', 'MaxPool2d(2)'."""
    if not hasattr(layer, "kernel_size"):
        return type(layer).__name__
    kernel = _pair(layer.kernel_size)
    pool = isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d))
    default = {"stride": kernel if pool else (1, 1), "padding": (0, 0), "dilation": (1, 1)}
    given = {key: _pair(getattr(layer, key)) for key in default if hasattr(layer, key)}
    args = [size_text(kernel)] + [f"{key}={size_text(v)}" for key, v in given.items() if v != default[key]]
    return f"{type(layer).__name__}({', '.join(args)})"


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _span(rows, cols):
    """[first row, last row, first col, last col], or [] for an empty field."""
    return [rows[0], rows[-1], cols[0], cols[-1]] if len(rows) and len(cols) else []


def _note(field, input_hw=None):
    """The size of a field: on the input (input_hw given) with its share of the input's pixels."""
    rows, cols = field
    if not len(rows) or not len(cols):
        return _say("padding_only")
    if input_hw is None:
        return _say("field", h=len(rows), w=len(cols))
    H, W = input_hw
    share = round(100 * len(rows) * len(cols) / (H * W))
    return _say("field_input", h=len(rows), w=len(cols), H=H, W=W, share=share)


def _shown_maps(shapes, fields):
    """The maps drawn: the input, then each layer's output where a field moves or the size changes (an
    elementwise layer's map is the one below it again), and always the last."""
    last = len(shapes) - 1
    return [0] + [i for i in range(1, last) if shapes[i] != shapes[i - 1]
                  or any(f[i] != f[i - 1] for f in fields)] + [last]


def field_state(net, input_size):
    """Everything the browser draws, as a JSON-able dict: the maps shown (labels, shapes) and, for every cell
    of the last map (row-major), its field on each of them ([r0, r1, c0, c1], [] for none) and the sentence
    that sizes it."""
    stack, shapes = layers(net), layer_shapes(net, input_size)
    if not stack:
        raise PoolingValueError("net", net, "has no layers, so no map lies above the input.",
                                "e.g. net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2)).")
    H, W = shapes[-1]
    fields = [layer_fields(net, input_size, (r, c)) for r in range(H) for c in range(W)]
    shown = _shown_maps(shapes, fields)
    labels = [f"{_say('input')} {shapes[0][0]}×{shapes[0][1]}"]
    for below, i in zip(shown, shown[1:], strict=False):
        names = " + ".join(_layer_text(layer) for layer in stack[below:i])
        labels.append(f"{_say('map', i=i)}: {names} → {shapes[i][0]}×{shapes[i][1]}")
    notes = [[_note(f[0], shapes[0])] + [_note(f[i]) for i in shown[1:-1]] + [_say("cell", r=t // W, c=t % W)]
             for t, f in enumerate(fields)]
    return {
        "title": _say("title"), "help": _say("help"), "pinned": _say("pinned"),
        "shapes": [list(shapes[i]) for i in shown], "labels": labels,
        "fields": [[_span(*f[i]) for i in shown] for f in fields], "notes": notes,
    }


class FieldView(anywidget.AnyWidget):
    """The receptive field of every cell of net's last feature map, on every map down to the input."""

    _esm = HERE / "widget.js"
    _css = HERE / "widget.css"

    view = traitlets.Unicode("field").tag(sync=True)  # which of widget.js's views draws this widget
    packed = traitlets.Bytes(b"").tag(sync=True)  # pack_state(field_state(...)), as SlidingWindow's
    cell = traitlets.List([0, 0]).tag(sync=True)  # the cell of the last map shown first

    def __init__(self, net, input_size, cell=None, **kwargs):
        self.state = field_state(net, input_size)
        H, W = self.state["shapes"][-1]
        super().__init__(packed=pack_state(self.state), cell=list(cell or (H // 2, W // 2)), **kwargs)

    def summary(self):
        """The first cell's field on every map, as text (for viewers without JavaScript)."""
        H, W = self.state["shapes"][-1]
        t = self.cell[0] * W + self.cell[1]
        lines = [f"{label}: {note}" for label, note in zip(self.state["labels"], self.state["notes"][t],
                                                           strict=True)]
        return "\n".join([f"FieldView: {self.state['title']}", *lines])

    def _repr_mimebundle_(self, **kwargs):
        data, metadata = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.summary()
        return data, metadata
