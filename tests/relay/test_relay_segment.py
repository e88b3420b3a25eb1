"""A real Segment library (segment-analytics-python from PyPI) sends to the relay."""

from __future__ import annotations

import datetime as dt

from segment.analytics import Client


def test_segment_python_library_events_arrive_intact(relay, clients):
    errors = []
    client = Client(write_key=relay.keys["write_key"], host=relay.url, sync_mode=False,
                    on_error=lambda exc, batch: errors.append(exc), max_retries=1, gzip=True)
    when = dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    client.identify("user-42", {"email": "ann@example.com", "contact_id": "crm-7"},
                    anonymous_id="anon-42", timestamp=when, message_id="seg-identify")
    client.track("user-42", "Order Completed", {"revenue": 49.0, "currency": "usd"},
                 context={"campaign": {"source": "newsletter"}}, message_id="seg-track")
    client.page("user-42", "Docs", "Install", {"url": "https://example.com/docs"},
                message_id="seg-page")
    client.alias("anon-42", "user-42", message_id="seg-alias")
    client.group("user-42", "org-1", {"plan": "pro"}, message_id="seg-group")
    client.screen("user-42", "Mobile", "Home", message_id="seg-screen")
    client.flush()
    client.join()
    assert errors == []

    pulled = [e["event"] for e in clients.events()]
    events = {e["messageId"]: e for e in pulled}
    assert sorted(e["messageId"] for e in pulled) == sorted(  # each exactly once
        ["seg-identify", "seg-track", "seg-page", "seg-alias", "seg-group", "seg-screen"])
    identify = events["seg-identify"]
    assert identify["type"] == "identify" and identify["userId"] == "user-42"
    assert identify["anonymousId"] == "anon-42"
    assert identify["traits"] == {"email": "ann@example.com", "contact_id": "crm-7"}
    assert identify["context"]["library"]["name"] == "analytics-python"
    # A time given to a server-side library stands: sentAt is within latency of receipt.
    assert identify["timestamp"] == "2024-03-01T12:30:00.000Z"
    track = events["seg-track"]
    assert track["event"] == "Order Completed"
    assert track["properties"] == {"revenue": 49.0, "currency": "usd"}
    assert track["context"]["campaign"] == {"source": "newsletter"}
    assert (events["seg-alias"]["previousId"], events["seg-alias"]["userId"]) == ("anon-42", "user-42")
    assert events["seg-group"]["groupId"] == "org-1"
    assert events["seg-page"]["properties"]["url"] == "https://example.com/docs"
    assert "writeKey" not in identify
