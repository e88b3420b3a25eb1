"""One clock-skew rule (collector_relay/clock.py) at both entry points: the
relay's ingest and `segdesk import events`, on the same hand-computed cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from segdesk.cli import main
from segdesk.collector_relay.events import normalize
from segdesk.core.store import open_workspace

RECEIVED = "2024-06-01T12:00:00.000Z"
# (case, the client's time fields, the event's time, hand-computed)
CASES = [
    ("client clock an hour late",
     {"timestamp": "2024-06-01T10:59:50.000Z", "sentAt": "2024-06-01T11:00:00.000Z"},
     "2024-06-01T11:59:50.000Z"),
    ("client clock half an hour early",
     {"timestamp": "2024-06-01T12:30:05Z", "sentAt": "2024-06-01T12:30:10Z"},
     "2024-06-01T11:59:55.000Z"),
    ("sentAt and no timestamp: the receive time",
     {"sentAt": "2024-06-01T11:00:00.000Z"}, RECEIVED),
    ("no time at all: the receive time", {}, RECEIVED),
    ("latency under a second is not skew",
     {"timestamp": "2024-06-01T11:59:59.000Z", "sentAt": "2024-06-01T11:59:59.300Z"},
     "2024-06-01T11:59:59.000Z"),
    ("no sentAt (a historical import from a server library)",
     {"timestamp": "2024-01-01T08:00:00+02:00"}, "2024-01-01T06:00:00.000Z"),
    ("corrected already (a Segment export)",
     {"timestamp": "2024-06-01T11:59:50.000Z", "originalTimestamp": "2024-06-01T10:59:50.000Z",
      "sentAt": "2024-06-01T11:00:00.000Z"}, "2024-06-01T11:59:50.000Z"),
    ("originalTimestamp only (RudderStack)",
     {"originalTimestamp": "2024-06-01T10:59:50.000Z", "sentAt": "2024-06-01T11:00:00.000Z"},
     "2024-06-01T11:59:50.000Z"),
]
IDS = [case for case, _, _ in CASES]


def event(n: int, times: dict) -> dict:
    return {"type": "track", "event": "Signed Up", "anonymousId": "a1", "messageId": f"m{n}", **times}


def relay_ingest(times: dict, n: int = 0) -> dict:
    received = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
    row = normalize(event(n, times), received=received, peer_ip=None)
    return orjson.loads(row.body)


def import_events(tmp_path, events: list[dict]) -> dict[str, str]:
    """`segdesk import events` on these events; their stored times by messageId."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    workspace = tmp_path / "ws"
    assert main(["--workspace", str(workspace), "import", "events", str(path)]) == 0
    with open_workspace(workspace) as ws:
        return dict(ws.conn.execute("SELECT message_id, ts FROM events"))


@pytest.mark.parametrize(("case", "times", "expected"), CASES, ids=IDS)
def test_relay_ingest(case, times, expected):
    assert relay_ingest(times)["timestamp"] == expected


def test_segdesk_import_events(tmp_path):
    # A file event carries the receive time as its receiver wrote it down.
    events = [event(n, {**times, "receivedAt": RECEIVED}) for n, (_, times, _) in enumerate(CASES)]
    stored = import_events(tmp_path, events)
    assert stored == {f"m{n}": expected for n, (_, _, expected) in enumerate(CASES)}


def test_relay_then_import_moves_nothing_twice(tmp_path):
    """The desktop imports what the relay stored (a sync) at the relay's time."""
    pulled = [relay_ingest(times, n) for n, (_, times, _) in enumerate(CASES)]
    stored = import_events(tmp_path, pulled)
    assert stored == {f"m{n}": expected for n, (_, _, expected) in enumerate(CASES)}


def test_over_http_sent_at_without_timestamp_lands_when_received(clients):
    """The complaint: the relay added the skew to its own receive time."""
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    sent = hour_ago.strftime("%Y-%m-%dT%H:%M:%S.") + f"{hour_ago.microsecond // 1000:03d}Z"
    late = (hour_ago - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{hour_ago.microsecond // 1000:03d}Z"
    batch = [{**event(0, {}), "sentAt": sent}, {**event(1, {}), "timestamp": late}]
    assert clients.send.post("/v1/batch", json={"batch": batch, "sentAt": sent}).status_code == 200
    first, second = (e["event"] for e in clients.events())
    assert first["timestamp"] == first["receivedAt"]
    received = datetime.fromisoformat(second["receivedAt"].replace("Z", "+00:00"))
    assert second["timestamp"] == (received - timedelta(seconds=10)).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert second["originalTimestamp"] == late
