"""The PostgreSQL buffer's own promises: late commits are pulled, never
skipped or repeated; several relays on one database; migrations that two
starting relays do not race; a database restart under load."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import psycopg
import pytest

from segdesk.collector_relay import pg_schema
from segdesk.collector_relay.buffer_pg import PostgresBuffer
from tests.pg import running_cluster
from tests.relay.conftest import BROWSER_UA, REPO


@pytest.fixture
def relay_buffer() -> str:
    return "postgres"


def stored_row(message_id: str) -> list:
    """One event as the relay's INSERT takes a group: one list per column."""
    body = b'{"type":"track","event":"Buy","messageId":"%s"}' % message_id.encode()
    row = (message_id, "2026-01-01T00:00:00.000Z", 1767225600.0, "anon", None, None, body)
    return [[value] for value in row]


def pull_all(pull: httpx.Client, after: int = 0, limit: int = 1000) -> tuple[list[str], int]:
    """Every event after `after`, page by page: (messageIds in seq order, last seq)."""
    ids = []
    while True:
        page = pull.get("/v1/events", params={"after": after, "limit": limit}).json()
        ids += [e["event"]["messageId"] for e in page["events"]]
        after = page["next"]
        if not page["more"]:
            return ids, after


def test_late_commit_is_pulled_once_not_skipped(make_relay, make_clients, database_url):
    relay = make_relay()
    c = make_clients(relay)
    t1 = psycopg.connect(database_url)  # transactions left open until commit()
    t2 = psycopg.connect(database_url)
    try:
        t1.execute(pg_schema.INSERT, stored_row("early-insert"))  # takes the lower id
        t2.execute(pg_schema.INSERT, stored_row("late-insert"))
        t2.commit()
        first, cursor = pull_all(c.pull)
        assert first == ["late-insert"]  # T1 is not committed: invisible, not numbered
        t1.commit()  # commits behind the cursor the app now holds
        second, cursor = pull_all(c.pull, cursor)
        assert second == ["early-insert"]
        assert pull_all(c.pull, cursor)[0] == []
        assert pull_all(c.pull)[0] == ["late-insert", "early-insert"]
    finally:
        t1.close()
        t2.close()
    ids = [row[0] for row in psycopg.connect(database_url).execute(
        "SELECT id FROM relay_events ORDER BY seq").fetchall()]
    assert ids == sorted(ids, reverse=True)  # numbered in commit order, not insert order


def test_two_relays_start_on_an_empty_database_at_once(database_url):
    buffers = [PostgresBuffer(database_url, pool_size=2) for _ in range(4)]
    errors = []

    def start(buffer):
        try:
            buffer.start()
        except Exception as exc:  # collected: a race shows as a duplicate-table error
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(b,)) for b in buffers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for buffer in buffers:
        buffer.stop()
    assert errors == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version FROM relay_schema").fetchall() == [(1,), (2,)]
        assert conn.execute("SELECT last_seq FROM relay_sequence").fetchall() == [(0,)]


