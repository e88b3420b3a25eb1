"""Erasure lasts through syncs: a CRM, a payment processor and a relay that still have an erased
person do not bring them back; lifting the entry does, on the next sync."""

from __future__ import annotations

from segdesk.core.identity import people, suppression
from segdesk.core.read.journey import journey
from segdesk.sync.engine import run_sync
from segdesk.sync.sources import add_source

from .fakes import FakeStripe
from .fakes_hubspot import FakeHubSpot
from .helpers import add
from .test_relay_sync import events, relay, send  # noqa: F401  (relay: the real relay fixture)


def _emails(ws):
    return [e for (e,) in ws.conn.execute("SELECT email FROM contacts ORDER BY email")]


def _revenue(ws, email):
    return journey(ws.conn, email)["contact"]["revenue"]


def test_crm_and_stripe_do_not_bring_an_erased_person_back_until_lifted(ws, options):
    stripe, crm = FakeStripe(), FakeHubSpot()
    ann = stripe.customer("ann@example.com", "Ann Lee")
    stripe.charge(4900, customer=ann["id"])
    stripe.charge(1500, customer=stripe.customer("bob@example.com")["id"])
    crm.person("Ann@Example.com", "Ann", "Lee")
    crm.person("bob@example.com", "Bob", "Ray")
    add(ws, "stripe")
    add(ws, "hubspot", secret="pat-na1-xyz")
    transports = {"stripe": stripe.transport(), "hubspot": crm.transport()}
    assert run_sync(ws, options=options(**transports)).ok
    assert _emails(ws) == ["ann@example.com", "bob@example.com"]

    people.erase(ws, "ann@example.com")
    # Ann buys again and her CRM record changes: the next incremental sync fetches both.
    stripe.charge(2000, customer=ann["id"])
    crm.catch_up()
    crm.people[0]["updated"] = crm.tick()
    report = run_sync(ws, options=options(**transports))
    assert report.ok, report.as_dict()
    fetched = {r.kind: r.counts for r in report.sources}
    assert fetched["stripe"]["charges"] >= 1 and fetched["hubspot"]["contacts"] >= 1  # Ann arrived, and went
    assert _emails(ws) == ["bob@example.com"]
    assert _revenue(ws, "bob@example.com") == {"usd": 1500}
    assert ws.conn.execute("SELECT count(*) FROM orders WHERE customer_key = ?", (f"stripe:{ann['id']}",)
                           ).fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE email = 'ann@example.com'").fetchone()[0] == 0
    # Her Stripe customer id and HubSpot id joined her entry: one person, one entry.
    assert [(e["identifiers"], e["kinds"]) for e in suppression.entries(ws.conn)] == [
        (3, ["CRM contact id", "email", "payment customer id"])]

    suppression.lift(ws.conn, "ann@example.com")
    assert run_sync(ws, options=options(**transports)).ok
    assert _emails(ws) == ["ann@example.com", "bob@example.com"]
    assert _revenue(ws, "ann@example.com") == {"usd": 4900 + 2000}


def test_relay_does_not_bring_an_erased_person_back(relay, ws):  # noqa: F811
    url, keys = relay
    send(url, keys, events(6, email="reader@example.com"))
    add_source(ws, "relay", "site", {"base_url": url}, keys["pull_token"])
    from segdesk.sync.http import HttpOptions

    opts = HttpOptions(sleep=lambda s: None)
    assert run_sync(ws, options=opts).ok
    assert _emails(ws) == ["reader@example.com"]
    people.erase(ws, "reader@example.com")
    # She comes back on another device (or a relay that missed the erase still has her).
    send(url, keys, [{"type": "identify", "anonymousId": "dev-new", "messageId": "id-new",
                      "timestamp": "2026-03-05T11:00:00.000Z", "traits": {"email": "Reader@Example.com"},
                      "context": {"segdesk": {"method": "form"}}},
                     {"type": "page", "anonymousId": "dev-new", "messageId": "p-new",
                      "timestamp": "2026-03-05T11:00:01.000Z", "context": {"page": {"url": "https://shop.example/"}}}])
    report = run_sync(ws, options=opts)
    assert report.ok and report.sources[0].changed == {"events": 2}
    assert _emails(ws) == []
    assert ws.conn.execute("SELECT count(*) FROM events WHERE anonymous_id = 'dev-new'").fetchone()[0] == 0
