"""Wire-format events (docs/SPEC.md §1) as ``events`` rows: validation, skew-corrected
times, channels. No database here: worker processes parse with this module alone
(``parallel_import``), and the journey reads stored events back with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple

import orjson

from segdesk.collector_relay.clock import event_time
from segdesk.errors import InvalidInput

from ..traffic.channels import CLICK_IDS, classify
from .packing import message_key
from ..identity.identifiers import clean_key, normalise_email
from ..timeutil import format_ts, is_canonical, normalise_ts, parse_ts

TYPES = frozenset({"page", "identify", "track", "alias", "screen", "group"})
METHODS = frozenset({"form", "link", "manual", "server"})
CHANNEL_TYPES = frozenset({"page", "screen"})
COLUMNS = ["message_id", "type", "anonymous_id", "user_id", "ts", "name", "ch_source", "ch_medium", "ch_campaign", "ch_term", "ch_content", "email", "contact_key", "method", "origin", "raw"]
IDENTITY_TYPES = ("identify", "alias")
NO_CHANNEL = (None, None, None, None, None)


class EventError(InvalidInput, ValueError):
    """Why one event line was rejected (one line); the import goes on without it."""


def _text(value, limit: int = 8192) -> str | None:
    if value.__class__ is str:
        return value[:limit] if value else None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)[:limit] or None


def _key(value) -> str | None:
    """clean_key with a fast path for the usual non-blank string."""
    if value.__class__ is str and value and not value[0].isspace() and not value[-1].isspace():
        return value
    return clean_key(value)


def _dict(value) -> dict:
    return value if value.__class__ is dict else EMPTY


EMPTY: dict = {}


def _event_time(ev: dict) -> str:
    """The event's time by the clock-skew rule the relay applies too (collector_relay/clock.py)."""
    ts = ev.get("timestamp")
    if is_canonical(ts) and "receivedAt" not in ev:  # the usual file event: nothing to correct or reformat
        return ts
    try:
        when, _ = event_time(ev, _parse)
        return normalise_ts(when) if when.__class__ is str else format_ts(when)
    except LookupError:
        raise EventError("no timestamp") from None
    except (ValueError, TypeError, AttributeError, OverflowError):
        bad = ts or ev.get("originalTimestamp") or ev.get("receivedAt") or ev.get("sentAt")
        raise EventError(f"timestamp '{str(bad)[:40]}' is not ISO 8601") from None


def _parse(value, name: str):
    return parse_ts(value)


CLICK_ID_KEYS = frozenset(param for param, _, _ in CLICK_IDS)


@lru_cache(maxsize=65536)
def _channel_of(url, referrer, campaign: tuple | None) -> tuple:
    return classify(url, referrer, dict(campaign) if campaign else None)


def _channel(url, referrer, campaign: dict, props: dict) -> tuple:
    """classify(), remembered: a site's page views repeat the same few thousand URL and
    referrer pairs, and the rules cost more than the lookup. Click ids in the
    properties (rare) go to the rules directly."""
    if props and not CLICK_ID_KEYS.isdisjoint(props):
        return classify(url, referrer, campaign, props)
    try:
        return _channel_of(url, referrer, tuple(campaign.items()) if campaign else None)
    except TypeError:  # a campaign value that cannot be a key (a list, an object)
        return classify(url, referrer, campaign, props)


def event_row(ev, origin: str, raw: bytes | None = None, packer=None) -> tuple:
    """One wire-format event as an ``events`` row; raises EventError with the reason.

    With a ``packing.Packer`` the row's ``raw`` is stored packed (compressed).
    """
    if not isinstance(ev, dict):
        raise EventError("not a JSON object")
    etype = ev.get("type")
    if etype not in TYPES:
        raise EventError(f"unknown type {str(etype)[:30]!r}" if etype else "no type")
    get = ev.get
    anonymous_id = _key(get("anonymousId"))
    user_id = _key(get("userId"))
    if anonymous_id is None and user_id is None:
        raise EventError("neither anonymousId nor userId")
    if raw is None:
        raw = orjson.dumps(ev)
    message_id = _key(get("messageId")) or "sd-" + hashlib.sha1(raw).hexdigest()
    ts = _event_time(ev)
    context = _dict(get("context"))
    props = _dict(get("properties"))
    email = contact_key = method = None
    if etype == "identify" or etype == "alias":
        traits = ev.get("traits")
        if not isinstance(traits, dict):
            traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
        email = normalise_email(traits.get("email"))
        if email is None and user_id and "@" in user_id:
            email = normalise_email(user_id)
        contact_key = clean_key(traits.get("contact_id"))
        seg = context.get("segdesk")
        method = seg.get("method") if isinstance(seg, dict) else None
        if method not in METHODS:
            method = "manual"
    if etype in CHANNEL_TYPES:
        page = _dict(context.get("page"))
        url = page.get("url") or props.get("url")
        referrer = page.get("referrer") or props.get("referrer")
        ch = _channel(_text(url), _text(referrer), _dict(context.get("campaign")), props)
    else:
        ch = NO_CHANNEL
    if packer is not None:
        raw = packer.pack(raw, message_id, anonymous_id, ts)
    return (
        message_key(message_id), etype, anonymous_id, user_id, ts, _text(get("event") or get("name"), 512),
        ch[0], ch[1], ch[2], ch[3], ch[4], email, contact_key, method, origin, raw,
    )


def stored_event(raw: bytes | str | None) -> dict:
    """A stored event's raw JSON as a dict ({} when there is none to read)."""
    try:
        ev = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return {}
    return ev if isinstance(ev, dict) else {}


class PageFields(NamedTuple):
    url: str | None
    referrer: str | None
    title: str | None


def page_fields(ev: dict) -> PageFields:
    """The page a stored event (parsed by :func:`stored_event`) was sent from.

    They are not columns (migration 0006): only one contact's journey or one
    landing page needs them, never a scan.
    """
    props = _dict(ev.get("properties"))
    page = _dict(_dict(ev.get("context")).get("page"))
    return PageFields(_text(page.get("url") or props.get("url")), _text(page.get("referrer") or props.get("referrer")),
                      _text(page.get("title") or props.get("title"), 1024))


def carries_identity(rows: list[tuple], offset: int = 0) -> bool:
    """Whether any row has an identify, alias or userId: the stitch has work to do.

    ``offset`` is 1 for rows that start with their id.
    """
    user, kind = 3 + offset, 1 + offset
    return any(row[user] is not None or row[kind] in IDENTITY_TYPES for row in rows)


def parse_lines(lines: Iterable[bytes], first: int = 1) -> Iterator[tuple[int, object, bytes | None]]:
    """JSON Lines to ``(line_no, event_or_error, raw)``, numbered from ``first``; blank lines are skipped."""
    loads = orjson.loads
    for lineno, line in enumerate(lines, first):
        line = line.strip()
        if not line:
            continue
        try:
            yield lineno, loads(line), line
        except orjson.JSONDecodeError as exc:
            yield lineno, EventError(json_error(exc)), None


def json_error(exc: orjson.JSONDecodeError) -> str:
    return f"not valid JSON ({str(exc).split(':')[0]})"
