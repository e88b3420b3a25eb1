"""Drip's webhooks through a real relay (uvicorn on loopback, both buffers) into a workspace.

Drip signs nothing, so its address carries a key: a good key is kept, a wrong or missing one is a 401
counted by reason, a replay is stored once. Pulled by `run_sync`, a ``subscriber.clicked_email`` becomes
an email-click touch that moves attribution, and counts once when the pixel saw the same click land.
Hand-computed on tests/sync/test_drip_clicks.py's visits and orders: Ann arrives from facebook on day 0
and buys 100.00 on day 4; Bob arrives from google on day 0 and buys 50.00 on day 6, his email landing seen
on day 5."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from segdesk.collector_relay import hook_sources
from segdesk.core.reports import build_report
from segdesk.core.store import open_workspace
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions
from tests.core.wire import at
from tests.hook_senders import DripSender
from tests.memory_keyring import memory_keyring  # noqa: F401  (autouse: a keychain per test)
from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)
from tests.sync.fakes_drip import clicked_email, tag_event
from tests.sync.helpers import add
from tests.sync.test_drip_clicks import credits, visits_and_orders

KEY = "drip-url-key-123"


@pytest.fixture
def setup(relay_data, make_relay, tmp_path):
    """(relay, Drip sender, workspace with the relay added as source 'site')."""
    data, keys = relay_data
    hook_sources.add(data, "drip", None, KEY)
    relay = make_relay()
    ws = open_workspace(tmp_path / "ws")
    add(ws, "relay", name="site", secret=keys["pull_token"], base_url=relay.url)
    yield relay, DripSender(relay.url, "drip", KEY), ws
    ws.close()


def health(relay) -> dict:
    return httpx.get(f"{relay.url}/healthz",
                     headers={"Authorization": f"Bearer {relay.keys['pull_token']}"}).json()["webhooks"]


def sync(ws):
    report = run_sync(ws, options=HttpOptions(sleep=lambda s: None, max_attempts=3))
    assert report.ok, report.as_dict()
    return report


def test_a_keyed_click_is_kept_a_wrong_key_refused_a_replay_stored_once(setup):
    relay, drip, ws = setup
    event = clicked_email("ann@example.com", at(3, hours=1), "Spring Sale")
    first = drip.send(event)
    assert first.status_code == 200 and first.json() == {"success": True, "duplicate": False}
    assert drip.send(event).json() == {"success": True, "duplicate": True}  # Drip retries: one delivery
    assert drip.send(event, key="not-the-key").status_code == 401
    no_key = httpx.post(f"{relay.url}/v1/hooks/drip", json=event)
    assert no_key.status_code == 401 and "missing signature" in no_key.json()["error"]
    pulled = httpx.get(f"{relay.url}/v1/webhooks", headers={"Authorization": f"Bearer {relay.keys['pull_token']}"})
    [hook] = pulled.json()["webhooks"]
    assert (hook["source"], hook["kind"]) == ("drip", "drip")
    assert json.loads(base64.b64decode(hook["body"])) == event
    assert {k: health(relay)[k] for k in ("kept", "duplicates", "buffered", "rejected")} == {
        "kept": 1, "duplicates": 1, "buffered": 1, "rejected": {"bad_signature": 1, "missing_signature": 1}}


def test_pulled_clicks_move_last_touch_and_the_click_the_pixel_saw_counts_once(setup):
    relay, drip, ws = setup
    visits_and_orders(ws)
    sync(ws)
    # Before any click: Ann's 100.00 is facebook's, Bob's 50.00 his email landing's (source drip).
    assert credits(ws, "last_touch", "source") == {"facebook": {"usd": 10000.0}, "drip": {"usd": 5000.0}}

    # Ann clicks a Drip email on day 3 on a device the pixel never saw; Bob clicks on day 5 at 10:00 and
    # the pixel records his landing 30 s later. An open is no touch. Drip redelivers Bob's click.
    bob = clicked_email("Bob@Example.com", at(5, hours=1), "Spring Sale", delivery="77777")
    for event in (clicked_email("Ann@Example.com", at(3, hours=1), "Spring Sale"), bob, bob,
                  {"event": "subscriber.opened_email", "occurred_at": at(3), "data": {}}):
        assert drip.send(event).status_code == 200
    sync(ws)
    # Last touch: Ann's 100.00 moves from facebook to her click.
    assert credits(ws, "last_touch", "source") == {"drip": {"usd": 15000.0}}
    # Linear by medium: Ann cpc 50.00 + email 50.00; Bob organic 25.00 + email 25.00 (his click and its
    # landing are one touch: two would give email 33.33).
    assert credits(ws, "linear", "medium") == {"cpc": {"usd": 5000.0}, "email": {"usd": 7500.0},
                                               "organic": {"usd": 2500.0}}
    assert ws.conn.execute("SELECT status, count(*) FROM webhooks GROUP BY 1 ORDER BY 1").fetchall() == \
        [("ignored", 1), ("parsed", 2)]
    assert ws.conn.execute("SELECT email, platform, campaign FROM email_clicks ORDER BY ts").fetchall() == \
        [("ann@example.com", "drip", "spring sale"), ("bob@example.com", "drip", "spring sale")]

    # Replayed at the relay and synced again: nothing twice.
    assert drip.send(bob).json()["duplicate"] is True
    sync(ws)
    assert ws.conn.execute("SELECT count(*) FROM email_clicks").fetchone()[0] == 2
    assert credits(ws, "linear", "medium")["email"] == {"usd": 7500.0}
    assert health(relay)["buffered"] == 0


def test_tags_applied_and_removed_in_drip_follow_the_subscriber(setup):
    relay, drip, ws = setup
    for event in (tag_event("subscriber.applied_tag", "cy@example.com", "Customer", at(1)),
                  tag_event("subscriber.applied_tag", "cy@example.com", "VIP", at(1, hours=1)),
                  tag_event("subscriber.removed_tag", "cy@example.com", "customer", at(2))):
        assert drip.send(event).status_code == 200
    sync(ws)
    assert ws.conn.execute("SELECT identifier, tag, origin FROM tags").fetchall() == \
        [("cid:drip:z0000001", "VIP", "drip")]
    assert ws.conn.execute("SELECT key, email FROM contact_keys WHERE key = 'drip:z0000001'").fetchall() == \
        [("drip:z0000001", "cy@example.com")]
    tags = {row["key"] for row in build_report(ws.conn, "ltv", by="tag").to_json()["rows"]}
    assert "VIP" in tags and "Customer" not in tags


def test_a_click_without_the_subscriber_email_is_kept_and_said_in_one_line(setup):
    relay, drip, ws = setup
    event = clicked_email("", at(3), "Spring Sale")
    assert drip.send(event).status_code == 200
    report = sync(ws)
    assert report.sources[0].notes[0].endswith(
        "Drip clicked_email without the subscriber's email or occurred_at")
    assert ws.conn.execute("SELECT status FROM webhooks").fetchall() == [("failed",)]
