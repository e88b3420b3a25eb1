"""Wire-format events (CONTRACTS.md §1) into the workspace.

Events are immutable rows unique by ``messageId``; importing the same event
twice stores it once. A malformed event is reported with its line number and
skipped while the rest import. Each batch commits on its own, so an import
that stops half-way keeps what it stored and a re-run fills in the rest.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from .channels import classify
from .gcpause import gc_paused
from .identifiers import clean_key, normalise_email
from .progress import Progress
from .store import Workspace
from .timeutil import normalise_ts, parse_ts, format_ts

TYPES = frozenset({"page", "identify", "track", "alias", "screen", "group"})
METHODS = frozenset({"form", "link", "manual", "server"})
CHANNEL_TYPES = frozenset({"page", "screen"})
MAX_ERRORS_KEPT = 200

COLUMNS = (
    "message_id type anonymous_id user_id ts name url referrer title "
    "ch_source ch_medium ch_campaign ch_term ch_content email contact_key method origin raw"
).split()
INSERT_SQL = (
    f"INSERT OR IGNORE INTO events ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)
DEVICES_SQL = """
INSERT INTO devices (anonymous_id, first_seen, last_seen, events)
SELECT anonymous_id, min(ts), max(ts), count(*) FROM events
WHERE id > ? AND anonymous_id IS NOT NULL GROUP BY anonymous_id
ON CONFLICT(anonymous_id) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    events = events + excluded.events
"""


NO_CHANNEL = (None, None, None, None, None)


class EventError(ValueError):
    """Why one event was rejected (one line)."""


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    first_new_id: int | None = None

    def reject(self, lineno: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((lineno, reason))

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [{"line": n, "reason": r} for n, r in self.errors],
        }


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
    """Segment's skew correction: timestamp + (receivedAt - sentAt), unless already corrected."""
    ts = ev.get("timestamp") or ev.get("originalTimestamp") or ev.get("receivedAt") or ev.get("sentAt")
    if not ts:
        raise EventError("no timestamp")
    try:
        received = ev.get("receivedAt")
        sent = ev.get("sentAt") if received else None
        if sent and received and "originalTimestamp" not in ev:
            skew = parse_ts(received) - parse_ts(sent)
            if abs(skew) > timedelta(seconds=1):
                return format_ts(parse_ts(ts) + skew)
        return normalise_ts(ts)
    except (ValueError, TypeError, OverflowError):
        raise EventError(f"timestamp '{str(ts)[:40]}' is not ISO 8601") from None


def event_row(ev, origin: str, raw: bytes | None = None) -> tuple:
    """One wire-format event as an ``events`` row; raises EventError with the reason."""
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
    page = _dict(context.get("page"))
    url = page.get("url") or props.get("url")
    referrer = page.get("referrer") or props.get("referrer")
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
        ch = classify(_text(url), _text(referrer), _dict(context.get("campaign")), props)
    else:
        ch = NO_CHANNEL
    return (
        message_id, etype, anonymous_id, user_id, ts,
        _text(get("event") or get("name"), 512), _text(url), _text(referrer),
        _text(page.get("title") or props.get("title"), 1024),
        ch[0], ch[1], ch[2], ch[3], ch[4], email, contact_key, method, origin, raw,
    )


def _max_id(ws: Workspace) -> int:
    return ws.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


DEVICE_UPSERT_SQL = """
INSERT INTO devices (anonymous_id, first_seen, last_seen, events) VALUES (?, ?, ?, ?)
ON CONFLICT(anonymous_id) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    events = events + excluded.events
"""


def _device_stats(rows: list[tuple]) -> list[tuple]:
    """Per device in a batch: first and last time and count (column 2 is anonymous_id, 4 is ts)."""
    stats: dict[str, list] = {}
    for row in rows:
        aid = row[2]
        if aid is None:
            continue
        ts = row[4]
        s = stats.get(aid)
        if s is None:
            stats[aid] = [ts, ts, 1]
        else:
            if ts < s[0]:
                s[0] = ts
            elif ts > s[1]:
                s[1] = ts
            s[2] += 1
    return [(aid, a, b, n) for aid, (a, b, n) in stats.items()]


