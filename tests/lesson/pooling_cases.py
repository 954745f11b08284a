"""The pooling modes as test data, one row per mode of poolkit.params.MODES (after PyTorch's OpInfo): how
torch computes the mode, and the settings only it takes. The differential tests read every mode from CASES,
so a new mode is one row here; test_layers.py holds CASES to MODES' keys."""

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from hypothesis import strategies as st


class ModeCases(NamedTuple):
    torch_op: Callable  # (X with a channel dimension, params, return_indices) -> torch's output
    own_settings: Callable  # hypothesis draw -> the keyword arguments only this mode takes, at random


def _max_pool(X, p, return_indices):
    return F.max_pool2d(X, p["kernel_size"], p["stride"], p["padding"], p.get("dilation", 1), p["ceil_mode"],
                        return_indices=return_indices)


def _avg_pool(X, p, return_indices):
    return F.avg_pool2d(X, p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"],
                        p.get("count_include_pad", True), p.get("divisor_override"))


def _max_settings(draw):
    # dilation up to 3 with padding makes windows that see only padding (value -inf, torch's index)
    return {"dilation": (draw(st.integers(1, 3)), draw(st.integers(1, 3)))}


def _avg_settings(draw):
    return {"count_include_pad": draw(st.booleans()),
            "divisor_override": draw(st.sampled_from([None, None, 1, 3, -2]))}


CASES = {"max": ModeCases(_max_pool, _max_settings), "avg": ModeCases(_avg_pool, _avg_settings)}

# ------------------------------------------------------------------------------------------------
# Random valid settings, and inputs full of ties, signed zeros, NaN and -inf
# ------------------------------------------------------------------------------------------------


@st.composite
def pool_settings(draw, mode, max_kernel=4, max_stride=4):
    """Random pool2d keyword arguments of this mode: the shared ones, then the mode's own."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, max_stride), st.integers(1, max_stride))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    return dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans()), mode=mode,
                **CASES[mode].own_settings(draw))


@st.composite
def settings_and_input(draw, mode):
    layout = draw(st.sampled_from(["HW", "CHW", "NCHW"]))
    H, W = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    params = draw(pool_settings(mode))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    shape = {"HW": (H, W), "CHW": (draw(st.integers(1, 3)), H, W),
             "NCHW": (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W)}[layout]
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    values = draw(st.sampled_from(["ties", "normal", "signed zeros"]))
    if values == "ties":  # small integers: many equal maxima
        X = torch.randint(-3, 4, shape, generator=gen).to(dtype)
    elif values == "normal":  # float sums that round differently in a different order
        X = torch.randn(shape, generator=gen, dtype=dtype) * 1e3
    else:  # 0.0 and -0.0 tie; the first one in row-major order must win, sign included
        X = torch.where(torch.rand(shape, generator=gen) < 0.5, -0.0, 0.0).to(dtype)
        X[torch.rand(shape, generator=gen) < 0.2] = -1.0
    special = draw(st.sampled_from(["none", "nan", "-inf", "both"]))
    mask = torch.rand(shape, generator=gen)
    if special in ("nan", "both"):
        X[mask < 0.15] = float("nan")
    if special in ("-inf", "both"):
        X[mask > 0.85] = float("-inf")
    return X, params


def torch_pool(X, params, return_indices=False):
    """The same call through torch.nn.functional (which needs a channel dimension)."""
    X3 = X[None] if X.dim() == 2 else X
    out = CASES[params["mode"]].torch_op(X3, params, return_indices)
    if X.dim() == 2:
        out = tuple(o[0] for o in out) if return_indices else out[0]
    return out


def assert_bitwise(actual, expected):
    """Same shape, dtype, NaN positions and bit pattern everywhere else (so -0.0 != 0.0)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert torch.equal(actual.isnan(), expected.isnan()), "NaN in different places"
    if actual.is_floating_point():
        bits = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
                torch.float64: torch.int64}[actual.dtype]
        keep = ~actual.isnan()
        assert torch.equal(actual[keep].view(bits), expected[keep].view(bits)), (
            f"values differ:\n{actual}\n{expected}")
    else:
        assert torch.equal(actual, expected)


def is_valid(X, params):
    """PyTorch accepts this setting for this input (the window fits); refusals are tested separately."""
    try:
        torch_pool(X, params)
    except RuntimeError:
        return False
    return True
