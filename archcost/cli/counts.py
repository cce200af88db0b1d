"""Whole-number options: ASCII digits only, and each with a documented range (README, Limits)."""

from __future__ import annotations

import argparse

from archcost.errors import UsageError

#: Largest ``--jobs``.
MAX_JOBS = 64
#: Largest ``--top`` (layers listed per exceeded budget).
MAX_TOP = 10_000
#: Largest ``--depth`` of ``analyze --by module`` (module trees are tens of levels deep).
MAX_DEPTH = 1_000
#: Largest ``--seed``: an unsigned 32-bit word, the size of the seeds the test suite and users write.
MAX_SEED = 2**32 - 1


def whole_number(text: str) -> int:
    """An argparse ``type``: a whole number in ASCII digits (``int()`` would read "١٠" as 10),
    at most 18 of them; its range is checked where it is used, in one line."""
    body = text[1:] if text[:1] == "-" else text
    if not (body.isascii() and body.isdigit() and len(body) <= 18):
        raise argparse.ArgumentTypeError(f"expected a whole number in digits 0-9, got {text!r}")
    return int(text)


def check_range(option: str, value: int, low: int, high: int) -> int:
    """``value`` when ``low <= value <= high``, else a one-line :class:`UsageError`."""
    if not low <= value <= high:
        raise UsageError(f"{option} must be from {low:,} to {high:,}, got {value:,}")
    return value
