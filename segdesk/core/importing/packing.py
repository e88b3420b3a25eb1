"""Stored events, compact: the raw JSON of each event zstd-compressed with a
dictionary trained on the workspace's own events (migration 0017).

A site's events repeat the same user agents, library, page paths, titles and
campaign names, so a 64 KiB dictionary learnt from a sample of them leaves a
page view's ~550 bytes at about 25. What the row's columns already hold and no
dictionary can predict (the random ``messageId``, the ``anonymousId``, the
``timestamp``) is cut out before compressing and put back on reading, so
:func:`unpack` gives back the bytes that came in, exactly.

The ``raw`` column holds either form, told apart by the first byte:

- ``{``: the plain JSON (rows stored before the workspace had a dictionary,
  or before the upgrade; ``core/compaction.py`` converts them);
- any byte below ``{``: the version of the dictionary the rest was compressed
  with (``event_dicts``); versions are never deleted, so a row packed with an
  older dictionary stays readable after a newer one is trained.

Readers never see the packed form: SQL reads ``event_json(raw, message_id,
anonymous_id, ts)``, a function :func:`register` installs on every workspace
connection. Worker processes pack with this module alone (no database).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

import zstandard

PLAIN = ord("{")
MAX_VERSION = PLAIN - 1
LEVEL = 5  # level 7+ saves ~2 bytes an event more for 25% more packing CPU
DICT_BYTES = 64 * 1024
TRAIN_SAMPLES = 20_000
MIN_SAMPLES = 2_000  # fewer events than this train a dictionary that does not pay for itself
SQL = "event_json(raw, message_id, anonymous_id, ts)"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z").match


def message_key(message_id: str):
    """What the ``message_id`` column stores: a lowercase UUID as its 16 bytes, anything else as it is.

    Most message ids are UUIDs (Segment's libraries, the pixel, the relay): as
    text they cost 36 bytes in the row and again in the unique index. Only the
    exact lowercase form is converted, so no two ids share a key and
    :func:`message_text` gives the id back as it came.
    """
    if message_id.__class__ is not str or _UUID(message_id) is None:  # bytes: a key already
        return message_id
    return bytes.fromhex(message_id.replace("-", ""))


def message_text(key):
    """A stored ``message_id`` as the text the event carried (SQL: ``message_text(message_id)``)."""
    if key.__class__ is not bytes:
        return key
    h = key.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def strip(raw: bytes, message_id, anonymous_id, ts) -> bytes:
    """``raw`` with the fields the row's columns hold replaced by one marker byte each.

    A field is cut where the JSON holds it as ``"key":"value"`` with the column's
    value (the usual case; :func:`restore` builds the same bytes back, so the
    round trip is exact whatever the value holds); otherwise it stays. The
    markers go back in the reverse order, each replacing the first occurrence:
    control characters never appear unescaped in JSON text, so \x01-\x03 are
    free to stand for the cut fields.
    """
    if message_id.__class__ is bytes:
        message_id = message_text(message_id)
    if message_id.__class__ is str:
        raw = raw.replace(b'"messageId":"' + message_id.encode() + b'"', b"\x01", 1)
    if anonymous_id.__class__ is str:
        raw = raw.replace(b'"anonymousId":"' + anonymous_id.encode() + b'"', b"\x02", 1)
    if ts.__class__ is str:
        raw = raw.replace(b'"timestamp":"' + ts.encode() + b'"', b"\x03", 1)
    return raw


def restore(body: bytes, message_id, anonymous_id, ts) -> bytes:
    if ts.__class__ is str:
        body = body.replace(b"\x03", b'"timestamp":"' + ts.encode() + b'"', 1)
    if anonymous_id.__class__ is str:
        body = body.replace(b"\x02", b'"anonymousId":"' + anonymous_id.encode() + b'"', 1)
    if message_id.__class__ is bytes:
        message_id = message_text(message_id)
    if message_id.__class__ is str:
        body = body.replace(b"\x01", b'"messageId":"' + message_id.encode() + b'"', 1)
    return body


def _params() -> zstandard.ZstdCompressionParameters:
    # No magic number, checksum or dictionary id: 4-8 bytes an event that say what the version byte says.
    return zstandard.ZstdCompressionParameters.from_level(
        LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_content_size=1, write_checksum=0, write_dict_id=0)


class Packer:
    """Packs raw events with one dictionary version; picklable as ``(version, dictionary)``."""

    def __init__(self, version: int, dictionary: bytes):
        self.version, self.dictionary = version, dictionary
        self._prefix = bytes([version])
        self._compress = zstandard.ZstdCompressor(
            dict_data=zstandard.ZstdCompressionDict(dictionary), compression_params=_params()).compress

    def pack(self, raw: bytes, message_id, anonymous_id, ts) -> bytes:
        return self._prefix + self._compress(strip(raw, message_id, anonymous_id, ts))

    def __reduce__(self):
        return Packer, (self.version, self.dictionary)


class Unpacker:
    """Unpacks stored events for one connection, loading dictionaries as it meets their versions."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._by_version: dict[int, zstandard.ZstdDecompressor] = {}

    def _decompressor(self, version: int) -> zstandard.ZstdDecompressor:
        d = self._by_version.get(version)
        if d is None:
            row = self.conn.execute("SELECT dict FROM event_dicts WHERE version = ?", (version,)).fetchone()
            if row is None:
                raise ValueError(f"stored event packed with dictionary {version}, which the workspace lacks")
            d = self._by_version[version] = zstandard.ZstdDecompressor(
                dict_data=zstandard.ZstdCompressionDict(row[0]), format=zstandard.FORMAT_ZSTD1_MAGICLESS)
        return d

    def __call__(self, blob, message_id, anonymous_id, ts):
        if not blob or blob[0] == PLAIN or isinstance(blob, str):
            return blob
        body = self._decompressor(blob[0]).decompress(blob[1:])
        return restore(body, message_id, anonymous_id, ts)


def register(conn: sqlite3.Connection) -> None:
    """Install ``event_json(raw, message_id, anonymous_id, ts)`` and ``message_text(message_id)``
    on a workspace connection."""
    conn.create_function("event_json", 4, Unpacker(conn), deterministic=True)
    conn.create_function("message_text", 1, message_text, deterministic=True)


def latest(conn: sqlite3.Connection) -> Packer | None:
    """A packer with the workspace's newest dictionary, or None before one is trained."""
    row = conn.execute("SELECT version, dict FROM event_dicts ORDER BY version DESC LIMIT 1").fetchone()
    return Packer(row[0], row[1]) if row else None


def train(samples: list[bytes]) -> bytes | None:
    """A dictionary from stripped events (see :func:`strip`); None when they are too few to train one."""
    if len(samples) < MIN_SAMPLES:
        return None
    try:
        return zstandard.train_dictionary(DICT_BYTES, samples, level=LEVEL).as_bytes()
    except zstandard.ZstdError:  # too little material (tiny, near-identical events)
        return None


def train_from(rows: Iterable[tuple]) -> bytes | None:
    """A dictionary from ``(raw, message_id, anonymous_id, ts)`` rows of plain events."""
    return train([strip(raw, mid, aid, ts) for raw, mid, aid, ts in rows if raw and raw[0] == PLAIN])


def add_dictionary(conn: sqlite3.Connection, dictionary: bytes) -> Packer | None:
    """Store a new dictionary version (in the caller's transaction); None once the versions run out."""
    (top,) = conn.execute("SELECT coalesce(max(version), 0) FROM event_dicts").fetchone()
    if top >= MAX_VERSION:
        return None
    conn.execute("INSERT INTO event_dicts (version, dict, trained_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ'))",
                 (top + 1, dictionary))
    return Packer(top + 1, dictionary)


def mark_checked(conn: sqlite3.Connection, before: int) -> None:
    """Every row up to ``before`` was compact already and every new one is packed: so is the table."""
    conn.execute("UPDATE event_compaction SET next_id = (SELECT coalesce(max(id), 0) + 1 FROM events) "
                 "WHERE next_id > ?", (before,))
