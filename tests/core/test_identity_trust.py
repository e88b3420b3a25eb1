"""Issue cases on identity and touches, each on hand-made data through the CLI's --json:
weak link evidence, the shared computer's handover, server-side page views."""

from __future__ import annotations

import json

import orjson
import pytest

from segdesk.cli import main

from .wire import at, identify, page

SHOP = "https://shop.example.com/"


def _run(capsys, *argv) -> dict:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _import(tmp_path, capsys, events=(), orders=None):
    if events:
        f = tmp_path / "events.jsonl"
        f.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
        _run(capsys, "import", "events", str(f))
    if orders:
        f = tmp_path / "orders.csv"
        f.write_text("order_id,email,amount,currency,created_at\n" + "".join(line + "\n" for line in orders))
        _run(capsys, "import", "orders", str(f))


def _server_page(user_id, ts, url):
    """A server-side Segment page call: a userId and no anonymousId."""
    return {"type": "page", "userId": user_id, "messageId": f"sp-{user_id}-{ts}", "timestamp": ts,
            "properties": {"url": url}}


def test_server_side_page_views_keep_their_channel_and_are_touches(tmp_path, capsys):
    server_identify = {"type": "identify", "userId": "u1", "messageId": "si-1", "timestamp": at(0),
                       "traits": {"email": "ann@example.com"}}
    _import(tmp_path, capsys, [
        server_identify,
        _server_page("u1", at(0, hours=1), SHOP + "?utm_source=newsletter&utm_medium=email&utm_campaign=may"),
        # A userId that is an email needs no identify to find its contact.
        _server_page("Bob@Example.com", at(0, hours=2), SHOP + "?utm_source=partner&utm_medium=referral"),
    ], orders=["o1,ann@example.com,100.00,usd,2026-03-02T09:00:00Z", "o2,bob@example.com,30.00,usd,2026-03-02T10:00:00Z"])

    pages = [e for e in _run(capsys, "journey", "ann@example.com")["events"] if e["kind"] == "page"]
    assert pages == [{"time": at(0, hours=1), "kind": "page", "anonymous_id": None,
                      "url": SHOP + "?utm_source=newsletter&utm_medium=email&utm_campaign=may",
                      "channel": {"source": "newsletter", "medium": "email", "campaign": "may"}}]
    report = _run(capsys, "report", "attribution", "--model", "last_touch", "--by", "source")
    assert report["rows"] == [{"key": "newsletter", "credit": {"usd": 10000}, "orders": 1},
                              {"key": "partner", "credit": {"usd": 3000}, "orders": 1}]
    assert report["unattributed"] == {"usd": 0} and report["total"] == {"usd": 13000}


def _pages(journey_json):
    return [(e["anonymous_id"], e["time"]) for e in journey_json["events"] if e["kind"] == "page"]


def test_a_forwarded_email_link_does_not_move_a_device_identified_by_form(tmp_path, capsys):
    _import(tmp_path, capsys, [
        page("pc", at(0)), identify("pc", at(0, minutes=1), email="carl@example.com", method="form"),
        # Carl forwards a newsletter that was sent to Ann and clicks it on his computer.
        identify("pc", at(1), email="ann@example.com", method="link"), page("pc", at(1, minutes=0.01)),
        # A link on a device known only by a link identifies it, and a second link moves it, as before.
        identify("phone", at(0), email="bob@example.com", method="link"), page("phone", at(0, minutes=0.01)),
        identify("phone", at(1), email="dan@example.com", method="link"), page("phone", at(1, minutes=0.01)),
        # A form on the shared computer still splits it at that moment.
        identify("pc", at(2), email="ann@example.com", method="form"), page("pc", at(2, minutes=0.01)),
    ])
    carl = _run(capsys, "journey", "carl@example.com")
    assert _pages(carl) == [("pc", at(0)), ("pc", at(1, minutes=0.01))]
    link = [e for e in carl["events"] if e["kind"] == "identify" and e["method"] == "link"]
    assert link == [{"time": at(1), "kind": "identify", "anonymous_id": "pc", "method": "link",
                     "email": "ann@example.com", "backfilled": False,
                     "not_followed": {"device_contact": "carl@example.com", "device_linked_by": "form"}}]
    ann = _run(capsys, "journey", "ann@example.com")
    assert _pages(ann) == [("pc", at(2, minutes=0.01))]
    assert [(d["anonymous_id"], d["linked_by"], d["linked_at"]) for d in ann["devices"]] == [("pc", "form", at(2))]
    assert [(e["time"], e.get("not_followed")) for e in ann["events"] if e["kind"] == "identify"] == [(at(2), None)]
    assert _pages(_run(capsys, "journey", "bob@example.com")) == [("phone", at(0, minutes=0.01))]
    assert _pages(_run(capsys, "journey", "dan@example.com")) == [("phone", at(1, minutes=0.01))]

    assert main(["journey", "carl@example.com"]) == 0
    assert ("link for ann@example.com on a device identified as carl@example.com, not followed"
            in capsys.readouterr().out)


