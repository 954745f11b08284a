"""poolkit.receptive_field against ground truths that share no formula with it.

Perturbation: in a net whose weights are all positive, every path from an input pixel to an output is
increasing, so raising one pixel by a huge amount moves exactly the outputs it can change (max pools
included: the raised value wins every window it reaches). Autograd: on a copy of the net whose max pools
are made average (a max pool's gradient reaches one cell of its window, an average's reaches all), the
nonzero input gradient of a cell is its field. Output sizes are checked against PyTorch's forward.
"""

import copy

import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from torch import nn

import poolkit
from poolkit.fields import READS, closed_form, layer_fields, layer_shapes, layers, receptive_field

LENET = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
                      nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
                      nn.Flatten(), nn.Linear(16 * 5 * 5, 120))
FEATURES = LENET[:6]
HUGE = 1e12  # what perturbation_fields adds to one pixel
DTYPE = torch.float64
# An output that the raised pixel reaches rises by at least HUGE * (0.5 / 9) ** 4, about 1e7: at most four
# layers, each weight at least 0.5, an average dividing by at most 9. One it cannot reach moves by rounding
# only, about 1e-15 of its value: a conv may round the same numbers differently at another place in the batch.
MOVED = 1e3


def positive(net, scale=1.0, seed=0):
    """A copy of net in eval mode with every weight positive and no bias: each path increases.

    A small scale keeps a sigmoid out of saturation, where its gradient rounds to 0."""
    net = copy.deepcopy(nn.Sequential(*layers(net))).to(DTYPE).eval()
    gen = torch.Generator().manual_seed(seed)
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.BatchNorm2d)):
            shape = layer.weight.shape
            layer.weight.data = scale * (0.5 + 0.5 * torch.rand(shape, generator=gen, dtype=DTYPE))
            if layer.bias is not None:
                layer.bias.data.zero_()
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.zero_()
            layer.running_var.fill_(1.0)
    return net


def bounds(pixels, width):
    """Bounding (rows, cols) ranges of flat pixel indices; empty ranges for none."""
    if len(pixels) == 0:
        return range(0), range(0)
    rows, cols = pixels // width, pixels % width
    return range(int(rows.min()), int(rows.max()) + 1), range(int(cols.min()), int(cols.max()) + 1)


def perturbation_fields(net, channels, hw):
    """{cell: (rows, cols)} for every output cell: which pixels, raised one at a time, move it."""
    h, w = hw
    gen = torch.Generator().manual_seed(1)
    base = torch.rand((1, channels, h, w), generator=gen, dtype=DTYPE)
    raised = base.repeat(h * w, 1, 1, 1)
    raised.view(h * w, channels, h * w)[torch.arange(h * w), :, torch.arange(h * w)] += HUGE
    with torch.no_grad():
        moved = ((net(raised) - net(base)).abs() > MOVED).any(dim=1)  # (pixel, out_h, out_w)
    return {(r, c): bounds(moved[:, r, c].nonzero().flatten(), w)
            for r in range(moved.shape[1]) for c in range(moved.shape[2])}


def averaged(net):
    """A copy of net whose max pools read like averages (same windows), or None if PyTorch has none."""
    out = []
    for layer in net:
        if isinstance(layer, nn.MaxPool2d):
            if layer.dilation not in (1, (1, 1)):
                return None
            layer = nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                                 count_include_pad=False)
        out.append(layer)
    return nn.Sequential(*out)


def gradient_fields(net, channels, hw):
    """{cell: (rows, cols)}: where the input gradient of each output cell is nonzero."""
    x = torch.rand((1, channels, *hw), generator=torch.Generator().manual_seed(2), dtype=DTYPE)
    jac = torch.autograd.functional.jacobian(lambda t: net(t).sum(dim=1)[0], x, vectorize=True)
    nonzero = jac.abs().sum(dim=(2, 3)).reshape(*jac.shape[:2], -1) != 0  # (out_h, out_w, pixel)
    return {(r, c): bounds(nonzero[r, c].nonzero().flatten(), hw[1])
            for r in range(nonzero.shape[0]) for c in range(nonzero.shape[1])}


def torch_shapes(net, channels, hw):
    """(H, W) of every feature map, from PyTorch's own forward."""
    net, x = positive(net), torch.zeros((1, channels, *hw), dtype=DTYPE)
    shapes = [tuple(x.shape[2:])]
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            shapes.append(tuple(x.shape[2:]))
    return shapes


# ------------------------------------------------------------------------------------------------
# Random stacks: padding (all of Conv2d's modes, and more than the kernel), stride, dilation, ceil_mode
# ------------------------------------------------------------------------------------------------


