"""The relay's HTTP API against a real uvicorn server on loopback."""

from __future__ import annotations

import base64
import gzip
import time

import httpx
import orjson
import pytest

from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)


def page(anon="anon-1", **extra):
    return {"type": "page", "anonymousId": anon, "context": {"page": {"url": "https://example.com/"}},
            **extra}


def test_ingest_pull_ack_purge(make_relay, make_clients):
    relay = make_relay(ack_grace_days=0)
    c = make_clients(relay)
    batch = [page(messageId=f"m{i}", properties={"i": i}) for i in range(5)]
    assert c.send.post("/v1/batch", json={"batch": batch}).status_code == 200
    assert c.send.post("/v1/track", json={"type": "track", "event": "Signup",
                                          "userId": "u1", "messageId": "t1"}).status_code == 200

    first = c.pull.get("/v1/events", params={"after": 0, "limit": 4}).json()
    assert [e["event"]["messageId"] for e in first["events"]] == ["m0", "m1", "m2", "m3"]
    assert first["more"] is True and first["next"] == first["events"][-1]["seq"]
    rest = c.pull.get("/v1/events", params={"after": first["next"], "limit": 4}).json()
    assert [e["event"]["messageId"] for e in rest["events"]] == ["m4", "t1"]
    assert rest["more"] is False
    seqs = [e["seq"] for e in first["events"] + rest["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    stored = rest["events"][0]
    assert stored["event"]["properties"] == {"i": 4}
    assert stored["received_at"] == stored["event"]["receivedAt"]
    assert stored["event"]["context"]["ip"] == "127.0.0.0"  # anonymised by default

    assert c.pull.get("/healthz").json()["buffered"] == 6
    acked = c.pull.post("/v1/ack", json={"upto": first["next"]}).json()
    assert acked["acked_upto"] == first["next"] and acked["purged"] == 4
    assert [e["event"]["messageId"] for e in c.events()] == ["m4", "t1"]
    assert c.pull.get("/healthz").json()["buffered"] == 2
    # Acking past the end cannot purge events that arrive later.
    assert c.pull.post("/v1/ack", json={"upto": 10**9}).json()["acked_upto"] == rest["next"]
    c.send.post("/v1/page", json=page(messageId="late"))
    assert [e["event"]["messageId"] for e in c.events()] == ["late"]


def test_acked_events_wait_for_grace_period(make_relay, make_clients):
    relay = make_relay()  # default grace: 7 days
    c = make_clients(relay)
    c.send.post("/v1/batch", json={"batch": [page(messageId="a"), page(messageId="b")]})
    upto = c.events()[-1]["seq"]
    assert c.pull.post("/v1/ack", json={"upto": upto}).json()["purged"] == 0
    assert len(c.events()) == 2
    buf = relay.app.state.buffer
    assert buf.purge_sync(7, 90, now=time.time() + 6 * 86400) == 0
    assert buf.purge_sync(7, 90, now=time.time() + 8 * 86400) == 2
    assert c.events() == []
    assert c.pull.get("/healthz").json()["buffered"] == 0


def test_retention_warns_then_drops_unpulled(clients, relay):
    clients.send.post("/v1/page", json=page(messageId="old"))
    buf = relay.app.state.buffer
    soon = buf.stats(90, 7, now=time.time() + 84 * 86400)
    assert soon["warnings"] and "90 days" in soon["warnings"][0]
    assert buf.stats(90, 7)["warnings"] == []
    assert buf.purge_sync(7, 90, now=time.time() + 91 * 86400) == 1


def test_duplicate_message_id_is_accepted_and_stored_once(clients):
    event = page(messageId="dup-1")
    for _ in range(3):
        assert clients.send.post("/v1/page", json=event).status_code == 200
    clients.send.post("/v1/batch", json={"batch": [event, event, page(messageId="dup-2")]})
    assert [e["event"]["messageId"] for e in clients.events()] == ["dup-1", "dup-2"]


def test_missing_message_id_is_made_and_retries_deduplicate(clients):
    event = {"type": "track", "event": "Buy", "anonymousId": "a", "timestamp": "2024-05-01T10:00:00Z"}
    clients.send.post("/v1/track", json=event)
    clients.send.post("/v1/track", json=event)
    clients.send.post("/v1/track", json={"type": "track", "event": "Buy", "anonymousId": "a"})
    stored = [e["event"] for e in clients.events()]
    assert len(stored) == 2 and all(e["messageId"] for e in stored)


def test_clock_skew_is_corrected_like_segment(clients):
    # The client's clock runs one hour late: both its times shift by the skew.
    now = time.time()
    late = lambda seconds: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 + seconds))
    clients.send.post("/v1/page", json=page(timestamp=late(-10), sentAt=late(0)))
    event = clients.events()[0]["event"]
    corrected = time.mktime(time.strptime(event["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(corrected - (now - 10)) < 5
    assert event["originalTimestamp"] == late(-10)


def test_write_key_checks(clients):
    assert clients.anon.post("/v1/page", json=page()).status_code == 401
    assert clients.anon.post("/v1/page", json=page(), auth=("wrong", "")).status_code == 401
    assert clients.anon.post("/v1/page", json={**page(), "writeKey": "nope"}).status_code == 401
    wrong_header = clients.anon.post("/v1/page", auth=("wrong", ""),
                                     json={**page(), "writeKey": clients.keys["write_key"]})
    assert wrong_header.status_code == 401
    ok = clients.anon.post("/v1/page", json={**page(), "writeKey": clients.keys["write_key"]})
    assert ok.status_code == 200
    stored = clients.events()[0]["event"]
    assert "writeKey" not in stored  # the key never lands in the buffer


def test_pull_api_needs_the_token(clients):
    for token in (None, "wrong", clients.keys["write_key"]):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=str(clients.pull.base_url), headers=headers) as other:
            assert other.get("/v1/events").status_code == 401
            assert other.post("/v1/ack", json={"upto": 1}).status_code == 401
            assert other.post("/v1/erase", json={"email": "a@b.c"}).status_code == 401
            assert other.get("/healthz").status_code == 401


def test_limits_and_malformed_bodies(make_relay, make_clients):
    relay = make_relay(rate_per_second=0.001, rate_burst=30)
    c = make_clients(relay)
    big = c.send.post("/v1/page", content=b"{" + b" " * (600 * 1024) + b"}")
    assert big.status_code == 413 and "512 KiB" in big.json()["error"]
    bomb = gzip.compress(b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}')
    assert c.send.post("/v1/page", content=bomb, headers={"Content-Encoding": "gzip"}).status_code == 413
    bad = c.send.post("/v1/page", content=b'{"type": "page",', headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("malformed JSON")
    assert "\n" not in bad.json()["error"]
    too_many = c.send.post("/v1/batch", json={"batch": [page()] * 501})
    assert too_many.status_code == 413 and "500" in too_many.json()["error"]
    for garbage, reason in [({"type": "click", "anonymousId": "a"}, "type"),
                            ({"type": "page"}, "anonymousId or userId"),
                            ({"type": "track", "anonymousId": "a"}, "event name"),
                            ({"type": "page", "anonymousId": "a", "timestamp": "yesterday"}, "timestamp")]:
        response = c.send.post("/v1/batch", json={"batch": [page(), garbage]})
        assert response.status_code == 400 and reason in response.json()["error"]
    assert c.send.post("/v1/track", json=page()).status_code == 400  # page sent to /v1/track
    assert c.events() == []
    codes = [c.send.post("/v1/page", json=page()).status_code for _ in range(40)]
    assert 429 in codes and codes.count(200) <= 30
    limited = c.send.post("/v1/page", json=page())
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_bots_are_counted_by_reason_not_stored(clients):
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    # A crawler's browser: the request comes from a page (Origin), or the event says so.
    browser_request = {**bot, "Origin": "https://example.com"}
    assert clients.send.post("/v1/page", json=page(), headers=browser_request).status_code == 200
    in_context = page(context={"userAgent": bot["User-Agent"]})
    clients.send.post("/v1/batch", json={"batch": [in_context, page(messageId="human")]})
    assert clients.anon.get("/v1/p.gif", params={"writeKey": clients.keys["write_key"]},
                            headers=bot).status_code == 200
    # A server-side library's own user agent says nothing about visitors.
    server = page(messageId="server", context={"library": {"name": "analytics-python"}})
    clients.send.post("/v1/page", json=server, headers={"User-Agent": "python-requests/2.31"})
    assert [e["event"]["messageId"] for e in clients.events()] == ["human", "server"]
    health = clients.pull.get("/healthz").json()
    assert health["filtered"] == {"bot_user_agent": 1, "bot_request": 2}
    assert health["bots_filtered"] == 3


@pytest.mark.parametrize("agent", ["curl/8.5.0", "python-httpx/0.27.0", "python-requests/2.31.0",
                                   "node", "Go-http-client/1.1", "Wget/1.21.4"])
def test_server_side_http_clients_are_not_bots(clients, agent):
    """curl and friends are judged bots by their user agent; an event they
    forward (an identify from a backend, say) is still a visitor's."""
    identify = {"type": "identify", "userId": "u1", "messageId": f"id-{agent}",
                "traits": {"email": "ann@example.com"}}
    response = clients.send.post("/v1/identify", json=identify, headers={"User-Agent": agent})
    assert response.status_code == 200
    assert [e["event"]["messageId"] for e in clients.events()] == [f"id-{agent}"]
    assert clients.pull.get("/healthz").json()["filtered"] == {}


def test_text_plain_body_needs_no_preflight(clients):
    body = orjson.dumps({"batch": [page(messageId="tp")], "writeKey": clients.keys["write_key"]})
    response = clients.anon.post("/v1/batch", content=body,
                                 headers={"Content-Type": "text/plain", "Origin": "https://example.com"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert clients.events()[0]["event"]["messageId"] == "tp"


def test_cors_preflight_and_credentialed_origin(make_relay, make_clients):
    relay = make_relay(allowed_origins=["https://example.com", "https://*.shop.example"])
    c = make_clients(relay)
    pre = c.anon.options("/v1/batch", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type"
    sub = c.send.post("/v1/page", json=page(), headers={"Origin": "https://eu.shop.example"})
    assert sub.headers["Access-Control-Allow-Origin"] == "https://eu.shop.example"
    foreign = c.send.post("/v1/page", json=page(), headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert c.anon.options("/v1/batch", headers={"Origin": "https://evil.example"}).status_code == 403


def test_visitor_cookie_and_id_endpoint(make_relay, make_clients):
    relay = make_relay(allowed_origins=["https://example.com"], cookie_domain="example.com")
    c = make_clients(relay)
    origin = {"Origin": "https://example.com"}
    first = c.send.post("/v1/page", json=page("visitor-7"), headers=origin)
    cookie = first.headers["Set-Cookie"]
    for part in ("sd_vid=visitor-7", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=31536000",
                 "Domain=example.com"):
        assert part in cookie
    # Safari dropped the script cookie: the page got a new id, the relay still knows the old one.
    again = c.send.post("/v1/page", json=page("new-id"), headers={**origin, "Cookie": "sd_vid=visitor-7"})
    assert again.headers["Set-Cookie"].startswith("sd_vid=visitor-7;")
    known = c.anon.get("/v1/id", headers={**origin, "Cookie": "sd_vid=visitor-7"})
    assert known.json() == {"anonymousId": "visitor-7"}
    assert known.headers["Access-Control-Allow-Credentials"] == "true"
    assert known.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert c.anon.get("/v1/id", headers=origin).json() == {"anonymousId": None}
    assert c.anon.get("/v1/id", headers={**origin, "Cookie": "sd_vid=" + "x" * 200}).json()["anonymousId"] is None


def test_pixel_gif_for_clients_without_javascript(clients):
    params = {"writeKey": clients.keys["write_key"], "url": "https://example.com/p?x=1",
              "title": "Hello", "utm_source": "news", "utm_campaign": "may", "anonymousId": "gif-1"}
    response = clients.anon.get("/v1/p.gif", params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    data = base64.urlsafe_b64encode(orjson.dumps({"type": "track", "event": "Open",
                                                  "userId": "u9"})).decode().rstrip("=")
    clients.anon.get("/v1/p.gif", params={"data": data, "writeKey": clients.keys["write_key"]})
    # No id at all: the relay's cookie becomes the visitor's id.
    fresh = clients.anon.get("/v1/p.gif", params={"writeKey": clients.keys["write_key"]})
    new_id = fresh.headers["Set-Cookie"].split(";")[0].split("=")[1]
    assert clients.anon.get("/v1/p.gif", params={"url": "x"}).status_code == 401
    events = [e["event"] for e in clients.events()]
    assert events[0]["context"]["page"] == {"url": "https://example.com/p?x=1", "title": "Hello"}
    assert events[0]["context"]["campaign"] == {"source": "news", "name": "may"}
    assert (events[1]["type"], events[1]["event"], events[1]["userId"]) == ("track", "Open", "u9")
    assert events[2]["anonymousId"] == new_id


def test_pixel_gif_with_a_numeric_id_is_stored_once_and_answered_200(clients):
    """It used to store the event and then answer 500 setting the cookie, so every
    client retry stored another copy."""
    data = base64.urlsafe_b64encode(orjson.dumps({"type": "page", "anonymousId": 123456})).decode()
    response = clients.anon.get("/v1/p.gif", params={"data": data, "writeKey": clients.keys["write_key"]})
    assert response.status_code == 200
    assert response.headers["Set-Cookie"].startswith("sd_vid=123456;")
    assert [e["event"]["anonymousId"] for e in clients.events()] == ["123456"]
    for bad in ([], {"a": 1}, ["page"]):
        wrong = clients.send.post("/v1/batch", json={"batch": [{"type": bad, "anonymousId": "a"}]})
        assert wrong.status_code == 400 and "type must be one of" in wrong.json()["error"]


def test_erase_by_email_and_anonymous_id(clients):
    identify = {"type": "identify", "anonymousId": "dev-a", "userId": "crm-1",
                "traits": {"email": "Jane@Example.com "}}
    clients.send.post("/v1/batch", json={"batch": [
        page("dev-a"), identify, page("dev-b"),
        {"type": "identify", "anonymousId": "dev-b", "traits": {"email": "jane@example.com"}},
        {"type": "track", "event": "Paid", "userId": "crm-1"},
        page("dev-c"), page("other", messageId="keep")]})
    erased = clients.pull.post("/v1/erase", json={"email": " JANE@example.com"}).json()
    assert erased == {"ok": True, "erased": 5}
    assert clients.pull.post("/v1/erase", json={"anonymousId": "dev-c"}).json()["erased"] == 1
    assert [e["event"]["messageId"] for e in clients.events()] == ["keep"]
    assert clients.pull.post("/v1/erase", json={}).status_code == 400


def test_pixel_script_is_cacheable(clients, relay, tmp_path):
    from segdesk.collector_relay.script import PixelScript

    script = tmp_path / "p.js"
    script.write_text("console.log('pixel');")
    served = PixelScript(script)
    relay.app.router.routes[:] = [r for r in relay.app.router.routes if r.path != "/p.js"]
    from starlette.routing import Route
    relay.app.router.routes.insert(0, Route("/p.js", served.serve, methods=["GET"]))
    first = clients.anon.get("/p.js")
    assert first.status_code == 200 and first.text == "console.log('pixel');"
    assert first.headers["content-type"].startswith("text/javascript")
    assert "max-age" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert clients.anon.get("/p.js", headers={"If-None-Match": etag}).status_code == 304
    script.write_text("console.log('pixel v2');")
    changed = clients.anon.get("/p.js", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    script.unlink()
    missing = clients.anon.get("/p.js")
    assert missing.status_code == 404 and "p.js" in missing.json()["error"]


def test_client_address_and_proxy(make_relay, make_clients):
    relay = make_relay(trust_proxy=True, anonymize_ip=False)
    c = make_clients(relay)
    c.send.post("/v1/page", json=page(messageId="p1"), headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    c.send.post("/v1/page", json=page(messageId="p2", context={"ip": "2001:db8:1:2::7"}))
    ips = [e["event"]["context"]["ip"] for e in c.events()]
    assert ips == ["203.0.113.9", "2001:db8:1:2::7"]


def test_anonymised_ipv6_keeps_48_bits(clients):
    clients.send.post("/v1/page", json=page(context={"ip": "2001:db8:abcd:12::1"}))
    assert clients.events()[0]["event"]["context"]["ip"] == "2001:db8:abcd::"
