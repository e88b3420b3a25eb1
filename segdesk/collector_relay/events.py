"""Checking and completing incoming events (the Segment Spec, minimally).

The relay stores what clients sent, plus what only it can know: a messageId
when missing, the receive time, the skew-corrected timestamp (clock.py) and the client's
(anonymised) address. Anything that is not a recognisable event is refused
with a one-line reason rather than stored for the desktop app to choke on.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import uuid
from datetime import datetime, timezone

import orjson

from segdesk.collector_relay.buffer import Row
from segdesk.collector_relay.clock import event_time

TYPES = frozenset({"page", "identify", "track", "alias", "screen", "group"})
MAX_EVENT_BYTES = 32 * 1024  # Segment's own per-event limit
MAX_ID_CHARS = 256
_DICT_FIELDS = ("context", "properties", "traits", "integrations")


class Invalid(ValueError):
    """The event is refused; str(exc) is the one-line reason."""


def iso(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    # Hand-formatted: strftime costs several times more on the hot path.
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
            f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z")


def parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise Invalid(f"{name} is not an ISO 8601 time")
    if value[-1] in "Zz":  # Python 3.10 (a supported server) does not read "Z"
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not an ISO 8601 time") from None
    if dt.tzinfo is None:  # Segment reads zone-less times as UTC
        dt = dt.replace(tzinfo=timezone.utc)
    if not 1990 <= dt.year <= 2200:
        raise Invalid(f"{name} is out of range")
    return dt


def _identifier(event: dict, key: str) -> str | None:
    value = event.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(f"{key} must be a string")
    value = str(value)
    if len(value) > MAX_ID_CHARS:
        raise Invalid(f"{key} is longer than {MAX_ID_CHARS} characters")
    event[key] = value
    return value


def anonymize_ip(address: str) -> str:
    """IPv4 keeps its /24, IPv6 its /48: enough for a country, not a household."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


@functools.lru_cache(maxsize=65536)
def clean_ip(value: str, anonymize: bool) -> str | None:
    """A valid address in canonical form (anonymised if asked), else None.

    Cached: the ipaddress module costs tens of microseconds per call and a
    visitor sends from the same address again and again.
    """
    try:
        ip = str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
    return anonymize_ip(ip) if anonymize else ip


def _client_ip(context: dict, peer_ip: str | None, anonymize: bool) -> str | None:
    # A server-side library may forward the visitor's real address; keep it
    # when it is one, otherwise the relay's view of the sender is the truth.
    for value in (context.get("ip"), peer_ip):
        if isinstance(value, str) and len(value) <= 64:
            ip = clean_ip(value, anonymize)
            if ip is not None:
                return ip
    return None


def _email(event: dict) -> str | None:
    for traits in (event.get("traits"), event["context"].get("traits")):
        if isinstance(traits, dict) and isinstance(traits.get("email"), str):
            email = traits["email"].strip().lower()
            if email:
                return email
    return None


def message_id_for(event: dict) -> str:
    """A deterministic id when the client gave a timestamp, so a client that
    retries an id-less event is still deduplicated; random otherwise."""
    if "timestamp" in event:
        digest = hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
    return str(uuid.uuid4())


def normalize(raw: object, *, received: datetime, peer_ip: str | None,
              anonymize: bool = True, batch_sent_at: object = None,
              default_type: str | None = None, received_at: str | None = None) -> Row:
    """Validate one event and return the row to store; raise Invalid otherwise."""
    if not isinstance(raw, dict):
        raise Invalid("an event must be a JSON object")
    event = dict(raw)
    event.pop("writeKey", None)  # a secret has no business in the buffer
    if default_type and "type" not in event:
        event["type"] = default_type
    kind = event.get("type")
    # isinstance first: a list or object as `type` is unhashable, and a set
    # lookup with it would raise TypeError (a 500) instead of refusing it.
    if not isinstance(kind, str) or kind not in TYPES:
        raise Invalid(f"type must be one of {', '.join(sorted(TYPES))}")
    if default_type and kind != default_type:
        raise Invalid(f"type {kind!r} sent to the {default_type} endpoint")
    for key in _DICT_FIELDS:
        if key in event and not isinstance(event[key], dict):
            raise Invalid(f"{key} must be an object")
    anonymous_id = _identifier(event, "anonymousId")
    user_id = _identifier(event, "userId")
    if anonymous_id is None and user_id is None:
        raise Invalid("anonymousId or userId is required")
    if kind == "track" and not (isinstance(event.get("event"), str) and event["event"].strip()):
        raise Invalid("track needs an event name")
    if kind == "alias" and _identifier(event, "previousId") is None:
        raise Invalid("alias needs a previousId")
    message_id = event.get("messageId")
    if message_id in (None, ""):
        message_id = event["messageId"] = message_id_for(event)
    elif not isinstance(message_id, str) or len(message_id) > MAX_ID_CHARS:
        raise Invalid(f"messageId must be a string of at most {MAX_ID_CHARS} characters")

    received_at = received_at or iso(received)
    event["receivedAt"] = received_at
    sent_raw = event.get("sentAt", batch_sent_at)
    if sent_raw is not None:
        parse_time(sent_raw, "sentAt")  # refused when unreadable, used or not
        event["sentAt"] = sent_raw
    # The clock-skew rule shared with the desktop import (clock.py).
    timestamp, original = event_time(event, parse_time)
    if original is not None:
        event["originalTimestamp"] = original
    event["timestamp"] = iso(timestamp if isinstance(timestamp, datetime)
                             else parse_time(timestamp, "timestamp"))

    context = dict(event.get("context") or {})
    ip = _client_ip(context, peer_ip, anonymize)
    if ip is None:
        context.pop("ip", None)
    else:
        context["ip"] = ip
    event["context"] = context

    try:
        body = orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise Invalid(f"event cannot be stored: {exc}") from None
    if len(body) > MAX_EVENT_BYTES:
        raise Invalid(f"event is larger than {MAX_EVENT_BYTES // 1024} KiB")
    return Row(message_id, received_at, received.timestamp(), anonymous_id, user_id,
               _email(event), body)