@st.composite
def conv(draw):
    k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(sorted(READS)))
    if s == 1 and draw(st.booleans()) and draw(st.booleans()):
        return nn.Conv2d(1, 1, k, padding="same", dilation=d, padding_mode=mode)
    return nn.Conv2d(1, 1, k, stride=s, padding=draw(st.integers(0, 4)), dilation=d, padding_mode=mode)


@st.composite
def pool(draw):
    k = draw(st.integers(1, 3))
    s, p, ceil = draw(st.integers(1, 3)), draw(st.integers(0, k // 2)), draw(st.booleans())
    if draw(st.booleans()):
        return nn.MaxPool2d(k, s, p, dilation=draw(st.integers(1, 2)), ceil_mode=ceil)
    return nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=draw(st.booleans()))


keeper = st.sampled_from([nn.ReLU, nn.Identity, nn.Dropout, lambda: nn.BatchNorm2d(1)]).map(lambda f: f())
stacks = st.tuples(st.lists(st.one_of(conv(), pool(), keeper), min_size=1, max_size=4),
                   st.tuples(st.integers(1, 10), st.integers(1, 10)))


def fits(net, hw):
    """layer_shapes, or None when poolkit refuses; PyTorch must refuse then too."""
    try:
        return layer_shapes(net, hw)
    except poolkit.PoolingError:
        with pytest.raises(RuntimeError):
            torch_shapes(net, 1, hw)
        return None


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# found by hypothesis: a 3x3 circular conv on a 1x1 map rounds the same sums differently at another place in
# the batch, so an exact comparison saw pixel (0, 1) move an output it cannot reach
ROUNDING = ([nn.Conv2d(1, 1, 1, stride=2, padding=1, padding_mode="circular"), nn.Conv2d(1, 1, 2),
             nn.Conv2d(1, 1, 3, stride=2, padding=1, padding_mode="circular")], (2, 2))


@SETTINGS
@given(stacks)
@example(ROUNDING)
@example(([nn.Conv2d(1, 1, 2, padding="same", padding_mode="reflect")], (1, 1)))  # PyTorch refuses it too
def test_random_stacks_match_perturbation_on_every_map(case):
    modules, hw = case
    net = positive(modules)
    shapes = fits(net, hw)
    assume(shapes is not None)
    assert shapes == torch_shapes(net, 1, hw)
    cells = [(r, c) for r in range(shapes[-1][0]) for c in range(shapes[-1][1])]
    fields = {cell: layer_fields(net, hw, cell) for cell in cells}
    for index, shape in enumerate(shapes[:-1]):  # map `index`, read by the layers above it
        truth = perturbation_fields(net[index:], 1, shape)
        assert {cell: fields[cell][index] for cell in cells} == truth, index


@SETTINGS
@given(stacks)
def test_random_stacks_match_autograd_with_pools_averaged(case):
    modules, hw = case
    net = positive(modules)
    assume(fits(net, hw) is not None)
    twin = averaged(net)
    assume(twin is not None)
    for cell, expected in gradient_fields(twin, 1, hw).items():
        assert receptive_field(net, hw, cell) == expected, cell


@SETTINGS
@given(stacks)
def test_closed_form_agrees_where_it_applies(case):
    """Araujo et al.'s size/jump/start: the unclipped field. Where no map's field reaches its padding, it is
    exactly receptive_field; with zero padding it always contains it (clipping and dilation only shrink)."""
    modules, hw = case
    shapes = fits(modules, hw)
    assume(shapes is not None)
    net = layers(modules)
    zeros = all(getattr(layer, "padding_mode", "zeros") == "zeros" for layer in net)
    applied, suffixes = 0, [closed_form(net[i:])[-1] for i in range(len(net) + 1)]  # map i to the output
    for cell in [(r, c) for r in range(shapes[-1][0]) for c in range(shapes[-1][1])]:
        spans = [growth.span(cell) for growth in suffixes]
        inside = all(0 <= ax.start and ax.stop <= n for span, shape in zip(spans, shapes, strict=True)
                     for ax, n in zip(span, shape, strict=True))
        field = receptive_field(net, hw, cell)
        if inside:
            applied += 1
            assert field == spans[0], cell
        elif zeros and len(field[0]):
            assert all(f.start >= s.start and f.stop <= s.stop for f, s in zip(field, spans[0], strict=True))
    assume(applied)  # examples where the closed form applies to at least one cell


# ------------------------------------------------------------------------------------------------
# The lecture's LeNet, and cases with known answers
# ------------------------------------------------------------------------------------------------


def test_lenet_matches_autograd_and_the_distill_numbers():
    assert layer_shapes(FEATURES, (28, 28))[-1] == (5, 5)
    net = positive(FEATURES, scale=0.02)
    truth = gradient_fields(net, 1, (28, 28))
    assert all(receptive_field(FEATURES, (28, 28), cell) == expected for cell, expected in truth.items())
    # closed form (receptive-field reference facts): sizes 5, 6, 14, 16 after conv, pool, conv, pool; jump 4
    grown = closed_form(FEATURES)
    assert [g.size[0] for g in grown] == [1, 5, 5, 6, 14, 14, 16]
    assert grown[-1].jump == (4, 4)
    assert receptive_field(FEATURES, (28, 28), (2, 2)) == (range(6, 22), range(6, 22))  # 16x16, inside
    assert receptive_field(FEATURES, (28, 28), (0, 0)) == (range(0, 14), range(0, 14))  # clipped


def test_the_lecture_api_is_exported():
    assert poolkit.receptive_field(FEATURES, (28, 28), (4, 4)) == (range(14, 28), range(14, 28))


@pytest.mark.parametrize("net, hw, cell, expected", [
    # dilation with the extreme tap in padding: rows 1-3, not 0-3 (receptive-field reference facts)
    ([nn.MaxPool2d(3, 2, 1), nn.Conv2d(1, 1, 2, stride=2, padding=1, dilation=2)], (14, 14), (0, 0),
     (range(1, 4), range(1, 4))),
    ([nn.Conv2d(1, 1, 1, padding=2)], (4, 4), (0, 0), (range(0), range(0))),  # reads padding only
    ([nn.Conv2d(1, 1, 1, padding=2)], (4, 4), (2, 3), (range(0, 1), range(1, 2))),
    ([nn.MaxPool2d(2, ceil_mode=True)], (5, 5), (2, 2), (range(4, 5), range(4, 5))),  # ceil's last window
    ([nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")], (5, 5), (0, 2), (range(0, 5), range(1, 4))),
])
def test_known_fields(net, hw, cell, expected):
    assert receptive_field(net, hw, cell) == expected


def test_ceil_mode_last_window_must_start_inside():
    # 5 + 2*1 padding, kernel 2, stride 2: ceil gives 4 windows, but the 4th would start in the right padding
    net = [nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)]
    assert layer_shapes(net, (5, 5)) == torch_shapes(net, 1, (5, 5)) == [(5, 5), (3, 3)]


def test_layer_fields_run_from_input_to_the_cell_and_empty_stays_empty():
    fields = layer_fields(FEATURES, (28, 28), (2, 3))
    assert len(fields) == len(layer_shapes(FEATURES, (28, 28))) == 7
    assert fields[-1] == (range(2, 3), range(3, 4))
    assert fields[0] == receptive_field(FEATURES, (28, 28), (2, 3))
    empty = layer_fields([nn.ReLU(), nn.Conv2d(1, 1, 1, padding=3), nn.ReLU()], (3, 3), (0, 0))
    assert empty == [(range(0), range(0))] * 2 + [(range(0, 1), range(0, 1))] * 2  # the conv reads padding


@pytest.mark.parametrize("call, words", [
    (lambda: receptive_field(LENET, (28, 28), (0, 0)), ["net[6]", "Flatten", "Conv2d", "Fix", "net[:6]"]),
    (lambda: receptive_field(FEATURES, (28, 28), (5, 0)), ["cell=(5, 0)", "5x5", "0 <= row < 5", "Fix",
                                                            "cell=(2, 2)"]),
    (lambda: receptive_field(FEATURES, (28, 28), 3), ["cell=3", "Fix"]),
    (lambda: layer_shapes(FEATURES, (8, 8)), ["net[3]", "does not fit", "4x4", "0x0", "Fix",
                                              "larger input_size"]),
    (lambda: layer_shapes([nn.MaxPool2d(3, padding=2)], (5, 5)), ["net[0]", "padding", "kernel_size // 2",
                                                                   "Fix"]),
    (lambda: layer_shapes([nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")], (3, 3)),
     ["net[0]", "reflect", "at most 2", "Fix"]),
    # found by hypothesis: padding='same' with an even kernel pads its extra one on the right only
    (lambda: layer_shapes([nn.Conv2d(1, 1, 2, padding="same", padding_mode="reflect")], (1, 1)),
     ["net[0]", "at most 0", "pads 1 on the bottom", "padding='same'", "Fix"]),
    (lambda: layer_shapes(FEATURES, (0, 28)), ["input_size=(0, 28)", "positive", "Fix"]),
    (lambda: layer_shapes("LeNet", (28, 28)), ["net", "nn.Sequential", "Fix"]),
])
def test_errors_name_the_layer_or_cell_the_rule_and_the_fix(call, words):
    with pytest.raises(poolkit.PoolingError) as info:
        call()
    missing = [w for w in words if w not in str(info.value)]
    assert not missing, f"message lacks {missing}: {info.value}"