def _write_batch(ws: Workspace, rows: list[tuple], result: ImportResult, devices: list[tuple] | None = None) -> None:
    conn = ws.conn
    before = _max_id(ws)
    with conn:
        # rowcount sums each row's own change (an ignored duplicate adds 0); total_changes
        # would also count what triggers write.
        inserted = conn.executemany(INSERT_SQL, rows).rowcount
        if inserted == len(rows) and devices is not None:
            conn.executemany(DEVICE_UPSERT_SQL, devices)
        elif inserted:
            # Some were duplicates: count only the rows that went in.
            conn.execute(DEVICES_SQL, (before,))
    result.imported += inserted
    result.duplicates += len(rows) - inserted
    if inserted and result.first_new_id is None:
        result.first_new_id = before + 1


_DONE = object()


def _rows_in_batches(items, origin: str, batch_size: int, out: queue.Queue, stop: threading.Event) -> None:
    """Parser thread: turns items into rows, a batch at a time, while the caller writes.

    SQLite releases the GIL while it inserts, so parsing the next batch overlaps
    with writing the last one: the import uses both cores.
    """
    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    rows: list[tuple] = []
    rejects: list[tuple[int, str]] = []
    try:
        for lineno, ev, raw in items:
            if ev.__class__ is EventError:
                rejects.append((lineno, str(ev)))
                continue
            try:
                rows.append(event_row(ev, origin, raw))
            except EventError as exc:
                rejects.append((lineno, str(exc)))
                continue
            if len(rows) >= batch_size:
                if not put((rows, rejects, _device_stats(rows))):
                    return
                rows, rejects = [], []
        if rows or rejects:
            put((rows, rejects, _device_stats(rows)))
        put(_DONE)
    except BaseException as exc:  # handed to the writing thread, which raises it
        put(exc)


def import_parsed(
    ws: Workspace,
    items: Iterable[tuple[int, object, bytes | None]],
    *,
    origin: str,
    progress: Progress | None = None,
    batch_size: int = 50_000,
    position=None,
) -> ImportResult:
    """Import ``(line_no, event, raw_bytes)`` items; the engine behind every event source.

    Each batch commits on its own; a cancel or an error keeps what was written.
    Batches are large because the indexes (random message ids, interleaved
    devices) touch pages all over the file: a commit writes every touched page
    to the WAL once, so more events per commit means fewer page writes each.
    """
    with gc_paused():
        return _import_parsed(ws, items, origin, progress, batch_size, position)


def _import_parsed(ws, items, origin, progress, batch_size, position) -> ImportResult:
    result = ImportResult()
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    parser = threading.Thread(target=_rows_in_batches, args=(items, origin, batch_size, batches, stop),
                              name="segdesk-event-parser", daemon=True)
    parser.start()
    try:
        while True:
            item = batches.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            rows, rejects, devices = item
            for lineno, reason in rejects:
                result.reject(lineno, reason)
            if rows:
                _write_batch(ws, rows, result, devices)
            if progress is not None:
                progress.update(
                    "Importing events",
                    position() if position else None,
                    imported=result.imported, duplicates=result.duplicates, rejected=result.rejected,
                )
                progress.check()
    finally:
        stop.set()
        parser.join()
    if progress is not None:
        progress.update("Imported events", 1.0, imported=result.imported,
                        duplicates=result.duplicates, rejected=result.rejected)
    return result


def parse_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, object, bytes | None]]:
    """JSON Lines to ``(line_no, event_or_error, raw)``; blank lines are skipped."""
    loads = orjson.loads
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            yield lineno, loads(line), line
        except orjson.JSONDecodeError as exc:
            yield lineno, EventError(f"not valid JSON ({str(exc).split(':')[0]})"), None


def import_events_file(ws: Workspace, fileobj, *, origin: str = "import", progress: Progress | None = None,
                       total_bytes: int | None = None) -> ImportResult:
    """Import a binary file object of JSON Lines (a real file or stdin)."""
    def position():
        try:
            return fileobj.tell() / total_bytes
        except (OSError, ValueError):
            return None

    return import_parsed(ws, parse_lines(fileobj), origin=origin, progress=progress,
                         position=position if total_bytes else None)


def import_events(ws: Workspace, events: Iterable[dict], *, origin: str, progress: Progress | None = None) -> ImportResult:
    """Import already-parsed events (from the relay's pull API, tests, the demo)."""
    return import_parsed(ws, ((i, ev, None) for i, ev in enumerate(events, 1)), origin=origin, progress=progress)
