"""The one clock-skew rule, for the relay's ingest and the desktop's import alike.

Segment corrects a client's clock with timestamp = receivedAt - (sentAt -
originalTimestamp): the client's clock was off by as much as its sentAt differs
from the server's receive time (segment.com/docs/connections/spec/common/,
"Timestamps"). Written down once here, because the relay stores its result and
`segdesk import events` reads files that may or may not have been through it:

1. No client time (neither `timestamp` nor `originalTimestamp`): the event
   happened when it was received (`receivedAt`, else `sentAt`).
2. Both `timestamp` and `originalTimestamp`: corrected already (by the relay or
   by Segment, whose exports look like this); `timestamp` stands.
3. A `timestamp` equal to `receivedAt` is the receiver's own clock (rule 1 at
   the relay); it stands.
4. A client time with `sentAt` and `receivedAt` more than a second apart moves
   by receivedAt - sentAt; a smaller gap is network latency, not a wrong clock.
5. Otherwise the client time stands (a server-side library, a historical import).

The rule is a fixed point: applied to an event it already produced (the relay
keeps `originalTimestamp` when rule 4 moved the time), it gives the same time.
No dependencies beyond the standard library: the relay stands alone and core
imports this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

TOLERANCE = timedelta(seconds=1)
Parse = Callable[[object, str], datetime]


def canonical(value: object) -> bool:
    """In the stored form ``2026-01-31T12:00:00.000Z``: a cheap shape check."""
    return (value.__class__ is str and len(value) == 24 and value[23] == "Z"
            and value[10] == "T" and value[19] == ".")


def event_time(event: dict, parse: Parse) -> tuple[object, object | None]:
    """``(time, original)`` of an event by the rule above.

    `time` is a datetime when the rule moved it, else the field's own value
    (the caller checks and normalises it; a canonical string costs nothing).
    `original` is the client time that was moved (keep it as
    originalTimestamp), else None. `parse(value, field_name)` reads one field
    or raises the caller's error. Raises LookupError when the event has no
    time at all.
    """
    timestamp = event.get("timestamp")
    original = event.get("originalTimestamp")
    received = event.get("receivedAt")
    client = timestamp or original
    if not client:
        if received or event.get("sentAt"):
            return received or event["sentAt"], None
        raise LookupError("no timestamp")
    sent = event.get("sentAt")
    if (timestamp and original) or not (sent and received) or client == received:
        return client, None
    if canonical(sent) and canonical(received) and sent[:19] == received[:19]:
        return client, None  # same second: under the tolerance, no need to parse
    skew = parse(received, "receivedAt") - parse(sent, "sentAt")
    if -TOLERANCE <= skew <= TOLERANCE:
        return client, None
    name = "timestamp" if timestamp else "originalTimestamp"
    return parse(client, name) + skew, client
