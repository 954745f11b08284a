"""The check a notebook prints after every claim: it passes loudly or fails with the difference."""

import torch


def check_close(actual, expected, what="result", exact=True):
    """Assert actual == expected (shape, dtype, values; NaN equals NaN) and print one line saying so.

    Returns None, so a notebook cell ending with it shows only the printed line.

    exact=False allows float rounding (torch.testing.assert_close's default tolerances)."""
    expected = torch.as_tensor(expected, dtype=actual.dtype) if not torch.is_tensor(expected) else expected
    tol = {"rtol": 0, "atol": 0} if exact else {}
    try:
        torch.testing.assert_close(actual, expected, equal_nan=True, **tol)
    except AssertionError as err:
        raise AssertionError(f"{what}: does not match.\n{err}") from None
    print(f"✓ {what}: {'equal' if exact else 'close'} (shape {tuple(actual.shape)})")
