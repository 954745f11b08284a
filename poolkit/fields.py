"""Receptive fields (感受野): which input pixels can change one cell of a stack of convolutions and pools.

    receptive_field(net, input_size, cell)  -> (rows, cols): the input rows and columns that can change cell
    layer_fields(net, input_size, cell)     -> that field on every feature map, from the input to the cell
    layer_shapes(net, input_size)           -> (H, W) of every feature map, as PyTorch computes them
    closed_form(net)                        -> size, jump and start of each map's field (Araujo et al. 2019)
    layers(net)                             -> the layers these functions follow, nested Sequentials flattened

Feature map i is the input of layers(net)[i]; map 0 is the input and the last map is the net's output, so
every list above has len(layers(net)) + 1 entries.

Exact, not the closed form: along each axis a cell reads the positions u*stride - padding + t*dilation
(t < kernel_size) of the map below; padding is never an input pixel (zero padding, and a pool's padding,
which a max never picks and an average adds as 0), except that Conv2d's reflect, replicate and circular
padding read the pixels they copy. Following the positions actually read, map by map down to the input,
gives every pixel that can change the cell; the ranges returned are their bounding rows and columns, so
they are clipped to the input, and a cell that reads only padding gets empty ranges. The dependency is
separable (each window is a product of its row taps and column taps), so rows and columns are followed
apart. Output sizes come from poolkit.params.axis_size (PyTorch's rule, ceil_mode's included).

Adding a layer type: one row in GEOMETRY (a function from the layer to its per-axis Axis rows).
"""

from typing import NamedTuple

from torch import nn

from .params import MODES, PoolingError, PoolingTypeError, PoolingValueError, axis_size, is_int, make_params

# ----------------------------------------------------------------------------------------------------
# One layer, one axis: where each output cell reads
# ----------------------------------------------------------------------------------------------------


def _zeros(x, n):
    return x if 0 <= x < n else None


# Conv2d padding_mode -> which input position a padded position copies (None: a constant, no pixel).
READS = {
    "zeros": _zeros,
    "reflect": lambda x, n: -x if x < 0 else 2 * (n - 1) - x if x >= n else x,
    "replicate": lambda x, n: min(max(x, 0), n - 1),
    "circular": lambda x, n: x % n,
}


class Axis(NamedTuple):
    """How one layer reads along one axis: output cell u reads u*stride - padding + t*dilation, t < kernel."""

    kernel: int
    stride: int
    padding: int  # on the left (top)
    dilation: int
    padding_mode: str  # a key of READS
    extra: int = 0  # padding='same' pads this many more on the right (bottom): 1 when d*(k-1) is odd

    def taps(self, u, size):
        """The input positions (0 <= pos < size) that output cell u reads."""
        read = READS[self.padding_mode]
        start = u * self.stride - self.padding
        return {pos for t in range(self.kernel) if (pos := read(start + t * self.dilation, size)) is not None}


class Geometry(NamedTuple):
    """One layer: its two axes, and a function (axis index, input size) -> output size along that axis."""

    axes: tuple
    out: object


_KEEP = Axis(1, 1, 0, 1, "zeros")


def _keeps_shape(layer):
    return Geometry((_KEEP, _KEEP), lambda i, n: n)


def _pool(layer):
    mode = POOL_MODES[type(layer)]
    p = make_params(layer.kernel_size, layer.stride, layer.padding, getattr(layer, "dilation", 1),
                    layer.ceil_mode, mode)
    axes = tuple(Axis(k, s, pad, d, "zeros")
                 for k, s, pad, d in zip(p.kernel, p.stride, p.padding, p.dilation, strict=True))
    return Geometry(axes, lambda i, n: axis_size(n, *axes[i][:4], p.ceil_mode).out)


