"""A running source's progress in the user's words: records done so far and, when known, time left.

Connectors report counts by kind (``events``, ``charges``, ``rows``...) plus
outcome counts (``imported``, ``duplicates``...) and a fraction when their
vendor tells how much remains. The user sees neither cursors nor outcome
bookkeeping: "1,234 records, about 2 min left", or "1,234 records so far" when
the vendor does not say how many remain (the relay, HubSpot).
"""

from __future__ import annotations

# Counts that say what became of records already counted under their kind.
OUTCOMES = frozenset({"imported", "duplicates", "rejected", "inserted", "updated"})
MIN_FRACTION = 0.02  # below this an estimate of the time left is mostly noise
MIN_ELAPSED = 1.0


def records_done(counts: dict[str, int]) -> int:
    return sum(n for key, n in counts.items() if key not in OUTCOMES)


def time_left(fraction: float | None, elapsed: float) -> float | None:
    """Seconds left at the pace so far, or None when the share done is unknown or too small to tell."""
    if fraction is None or fraction >= 1.0 or fraction < MIN_FRACTION or elapsed < MIN_ELAPSED:
        return None
    return elapsed * (1.0 - fraction) / fraction


def duration_words(seconds: float) -> str:
    if seconds < 60:
        return "under a minute" if seconds >= 10 else "a few seconds"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes / 60:.1f} h"


def describe(counts: dict[str, int], fraction: float | None, elapsed: float, *, finished: bool = False) -> str:
    """'1,234 records, about 2 min left' / '1,234 records so far' / 'starting'."""
    done = records_done(counts)
    noun = "record" if done == 1 else "records"
    if finished:
        return f"{done:,} {noun}"
    if not done and not fraction:
        return "starting"
    left = time_left(fraction, elapsed)
    if left is None:
        return f"{done:,} {noun} so far"
    return f"{done:,} {noun}, {duration_words(left)} left"
