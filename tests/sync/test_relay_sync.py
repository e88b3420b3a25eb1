"""The relay connector end to end: a real relay process on loopback, `segdesk sync`, ack, erase."""

from __future__ import annotations


import httpx
import orjson
import pytest

from segdesk.cli import main
from segdesk.core.store import open_workspace
from segdesk.sync import relay_erase
from segdesk.sync.connectors import relay as relay_connector
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions

from ..relay_process import running_relay

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"


@pytest.fixture
def relay(tmp_path):
    """A real relay process on a free loopback port: (url, keys)."""
    with running_relay(tmp_path / "relay") as found:
        yield found


def events(n: int, start: int = 0, email: str = "reader@example.com") -> list[dict]:
    out = []
    for i in range(start, start + n):
        out.append({"type": "page", "anonymousId": f"dev-{i % 5}", "messageId": f"m-{i}",
                    "timestamp": f"2026-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                    "context": {"page": {"url": f"https://shop.example/p/{i}?utm_source=news&utm_medium=email"}}})
    out.append({"type": "identify", "anonymousId": "dev-0", "messageId": f"id-{start}",
                "timestamp": "2026-03-01T11:00:00.000Z", "traits": {"email": email},
                "context": {"segdesk": {"method": "form"}}})
    return out


def send(url: str, keys: dict, batch: list[dict]) -> None:
    r = httpx.post(f"{url}/v1/batch", json={"batch": batch, "writeKey": keys["write_key"]},
                   headers={"User-Agent": UA})
    assert r.status_code == 200, r.text


def health(url: str, keys: dict) -> dict:
    return httpx.get(f"{url}/healthz", headers={"Authorization": f"Bearer {keys['pull_token']}"}).json()


def test_events_posted_to_a_real_relay_arrive_through_segdesk_sync(relay, tmp_path, monkeypatch, capsys):
    url, keys = relay
    send(url, keys, events(120))
    monkeypatch.setattr(relay_connector, "PAGE", 50)  # several pages
    monkeypatch.setenv("RELAY_TOKEN", keys["pull_token"])
    wsdir = str(tmp_path / "ws")
    assert main(["--workspace", wsdir, "sources", "add", "relay", "--name", "site", "--base-url", url,
                 "--secret-env", "RELAY_TOKEN"]) == 0
    assert health(url, keys)["buffered"] == 121
    assert main(["--workspace", wsdir, "sync", "--json"]) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result = next(line for line in lines if line["type"] == "result")
    assert result["status"] == "ok" and result["changed"] == {"events": 121}
    assert any(line["type"] == "progress" for line in lines)
    ws = open_workspace(wsdir)
    assert ws.conn.execute("SELECT count(*), min(origin) FROM events").fetchone() == (121, "relay:site")
    assert ws.conn.execute("SELECT email FROM contacts").fetchall() == [("reader@example.com",)]
    ws.close()
    assert health(url, keys)["buffered"] == 0  # acked after the commit

    send(url, keys, events(30, start=500, email="second@example.com"))
    assert main(["--workspace", wsdir, "sync", "site"]) == 0
    ws = open_workspace(wsdir)
    assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 152


def test_relay_keeps_events_until_the_ack(relay, ws):
    url, keys = relay
    send(url, keys, events(40))
    from segdesk.sync.sources import add_source

    add_source(ws, "relay", "site", {"base_url": url}, keys["pull_token"])
    real = httpx.HTTPTransport()

    class AckFails(httpx.BaseTransport):
        def handle_request(self, request):
            if request.url.path == "/v1/ack":
                raise httpx.ConnectError("network went away", request=request)
            return real.handle_request(request)

    opts = HttpOptions(transports={"relay": AckFails()}, sleep=lambda s: None, max_attempts=2)
    report = run_sync(ws, options=opts)
    assert report.sources[0].status == "failed"
    assert "events are stored" in report.sources[0].reason
    assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 41
    assert health(url, keys)["buffered"] == 41  # stored locally, not acked: the relay keeps them
    assert run_sync(ws, options=HttpOptions(sleep=lambda s: None)).ok
    assert health(url, keys)["buffered"] == 0
    assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 41


def test_wrong_pull_token_is_one_line(relay, ws):
    url, keys = relay
    from segdesk.sync.sources import add_source

    add_source(ws, "relay", "site", {"base_url": url}, "not-the-token")
    report = run_sync(ws, options=HttpOptions(sleep=lambda s: None))
    assert report.sources[0].reason == "The relay rejected the pull token: missing or wrong pull token"


def test_erase_remote_reaches_every_relay(relay, ws):
    url, keys = relay
    send(url, keys, events(10, email="gone@example.com") + events(3, start=100, email="stays@example.com"))
    from segdesk.sync.sources import add_source

    add_source(ws, "relay", "site", {"base_url": url}, keys["pull_token"])
    result = relay_erase.erase_remote(ws, " Gone@Example.com ")
    assert result.ok and result.erased["site"] >= 1
