"""Numeric options checked where they are read: a value out of range is wrong
usage (exit 2, one line), not a date overflow or an unbounded query later."""

from __future__ import annotations

import argparse

# A century: far past any customer's lifetime, well inside the dates SQLite computes.
MAX_LOOKBACK_DAYS = 36500
MAX_DEMO_CONTACTS = 1_000_000
MAX_LIST_LIMIT = 10_000_000


def bounded_int(low: int, high: int):
    """An argparse type: a whole number from low to high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high:,})")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


# Zero passes here: whether a lookback of 0 days is allowed is the report's rule.
lookback_days = bounded_int(0, MAX_LOOKBACK_DAYS)