def test_a_shared_computer_session_ends_at_the_handover(tmp_path, capsys):
    ad = SHOP + "?utm_source=google&utm_medium=cpc&utm_campaign=brand"
    _import(tmp_path, capsys, [
        page("pc", at(0), ad), identify("pc", at(0, minutes=1), email="carl@example.com", method="form"),
        page("pc", at(0, minutes=5)),
        # Five minutes later Ann sits down at the same browser and signs up: no gap, no new channel.
        identify("pc", at(0, minutes=10), email="ann@example.com", method="form"),
        page("pc", at(0, minutes=11)), page("pc", at(0, minutes=12)),
    ], orders=["o1,ann@example.com,50.00,usd,2026-03-01T10:00:00Z",
               "o2,carl@example.com,20.00,usd,2026-03-01T09:30:00Z"])
    # Ann's order is credited to her own session (direct, from 09:11), Carl's to his ad.
    report = _run(capsys, "report", "attribution", "--model", "last_touch", "--by", "source")
    assert report["rows"] == [{"key": "(direct)", "credit": {"usd": 5000}, "orders": 1},
                              {"key": "google", "credit": {"usd": 2000}, "orders": 1}]
    assert report["unattributed"] == {"usd": 0}
    ltv = _run(capsys, "report", "ltv", "--by", "source")
    assert sorted((r["key"], r["contacts"], r["revenue"]) for r in ltv["rows"]) == [
        ("(direct)", 1, {"usd": 5000}), ("google", 1, {"usd": 2000})]


def test_a_handover_found_later_splits_the_stored_session(tmp_path, capsys):
    """Ann's identify arrives in a later sync than the page views it splits."""
    _import(tmp_path, capsys, [page("pc", at(0), SHOP + "?utm_source=google&utm_medium=cpc"),
                               identify("pc", at(0, minutes=1), email="carl@example.com", method="form"),
                               page("pc", at(0, minutes=11))],
            orders=["o1,ann@example.com,50.00,usd,2026-03-01T10:00:00Z"])
    assert _run(capsys, "report", "attribution", "--model", "last_touch", "--by", "source")["unattributed"] == {"usd": 5000}
    _import(tmp_path, capsys, [identify("pc", at(0, minutes=10), email="ann@example.com", method="form")])
    report = _run(capsys, "report", "attribution", "--model", "last_touch", "--by", "source")
    assert report["rows"] == [{"key": "(direct)", "credit": {"usd": 5000}, "orders": 1}]
    assert report["unattributed"] == {"usd": 0}


def test_incremental_sessions_equal_a_full_rebuild_on_shared_devices():
    """Handovers that arrive in a later sync re-split the stored sessions exactly as a rebuild would."""
    import random
    import tempfile

    from segdesk.core.importing.events import import_events
    from segdesk.core.refresh import refresh_after_import
    from segdesk.core.store import open_workspace

    def history(rng, n, day0=0.0, identifies=0.25):
        out = []
        for i in range(n):
            dev, t = rng.choice(["d1", "d2", "d3"]), day0 + rng.uniform(0, 1)
            if rng.random() < identifies:
                out.append(identify(dev, at(t), email=rng.choice(["a@x.com", "b@x.com", "c@x.com"]),
                                    method=rng.choice(["form", "link", "manual"])))
            else:
                out.append(page(dev, at(t), rng.choice([SHOP, SHOP + "?utm_source=fb&utm_medium=cpc"])))
        return out

    rng = random.Random(12)
    cols = "SELECT anonymous_id, start_ts, last_ts, pages, source, medium FROM sessions ORDER BY 1, 2"
    touches = ("SELECT c.email, t.start_ts, t.source FROM contact_touches t JOIN contacts c ON c.id = t.contact_id "
               "ORDER BY 1, 2")
    for _ in range(10):
        # The later sync brings identifies only: nothing but the handovers can change the sessions.
        first, later = history(rng, 40), history(rng, 6, identifies=1.0)
        with open_workspace(tempfile.mkdtemp()) as inc, open_workspace(tempfile.mkdtemp()) as full:
            import_events(inc, first, origin="t")
            refresh_after_import(inc)
            import_events(inc, later, origin="t")
            refresh_after_import(inc)
            import_events(full, first + later, origin="t")
            refresh_after_import(full)
            assert inc.conn.execute(cols).fetchall() == full.conn.execute(cols).fetchall()
            assert inc.conn.execute(touches).fetchall() == full.conn.execute(touches).fetchall()


def test_mail_and_social_app_referrers_through_the_cli(tmp_path, capsys):
    _import(tmp_path, capsys, [
        page("eve-phone", at(0), SHOP, "android-app://com.google.android.gm/"),
        identify("eve-phone", at(0, minutes=1), email="eve@example.com"),
        page("fay-phone", at(0), SHOP, "android-app://com.instagram.android/"),
        identify("fay-phone", at(0, minutes=1), email="fay@example.com"),
    ], orders=["o1,eve@example.com,12.00,usd,2026-03-02T09:00:00Z", "o2,fay@example.com,8.00,usd,2026-03-02T09:00:00Z"])
    eve = _run(capsys, "journey", "eve@example.com")
    assert [e["channel"] for e in eve["events"] if e["kind"] == "page"] == [
        {"source": "mail.google.com", "medium": "email", "campaign": None}]
    report = _run(capsys, "report", "attribution", "--model", "first_touch", "--by", "medium")
    assert report["rows"] == [{"key": "email", "credit": {"usd": 1200}, "orders": 1},
                              {"key": "social", "credit": {"usd": 800}, "orders": 1}]