def test_a_newer_schema_stops_an_older_relay(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE relay_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO relay_schema VALUES (99)")
    buffer = PostgresBuffer(database_url, pool_size=1)
    with pytest.raises(pg_schema.SchemaTooNew, match="schema 99"):
        buffer.start()
    buffer.pool.close()


def test_bad_database_url_is_one_line(relay_data):
    data, _ = relay_data
    done = subprocess.run(
        [sys.executable, "-m", "segdesk.collector_relay", "serve", "--data", str(data)],
        env={"PYTHONPATH": str(REPO), "SEGDESK_RELAY_DATABASE_URL": "mysql://u:secret@h/db"},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "segdesk-relay: SEGDESK_RELAY_DATABASE_URL must start with postgresql:// or "
        "postgres:// (it starts with mysql://)"]


def test_sqlite_relay_never_imports_psycopg(relay_data):
    data, _ = relay_data
    code = ("import sys; from segdesk.collector_relay import config, app;"
            f"app.create_app(config.load({str(data)!r}, environ={{}}));"
            "print(sorted(m for m in sys.modules if m.startswith('psycopg')))")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def _env(keys: dict, url: str) -> dict:
    return {"SEGDESK_RELAY_DATABASE_URL": url, "SEGDESK_RELAY_RATE": "0",
            "SEGDESK_RELAY_WRITE_KEY": keys["write_key"],
            "SEGDESK_RELAY_PULL_TOKEN": keys["pull_token"]}


def _sender(url: str, key: str, prefix: str, count: int, statuses: dict) -> None:
    with httpx.Client(base_url=url, auth=(key, ""), headers={"User-Agent": BROWSER_UA},
                      timeout=30) as client:
        for i in range(count):
            message_id = f"{prefix}-{i}"
            try:
                response = client.post("/v1/track", json={
                    "type": "track", "event": "Buy", "anonymousId": prefix,
                    "messageId": message_id})
                statuses[message_id] = (response.status_code,
                                        response.headers.get("retry-after"))
            except httpx.TransportError:
                statuses[message_id] = (0, None)


def test_two_relay_processes_ingest_while_the_app_pulls(tmp_path, relay_data, spawn_relay,
                                                        database_url):
    _, keys = relay_data
    relays = [spawn_relay(tmp_path / f"relay{n}", env=_env(keys, database_url)) for n in (1, 2)]
    statuses: dict = {}
    senders = [threading.Thread(target=_sender, args=(relay.url, keys["write_key"],
                                                      f"r{n}s{s}", 150, statuses))
               for n, relay in enumerate(relays) for s in range(2)]
    pulled: list[str] = []
    pullers = [httpx.Client(base_url=r.url, timeout=30,
                            headers={"Authorization": f"Bearer {keys['pull_token']}"})
               for r in relays]
    for t in senders:
        t.start()
    cursor, turn = 0, 0
    # The app pulls small pages through either relay, alternating, while
    # both relays write: its cursor must never pass an event still to come.
    while any(t.is_alive() for t in senders):
        ids, cursor = pull_all(pullers[turn % 2], cursor, limit=7)
        pulled += ids
        turn += 1
    for t in senders:
        t.join()
    ids, cursor = pull_all(pullers[turn % 2], cursor, limit=7)
    pulled += ids
    for client in pullers:
        client.close()
    assert len(statuses) == 600 and {s for s, _ in statuses.values()} == {200}
    assert sorted(pulled) == sorted(statuses)  # every event, each exactly once
    assert turn > 3  # the pulls really overlapped the writes


def test_database_restart_under_load_answers_503_then_recovers(tmp_path, relay_data,
                                                               spawn_relay):
    _, keys = relay_data
    with running_cluster() as cluster:  # its own server: this test stops it
        url = cluster.new_database()
        relay = spawn_relay(tmp_path / "relay", env=_env(keys, url))
        statuses: dict = {}
        stop = threading.Event()

        def send() -> None:
            n = 0
            while not stop.is_set():
                _sender(relay.url, keys["write_key"], f"batch{n}", 5, statuses)
                n += 1

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(1.5)
        cluster.stop()  # fast shutdown: open transactions are cut off
        down_at = len(statuses)
        health = httpx.get(f"{relay.url}/healthz", timeout=30,
                           headers={"Authorization": f"Bearer {keys['pull_token']}"})
        assert health.status_code == 503 and health.headers["retry-after"] == "5"
        assert health.json() == {"success": False,
                                 "error": "database unavailable: PoolTimeout"}
        time.sleep(3)
        cluster.start()
        restarted = time.monotonic()
        # No relay restart: it answers 2xx again once the server is back.
        while time.monotonic() - restarted < 60:
            recent = list(statuses.values())[-5:]
            if len(statuses) > down_at + 10 and all(s == 200 for s, _ in recent):
                break
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        sender.join()
        codes = [s for s, _ in statuses.values()]
        assert set(codes) == {200, 503}, set(codes)
        assert all(retry == "5" for s, retry in statuses.values() if s == 503)
        assert codes[-1] == 200
        with httpx.Client(base_url=relay.url, timeout=30,
                          headers={"Authorization": f"Bearer {keys['pull_token']}"}) as pull:
            pulled, _ = pull_all(pull)
        acknowledged = {m for m, (s, _) in statuses.items() if s == 200}
        assert acknowledged <= set(pulled)  # no 2xx lost
        assert len(pulled) == len(set(pulled))  # nothing twice
        assert set(pulled) <= set(statuses)
        relay.stop()
