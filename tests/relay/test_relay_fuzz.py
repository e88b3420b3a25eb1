"""Fuzzing the ingest endpoints in-process (httpx's ASGI transport): whatever
arrives, the relay never answers 5xx and stores only valid events."""

from __future__ import annotations

import asyncio
import base64
import copy
from datetime import datetime

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdesk.collector_relay import config as relay_config
from segdesk.collector_relay.app import create_app
from segdesk.collector_relay.events import TYPES

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
KINDS = sorted(TYPES) + ["click", "", None, 7]
scalars = st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
times = st.sampled_from(["2024-01-01T00:00:00Z", "2024-13-01", "yesterday", "", "2024-06-01T10:00:00+02:00",
                         "0001-01-01T00:00:00", "9999-12-31T23:59:59Z"]) | st.text(max_size=30)
ids = st.none() | st.text(max_size=300) | st.integers(-2**63, 2**63) | st.booleans() | json_values
events = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(KINDS), "anonymousId": ids, "userId": ids, "messageId": ids,
    "event": ids, "previousId": ids, "timestamp": times | json_values, "sentAt": times,
    "context": json_values | st.fixed_dictionaries({}, optional={
        "ip": st.text(max_size=40) | st.sampled_from(["::1", "10.1.2.3", "::ffff:1.2.3.4"]),
        "userAgent": st.text(max_size=60) | st.just("Googlebot/2.1"),
        "traits": json_values, "library": json_values}),
    "properties": json_values, "traits": json_values, "writeKey": st.text(max_size=5),
}) | json_values
bodies = (st.builds(lambda b: orjson.dumps({"batch": b}), st.lists(events, max_size=5))
          | st.builds(orjson.dumps, events)
          | st.binary(max_size=200)
          | st.sampled_from([b'{"type":"page","anonymousId":"a","n":123456789012345678901234567890}',
                             b'{"type":"page","anonymousId":"a","n":1e999}', b"[" * 2000, b"\xff\xfe",
                             b'{"batch":[{"type":"page","userId":"\\ud800"}]}', b"null", b'"str"'])
          | st.builds(lambda e: orjson.dumps({"batch": e, "sentAt": "2024-01-01T00:00:00Z"}), json_values))
paths = st.sampled_from(["/v1/batch"] + [f"/v1/{k}" for k in sorted(TYPES)])
query = st.dictionaries(st.sampled_from(["type", "anonymousId", "userId", "event", "url", "title",
                                         "utm_source", "utm_campaign", "timestamp", "data", "messageId"]),
                        st.text(max_size=30), max_size=6)
b64 = st.builds(lambda e: base64.urlsafe_b64encode(orjson.dumps(e)).decode(), events)


def _valid(event: dict) -> bool:
    ok = (event.get("type") in TYPES
          and (isinstance(event.get("anonymousId"), str) and event["anonymousId"]
               or isinstance(event.get("userId"), str) and event["userId"])
          and isinstance(event.get("messageId"), str) and event["messageId"]
          and isinstance(event.get("context"), dict) and "writeKey" not in event)
    datetime.fromisoformat(event["timestamp"])
    datetime.fromisoformat(event["receivedAt"])
    if event["type"] == "track":
        ok = ok and isinstance(event.get("event"), str) and event["event"].strip()
    return bool(ok)


def test_fuzzed_ingest_never_fails_and_never_stores_garbage(tmp_path):
    keys = relay_config.init(tmp_path)
    config = relay_config.load(tmp_path, environ={})
    config.rate_per_second = 0
    app = create_app(config)
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay",
                               auth=(keys["write_key"], ""), headers={"User-Agent": UA})
    statuses = []

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=paths, body=bodies, content_type=st.sampled_from(["text/plain", "application/json", ""]),
           gif=st.none() | query, data=st.none() | b64)
    def check(path, body, content_type, gif, data):
        if gif is not None:
            params = {**gif, "writeKey": keys["write_key"]}
            if data is not None:
                params["data"] = data
            response = loop.run_until_complete(client.get("/v1/p.gif", params=params))
        else:
            response = loop.run_until_complete(
                client.post(path, content=body, headers={"Content-Type": content_type}))
        statuses.append(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error and "\n" not in error

    try:
        check()
        pull = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay",
                                 headers={"Authorization": f"Bearer {keys['pull_token']}"})
        page = loop.run_until_complete(pull.get("/v1/events?limit=10000")).json()
        loop.run_until_complete(pull.aclose())
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    assert 200 in statuses and 400 in statuses
    assert page["events"], "the fuzzer never produced a valid event"
    for item in page["events"]:
        assert _valid(item["event"]), item


# -- wrong JSON types in every field, against a real relay process ---------------------

# Every field the relay reads or keeps, as a path into one event; the batch
# envelope's own fields are mutated separately.
FIELDS = [("type",), ("anonymousId",), ("userId",), ("messageId",), ("event",), ("previousId",),
          ("groupId",), ("name",), ("timestamp",), ("sentAt",), ("originalTimestamp",),
          ("receivedAt",), ("writeKey",), ("context",), ("properties",), ("traits",),
          ("integrations",), ("context", "page"), ("context", "page", "url"),
          ("context", "page", "referrer"), ("context", "page", "title"),
          ("context", "page", "path"), ("context", "page", "search"), ("context", "campaign"),
          ("context", "campaign", "source"), ("context", "campaign", "name"),
          ("context", "traits"), ("context", "traits", "email"), ("context", "userAgent"),
          ("context", "ip"), ("context", "library"), ("context", "library", "name"),
          ("context", "segdesk"), ("context", "segdesk", "method"), ("traits", "email"),
          ("traits", "contact_id"), ("properties", "revenue"), ("properties", "url")]