def _conv(layer):
    kernel, stride, dilation, mode = layer.kernel_size, layer.stride, layer.dilation, layer.padding_mode
    if layer.padding == "same":  # PyTorch pads d*(k-1) in all, the extra one on the right; stride is 1
        axes = tuple(Axis(k, s, d * (k - 1) // 2, d, mode, d * (k - 1) % 2)
                     for k, s, d in zip(kernel, stride, dilation, strict=True))
        return Geometry(axes, lambda i, n: n)
    padding = (0, 0) if layer.padding == "valid" else layer.padding
    axes = tuple(Axis(k, s, p, d, mode) for k, s, p, d in zip(kernel, stride, padding, dilation, strict=True))
    return Geometry(axes, lambda i, n: axis_size(n, *axes[i][:4], False).out)


# The pooling layers, from poolkit.params.MODES (its `layer` column names the torch.nn class).
POOL_MODES = {getattr(nn, spec.layer): name for name, spec in MODES.items()}

# Layer type -> its geometry. Elementwise layers and BatchNorm2d keep every position where it is.
GEOMETRY = {
    nn.Conv2d: _conv,
    **dict.fromkeys(POOL_MODES, _pool),
    **dict.fromkeys((nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
                     nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity), _keeps_shape),
}


# ----------------------------------------------------------------------------------------------------
# The stack
# ----------------------------------------------------------------------------------------------------


def layers(net):
    """The layers of net (an nn.Sequential or a list of modules), nested Sequentials flattened."""
    if isinstance(net, nn.Module) and not isinstance(net, nn.Sequential):
        net = [net]
    if not isinstance(net, (nn.Sequential, list, tuple)):
        raise PoolingTypeError("net", net, "net must be an nn.Sequential or a list of layers.",
                               "e.g. net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2)).",
                               shown=f"net of type {type(net).__name__}")
    flat = []
    for layer in net:
        flat.extend(layers(layer) if isinstance(layer, (nn.Sequential, list, tuple)) else [layer])
    return flat


def _geometry(index, layer):
    """The Geometry of layers(net)[index], or an error that names it."""
    name = f"net[{index}]"
    make = next((GEOMETRY[t] for t in type(layer).__mro__ if t in GEOMETRY), None)
    if make is None:
        kinds = "Conv2d, MaxPool2d, AvgPool2d and layers that keep every position (ReLU, Sigmoid, Tanh, " \
                "BatchNorm2d, Dropout, Identity, ...)"
        raise PoolingTypeError(
            name, layer, f"a receptive field follows only layers that keep the image's layout: {kinds}; "
            f"{type(layer).__name__} is not one of them.",
            f"pass the layers before it, e.g. net[:{index}], the feature extractor.",
            shown=f"{name} = {layer!r}")
    if isinstance(layer, nn.Conv2d) and layer.padding_mode not in READS:
        raise PoolingValueError(name, layer.padding_mode, f"unknown padding_mode; the modes are "
                                f"{list(READS)}.", "use padding_mode='zeros'.", shown=f"{name} = {layer!r}")
    try:
        return make(layer)
    except PoolingError as err:  # a pooling parameter PyTorch refuses: say which layer has it
        raise type(err)(f"{name}.{err.parameter}", err.value, err.rule, err.fix,
                        shown=f"{name} = {layer!r}: {err.shown}") from None


def _input_size(input_size):
    hw = tuple(input_size) if isinstance(input_size, (tuple, list)) else None
    if hw is None or len(hw) != 2 or not all(is_int(n) and n >= 1 for n in hw):
        raise PoolingValueError("input_size", input_size, "must be a pair of positive ints (H, W).",
                                "e.g. input_size=(28, 28).")
    return hw


def _stack(net, input_size):
    """[(layer, Geometry, input (H, W))] for every layer, and the output (H, W); refuses an empty map."""
    hw = _input_size(input_size)
    stack = []
    for index, layer in enumerate(layers(net)):
        geometry = _geometry(index, layer)
        for i, (axis, n) in enumerate(zip(geometry.axes, hw, strict=True)):
            limit = {"reflect": n - 1, "circular": n}.get(axis.padding_mode)
            widest = axis.padding + axis.extra  # the wider side
            if limit is not None and widest > limit:
                edge = ("bottom", "right")[i]
                side = f" on the {edge} (padding='same' puts the odd one there)" if axis.extra else ""
                raise PoolingValueError(
                    f"net[{index}].padding", widest,
                    f"padding_mode={axis.padding_mode!r} copies input pixels, so its padding must be at most "
                    f"{limit} on each side of a map {n} wide (axis {'HW'[i]}); it pads {widest}{side}.",
                    "use a smaller padding, padding_mode='zeros', or a larger input_size.",
                    shown=f"net[{index}] = {layer!r} on a {hw[0]}x{hw[1]} map")
        out = tuple(geometry.out(i, n) for i, n in enumerate(hw))
        if min(out) < 1:
            spans = "x".join(str(a.dilation * (a.kernel - 1) + 1) for a in geometry.axes)
            padded = "x".join(str(n + 2 * a.padding) for a, n in zip(geometry.axes, hw, strict=True))
            raise PoolingValueError(
                f"net[{index}]", layer,
                f"the window does not fit: it spans {spans} cells (dilation*(kernel_size-1)+1) but the map "
                f"it reads is {hw[0]}x{hw[1]}, {padded} with padding, so its output would be "
                f"{out[0]}x{out[1]}.",
                "use a larger input_size, or a smaller kernel_size, dilation or stride before it.",
                shown=f"net[{index}] = {layer!r}")
        stack.append((layer, geometry, hw))
        hw = out
    return stack, hw


def layer_shapes(net, input_size):
    """(H, W) of every feature map: the input, then the output of each of layers(net)."""
    stack, out = _stack(net, input_size)
    return [hw for _, _, hw in stack] + [out]


EMPTY = (range(0), range(0))


def _bounds(rows, cols):
    """The bounding ranges of a set of rows and a set of columns; empty ranges if either is empty."""
    if not rows or not cols:
        return EMPTY
    return range(min(rows), max(rows) + 1), range(min(cols), max(cols) + 1)


def layer_fields(net, input_size, cell):
    """The field of the last map's cell on every feature map, index 0 = the input, last = the cell itself.

    Each entry is (rows, cols), two ranges clipped to that map; empty ranges where the cell reads only
    padding."""
    stack, (out_h, out_w) = _stack(net, input_size)
    pair = tuple(cell) if isinstance(cell, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(is_int(v) for v in pair) \
            or not (0 <= pair[0] < out_h and 0 <= pair[1] < out_w):
        raise PoolingValueError(
            "cell", cell, f"the last layer's output is {out_h}x{out_w}, so a cell is (row, col) with "
            f"0 <= row < {out_h} and 0 <= col < {out_w}.",
            f"use e.g. cell=({out_h // 2}, {out_w // 2}), the centre (layer_shapes(net, input_size) gives "
            "every map's size).")
    rows, cols = {pair[0]}, {pair[1]}
    fields = [_bounds(rows, cols)]
    for _, geometry, (h, w) in reversed(stack):
        row_axis, col_axis = geometry.axes
        rows = set().union(*(row_axis.taps(u, h) for u in rows))
        cols = set().union(*(col_axis.taps(u, w) for u in cols))
        fields.append(_bounds(rows, cols))
    return fields[::-1]


def receptive_field(net, input_size, cell):
    """(rows, cols): the ranges of input rows and columns whose pixels can change the last layer's cell.

    net: an nn.Sequential (or a list) of Conv2d, MaxPool2d, AvgPool2d and layers that keep the shape;
    input_size: (H, W); cell: (row, col) of the last layer's output. Exact with padding, stride, dilation
    and ceil_mode; clipped to the input; empty ranges for a cell that reads only padding."""
    return layer_fields(net, input_size, cell)[0]


# ----------------------------------------------------------------------------------------------------
# The closed form (Araujo, Norris, Sim: "Computing Receptive Fields of Convolutional Neural Networks",
# Distill 2019): size r, jump j and start of cell 0 of each map, in input pixels, per axis
# ----------------------------------------------------------------------------------------------------


class Growth(NamedTuple):
    """One feature map's field by the closed form, (height, width) pairs: unclipped, padding included.

    Cell u of the map spans input pixels start + u*jump ... start + u*jump + size - 1."""

    size: tuple
    jump: tuple
    start: tuple

    def span(self, cell):
        """The unclipped (rows, cols) ranges of cell (row, col) of this map."""
        return tuple(range(s + u * j, s + u * j + r)
                     for r, j, s, u in zip(self.size, self.jump, self.start, cell, strict=True))


def closed_form(net):
    """Growth of every feature map (index as layer_shapes): r_l = r_{l-1} + (d(k-1)) j_{l-1}, j_l = j_{l-1} s,
    start_l = start_{l-1} - p j_{l-1}. It needs no input size; it is exact for cells away from the borders."""
    grown = [Growth((1, 1), (1, 1), (0, 0))]
    for index, layer in enumerate(layers(net)):
        axes, last = _geometry(index, layer).axes, grown[-1]
        grown.append(Growth(*zip(*((r + a.dilation * (a.kernel - 1) * j, j * a.stride, s - a.padding * j)
                                   for a, r, j, s in zip(axes, *last, strict=True)), strict=True)))
    return grown
