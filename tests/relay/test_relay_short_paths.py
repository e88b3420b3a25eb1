"""Segment's one-letter paths, as analytics.js 2.0 sends to them: a text/plain
body carrying writeKey, sentAt, _metadata and integrations, from another origin."""

from __future__ import annotations

import orjson
import pytest

from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)

ORIGIN = {"Origin": "https://www.example.com"}
SHORT = {"p": ("page", {}), "i": ("identify", {"traits": {"email": "ann@example.com"}}),
         "t": ("track", {"event": "Order Completed"}), "a": ("alias", {"previousId": "anon-1"}),
         "g": ("group", {"groupId": "org-1"}), "s": ("screen", {"name": "Home"})}


def browser_event(kind: str, message_id: str, write_key: str, **extra) -> bytes:
    """A body the way analytics.js's Segment.io plugin posts it (normalize.ts)."""
    return orjson.dumps({
        "type": kind, "anonymousId": "anon-1", "messageId": message_id,
        "timestamp": "2024-05-01T10:00:00.000Z", "sentAt": "2024-05-01T10:00:00.100Z",
        "integrations": {}, "writeKey": write_key,
        "context": {"library": {"name": "analytics.js", "version": "next-1.84.3"},
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36",
                    "page": {"url": "https://www.example.com/"}},
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}, **extra})


@pytest.mark.parametrize("letter", sorted(SHORT))
def test_each_short_path_stores_its_type_once(clients, letter):
    kind, extra = SHORT[letter]
    body = browser_event(kind, f"m-{letter}", clients.keys["write_key"], **extra)
    for _ in range(2):  # a retry of the same messageId
        response = clients.anon.post(f"/v1/{letter}", content=body,
                                     headers={"Content-Type": "text/plain", **ORIGIN})
        assert response.status_code == 200, response.text
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    [stored] = [e["event"] for e in clients.events()]
    assert (stored["type"], stored["messageId"]) == (kind, f"m-{letter}")
    assert stored["_metadata"]["bundled"] == ["Segment.io"]
    assert stored["context"]["library"]["name"] == "analytics.js"
    assert "writeKey" not in stored


def test_short_path_refuses_another_type_and_a_wrong_key(clients):
    body = browser_event("track", "m1", clients.keys["write_key"], event="Signed Up")
    refused = clients.anon.post("/v1/p", content=body, headers=ORIGIN)
    assert refused.status_code == 400 and "page endpoint" in refused.json()["error"]
    wrong = browser_event("page", "m2", "not-the-key")
    assert clients.anon.post("/v1/p", content=wrong, headers=ORIGIN).status_code == 401
    assert clients.events() == []


def test_batch_short_path_with_basic_auth_and_its_preflight(clients):
    """analytics.js's batching mode posts {batch, sentAt, writeKey} to /b and
    adds an Authorization header, which makes the browser ask first."""
    pre = clients.anon.options("/v1/b", headers={
        **ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"]
    events = [orjson.loads(browser_event("page", f"b{i}", clients.keys["write_key"]))
              for i in range(3)]
    body = orjson.dumps({"batch": events, "sentAt": "2024-05-01T10:00:01.000Z"})
    response = clients.send.post("/v1/b", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert [e["event"]["messageId"] for e in clients.events()] == ["b0", "b1", "b2"]
