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
