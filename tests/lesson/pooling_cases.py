"""Shared by the differential tests: random pooling settings and inputs, torch's answer, bitwise equality."""

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

# ------------------------------------------------------------------------------------------------
# Random valid settings, and inputs full of ties, signed zeros, NaN and -inf
# ------------------------------------------------------------------------------------------------


@st.composite
def settings_and_input(draw, mode):
    layout = draw(st.sampled_from(["HW", "CHW", "NCHW"]))
    H, W = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    # dilation up to 3 with padding makes windows that see only padding (value -inf, torch's index)
    dilation = (1, 1) if mode == "avg" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    params = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                  ceil_mode=draw(st.booleans()), mode=mode)
    if mode == "avg":
        params["count_include_pad"] = draw(st.booleans())
        params["divisor_override"] = draw(st.sampled_from([None, None, 1, 3, -2]))
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
    p = dict(params)
    if p.pop("mode") == "max":
        out = F.max_pool2d(X3, p["kernel_size"], p["stride"], p["padding"], p["dilation"],
                           p["ceil_mode"], return_indices=return_indices)
    else:
        out = F.avg_pool2d(X3, p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"],
                           p["count_include_pad"], p["divisor_override"])
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
