"""The checks a notebook prints: check_close after every claim (passes loudly or fails with the difference),
and self_check around an exercise's self-check (a wrong answer prints ✗ and why, never a traceback)."""

from contextlib import contextmanager

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


@contextmanager
def self_check(what):
    """Run an exercise's self-check: a wrong answer, or an error in the learner's code, prints ✗ and why.

    A learner never gets a traceback from a self-check: an AssertionError prints its message, any other
    exception prints its type and message (the call that raised is named by the check's messages)."""
    try:
        yield
    except AssertionError as err:  # a check_close labelled "exercise 1: ..." already names the exercise
        print(f"✗ {err}" if str(err).startswith(what) else f"✗ {what}: {err}")
    except Exception as err:  # the learner's own code raised: say so instead of a traceback
        print(f"✗ {what}: your code raised {type(err).__name__}: {err}")