ENVELOPE = ["batch", "sentAt", "writeKey", "context", "integrations"]
WRONG = st.sampled_from([None, True, False, 0, -1, 7, 2**63 - 1, -2**63, 1.5, -0.0, 1e308, "", " ",
                         "x", "page", "2024-01-01T00:00:00Z", "<b>", [], [1, "a"], ["page"], {},
                         {"a": [1]}, {"type": "page"}, [[[]]], "a" * 300]).map(copy.deepcopy)
# (a copy each time: a later mutation may write into an object this list holds)
ENDPOINTS = ["/v1/batch", "/v1/p.gif"] + [f"/v1/{k}" for k in sorted(TYPES)]
_BROWSER_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/17.4 Safari/605.1.15")


def _valid_event(kind: str, n: int) -> dict:
    event = {"type": kind, "anonymousId": f"a{n}", "messageId": f"fuzz-{n}",
             "timestamp": "2024-05-01T10:00:00Z",
             "context": {"page": {"url": "https://shop.example/", "title": "Shop"},
                         "campaign": {"source": "news"}, "userAgent": _BROWSER_UA},
             "properties": {"url": "https://shop.example/"}, "traits": {"email": f"p{n}@example.com"}}
    if kind == "track":
        event["event"] = "Signed Up"
    if kind == "alias":
        event["previousId"] = f"old{n}"
    if kind == "group":
        event["groupId"] = "g1"
    return event


def _put(event: dict, path: tuple, value) -> None:
    target = event
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value


def test_wrong_json_types_get_4xx_and_2xx_means_stored(tmp_path):
    """Every field of every endpoint with a value of the wrong JSON type: never
    a 5xx or a traceback, and an answer is 2xx exactly when the event is stored."""
    import itertools
    import sqlite3

    from tests.relay.pixel_support import running_relay

    counter = itertools.count()
    seen: dict[int, int] = {}
    env = {"SEGDESK_RELAY_RATE": "0", "SEGDESK_RELAY_FILTER_BOTS": "0"}
    with running_relay(tmp_path / "relay", env=env) as relay, \
            httpx.Client(base_url=relay.url, timeout=10, headers={"User-Agent": _BROWSER_UA}) as client:
        db = sqlite3.connect(f"file:{tmp_path / 'relay' / 'buffer.db'}?mode=ro", uri=True)

        def stored(message_id) -> bool:
            return isinstance(message_id, str) and db.execute(
                "SELECT 1 FROM events WHERE message_id = ?", (message_id,)).fetchone() is not None

        @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
        @given(endpoint=st.sampled_from(ENDPOINTS), kind=st.sampled_from(sorted(TYPES)),
               mutations=st.lists(st.tuples(st.sampled_from(FIELDS), WRONG), min_size=1, max_size=3),
               envelope=st.lists(st.tuples(st.sampled_from(ENVELOPE), WRONG), max_size=1),
               batch_size=st.integers(1, 3))
        def check(endpoint, kind, mutations, envelope, batch_size):
            if endpoint not in ("/v1/batch", "/v1/p.gif"):
                kind = endpoint.rsplit("/", 1)[-1]
            events = [_valid_event(kind, next(counter)) for _ in range(batch_size)]
            for path, value in mutations:
                _put(events[0], path, value)
            before = db.execute("SELECT count(*) FROM events").fetchone()[0]
            if endpoint == "/v1/batch":
                payload = {"batch": events, "writeKey": relay.write_key}
                for key, value in envelope:
                    payload[key] = value
                # An empty batch stores nothing and is rightly a 2xx: nothing was refused.
                events = payload["batch"] if isinstance(payload["batch"], list) else events
                response = client.post(endpoint, content=orjson.dumps(payload),
                                       headers={"Content-Type": "text/plain"})
            elif endpoint == "/v1/p.gif":
                events = events[:1]
                data = base64.urlsafe_b64encode(orjson.dumps(events[0])).decode()
                response = client.get(endpoint, params={"data": data, "writeKey": relay.write_key})
            else:
                events = events[:1]
                response = client.post(endpoint, content=orjson.dumps(events[0]),
                                       auth=(relay.write_key, ""))
            after = db.execute("SELECT count(*) FROM events").fetchone()[0]
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (endpoint, mutations, envelope, response.text)
            if response.status_code >= 400:
                assert after == before, (endpoint, mutations, "refused but stored")
                error = response.json()["error"]
                assert error and "\n" not in error
            else:
                assert after > before or all(stored(e.get("messageId")) for e in events), \
                    (endpoint, mutations, "2xx but nothing stored")

        try:
            check()
        finally:
            db.close()
        log = relay.log.read_text()
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]
    assert seen.get(200) and seen.get(400), seen
