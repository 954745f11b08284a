"""Vectorised 2D pooling: the same results as `poolkit.pool2d`, without a Python loop over positions.

The trick is to loop over the k_h * k_w kernel TAPS instead of the output positions. Tap (a, b) of
every window, for all output positions at once, is one strided view of the input:

    X[..., a*d_h - p_h :: s_h,  b*d_w - p_w :: s_w]      (clipped to the positions where it is inside)

Visiting the taps in row-major order is PyTorch's own scan order inside a window, so a running maximum
reproduces its tie and NaN rules and a running sum reproduces its float rounding, bit for bit. Padding
is never read: a tap that falls on padding simply does not update that output position.
"""

import torch

from .params import CODE, accumulation_dtype, check_input, implements, lowest, make_params, mean, output_hw


def _tap_range(out, size, s, p, d, a):
    """Output positions [first, stop) along one axis where tap a reads the input, and the input
    position it reads at `first`. Position i reads input i*s - p + a*d."""
    offset = a * d - p
    first = max(0, -(offset // s))  # smallest i with i*s + offset >= 0
    stop = min(out, (size - 1 - offset) // s + 1)  # largest i with i*s + offset <= size-1, plus one
    return first, stop, first * s + offset


def _tap(planes, out_hw, params, a, b):
    """(output sub-rectangle, input view) of tap (a, b); the view is None if the tap never lands inside."""
    (sh, sw), (ph, pw), (dh, dw) = params.stride, params.padding, params.dilation
    i0, i1, r = _tap_range(out_hw[0], planes.shape[-2], sh, ph, dh, a)
    j0, j1, c = _tap_range(out_hw[1], planes.shape[-1], sw, pw, dw, b)
    if i1 <= i0 or j1 <= j0:
        return None, None
    view = planes[:, r : r + (i1 - i0 - 1) * sh + 1 : sh, c : c + (j1 - j0 - 1) * sw + 1 : sw]
    return (slice(None), slice(i0, i1), slice(j0, j1)), view


def _take_over(best, view, take, nan_rule):
    """PyTorch's update rule, in place: a tap replaces the current maximum when it is larger OR NaN.
    So equal maxima keep the first, and with several NaNs the last one stays."""
    torch.gt(view, best, out=take)
    if nan_rule:
        take |= view.isnan()
    torch.where(take, view, best, out=best)


def _max_two_passes(planes, params, out_hw, nan_rule):
    """Max pooling without indices in two 1D passes: each window row's maximum, then the maximum of those."""
    # Columns inside a row, then the next row, is still row-major order: the result is bit-identical (the
    # sign of a tied zero included), and it reads k_h + k_w taps instead of k_h * k_w.
    P, H, W = planes.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params.kernel, params.stride, params.padding, params.dilation
    start = lowest(planes.dtype)
    rows = torch.full((P, H, out_hw[1]), start, dtype=planes.dtype)  # row maxima of every window
    take = torch.empty(rows.shape, dtype=torch.bool)
    for b in range(kw):
        j0, j1, c = _tap_range(out_hw[1], W, sw, pw, dw, b)
        if j1 > j0:
            view = planes[:, :, c : c + (j1 - j0 - 1) * sw + 1 : sw]
            _take_over(rows[:, :, j0:j1], view, take[:, :, j0:j1], nan_rule)
    best = torch.full((P, *out_hw), start, dtype=planes.dtype)
    take = torch.empty(best.shape, dtype=torch.bool)
    for a in range(kh):
        i0, i1, r = _tap_range(out_hw[0], H, sh, ph, dh, a)
        if i1 > i0:
            _take_over(best[:, i0:i1], rows[:, r : r + (i1 - i0 - 1) * sh + 1 : sh], take[:, i0:i1], nan_rule)
    return best


def _first_inside(out, s, p, d):
    """Per output index along one axis: the first tap position >= 0, where PyTorch's index starts
    (it is what a window made only of padding, possible with dilation, returns)."""
    start = torch.arange(out) * s - p
    return torch.where(start < 0, start + (-start + d - 1) // d * d, start)


def _max_taps(planes, params, out_hw, nan_rule, with_indices):
    """Max pooling, one pass per tap, optionally with PyTorch's flat indices into each unpadded
    H x W plane: (maxima, indices or None)."""
    P, H, W = planes.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params.kernel, params.stride, params.padding, params.dilation
    best = torch.full((P, *out_hw), lowest(planes.dtype), dtype=planes.dtype)
    take = torch.empty(best.shape, dtype=torch.bool)
    index = None
    if with_indices:
        rows, cols = _first_inside(out_hw[0], sh, ph, dh), _first_inside(out_hw[1], sw, pw, dw)
        index = (rows[:, None] * W + cols[None, :]).expand(best.shape).clone()
        # flat index of tap (0, 0) of every window (may lie outside the plane; only read when inside)
        corner = (torch.arange(out_hw[0]) * sh - ph)[:, None] * W + (torch.arange(out_hw[1]) * sw - pw)
    for a in range(kh):
        for b in range(kw):
            where, view = _tap(planes, out_hw, params, a, b)
            if view is None:
                continue
            _take_over(best[where], view, take[where], nan_rule)
            if with_indices:
                tap_index = corner[where[1:]] + (a * dh * W + b * dw)
                torch.where(take[where], tap_index, index[where], out=index[where])
    return best, index


def _divisor(H, W, params, out_hw, dtype):
    """What each output position's sum is divided by: divisor_override, or the window's size counting
    padding (count_include_pad=True; the ceil_mode overhang beyond the padding never counts) or not."""
    if params.divisor_override is not None:
        return torch.tensor(float(params.divisor_override), dtype=dtype)
    sizes = []
    for out, size, k, s, p in zip(out_hw, (H, W), params.kernel, params.stride, params.padding, strict=True):
        start = torch.arange(out) * s - p
        if params.count_include_pad:
            sizes.append(torch.clamp(start + k, max=size + p) - start)
        else:
            sizes.append(torch.clamp(start + k, max=size) - start.clamp(min=0))
    return (sizes[0][:, None] * sizes[1][None, :]).to(dtype)


@implements("avg", "vectorized")
def _avg(planes, params, out_hw, return_indices=False):
    """Average pooling: a running sum over the taps in row-major order, in PyTorch's accumulation
    precision, starting from 0 like its kernel; then one division per position. (means, None)"""
    P, H, W = planes.shape
    acc_dtype = accumulation_dtype(planes.dtype)
    acc = planes.to(acc_dtype)
    total = torch.zeros((P, *out_hw), dtype=acc_dtype)
    for a in range(params.kernel[0]):
        for b in range(params.kernel[1]):
            where, view = _tap(acc, out_hw, params, a, b)
            if view is not None:
                total[where] += view
    return mean(total, _divisor(H, W, params, out_hw, acc_dtype)).to(planes.dtype), None


def pool2d_vectorized(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
                      count_include_pad=True, divisor_override=None, return_indices=False):
    """Same signature, validation and results (bit for bit, indices included) as `poolkit.pool2d`,
    computed with one tensor operation per kernel tap instead of a Python loop over output positions."""
    params = make_params(kernel_size, stride, padding, dilation, ceil_mode, mode, count_include_pad,
                         divisor_override)
    check_input(X, params, return_indices)
    H, W = X.shape[-2:]
    out_hw = output_hw((H, W), params)
    planes = X.reshape(-1, H, W)  # every channel of every image, pooled independently
    Y, index = CODE[params.mode]["vectorized"](planes, params, out_hw, return_indices)
    shape = (*X.shape[:-2], *out_hw)
    return (Y.reshape(shape), index.reshape(shape)) if return_indices else Y.reshape(shape)


@implements("max", "vectorized")
def _max(planes, params, out_hw, return_indices):
    """(maxima, indices or None) of every plane."""
    P, H, W = planes.shape
    # The NaN half of the update rule costs a pass per tap: skip it when the input has no NaN (then its
    # sum is not NaN; an inf - inf in the sum only switches the rule on, which is always correct).
    nan_rule = planes.is_floating_point() and bool(planes.sum().isnan())
    (kh, kw), out_h, out_w = params.kernel, *out_hw
    if not return_indices and kw * H * out_w + kh * out_h * out_w <= kh * kw * out_h * out_w:
        # Overlapping windows: two 1D passes read no more cells than the k_h * k_w taps, and the
        # second pass reads whole contiguous rows, which is faster.
        return _max_two_passes(planes, params, out_hw, nan_rule), None
    return _max_taps(planes, params, out_hw, nan_rule, return_indices)
