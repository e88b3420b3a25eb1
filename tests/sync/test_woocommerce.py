"""WooCommerce over real HTTP on loopback: page numbers, modified_after increments, refunds, JPY, attribution."""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.read.journey import journey
from segdesk.sync.connectors import woocommerce

from .fakes_shops import WOO_KEY, WOO_SECRET, FakeWoo
from .helpers import add, revenue, sync_over_loopback
from .loopback import Loopback

ATTRIBUTION = {"source_type": "utm", "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "may",
               "referrer": "https://mail.example/", "session_entry": "https://shop.example/?utm_source=newsletter",
               "session_start_time": "2023-11-14 22:00:00", "session_pages": "3", "device_type": "Desktop"}


@pytest.fixture
def shop(ws):
    add(ws, "woocommerce", secret=woocommerce.secret_of(WOO_KEY, WOO_SECRET), base_url="https://shop.example")
    return FakeWoo()


def sync(ws, fake, options):
    return sync_over_loopback(ws, fake, options, "woocommerce")


def test_first_sync_reads_every_page_and_the_attribution_touch(ws, shop, options, monkeypatch):
    monkeypatch.setattr(woocommerce, "PAGE", 2)
    shop.order("Ann@X.com", "49.99", attribution=ATTRIBUTION)
    shop.order("bob@x.com", "4900", "JPY")
    shop.order("cy@x.com", "10.00", status="pending")
    shop.order("dee@x.com", "10.00", status="on-hold")
    shop.order("eve@x.com", "3.00", status="processing")
    report = sync(ws, shop, options)
    assert report.ok, report.as_dict()
    listed = [r.url.params for r in shop.log if r.url.path.endswith("/orders")]
    assert [p["page"] for p in listed] == ["1", "2", "3"]  # X-WP-TotalPages: 3
    assert all(p["per_page"] == "2" and p["orderby"] == "id" for p in listed)
    assert revenue(ws, "ann@x.com") == {"usd": 4999}
    assert revenue(ws, "bob@x.com") == {"jpy": 4900}
    assert revenue(ws, "eve@x.com") == {"usd": 300}
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone() == (3,)
    (touch,) = [e for e in journey(ws.conn, "ann@x.com")["events"] if e["kind"] == "page"]
    assert touch["time"] == "2023-11-14T22:00:00.000Z"
    assert touch["channel"] == {"source": "newsletter", "medium": "email", "campaign": "may"}


def test_incremental_sync_and_partial_and_full_refunds(ws, shop, options):
    ann = shop.order("ann@x.com", "100.00")
    bob = shop.order("bob@x.com", "4900", "JPY")
    sync(ws, shop, options)
    before = len(shop.log)
    shop.refund(ann, "25.50")
    shop.refund(bob, "4900")
    cy = shop.order("cy@x.com", "12.00", status="pending")
    sync(ws, shop, options)
    listed = [r.url.params for r in shop.log[before:] if r.url.path.endswith("/orders")]
    # Bob's order changed last at 22:15:20 in the first sync; 10 minutes of overlap before it.
    assert [p["modified_after"] for p in listed] == ["2023-11-14T22:05:20"]
    assert revenue(ws, "ann@x.com") == {"usd": 7450}  # 100.00 - 25.50
    assert revenue(ws, "bob@x.com") == {"jpy": 0}  # refunded in full
    cy["status"], cy["date_modified_gmt"] = "cancelled", shop.tick()
    sync(ws, shop, options)
    assert ws.conn.execute("SELECT count(*) FROM orders WHERE email = 'cy@x.com'").fetchone() == (0,)
    assert sync(ws, shop, options).sources[0].changed == {}  # a re-run changes nothing


def test_throttling_with_and_without_retry_after(ws, shop, options, sleeps):
    shop.order("ann@x.com", "1.00")
    shop.faults = [("429", 3), ("429-json",), ("500",)]
    report = sync(ws, shop, options)
    assert report.ok, report.as_dict()
    # Retry-After 3 s; then no header: the 1 s window doubled (2 s); a 500 backs off under 2 s.
    assert sleeps[:2] == [3.0, 2.0] and 0 <= sleeps[2] <= 2.0
    assert revenue(ws, "ann@x.com") == {"usd": 100}


def test_a_revoked_key_is_one_line(ws, shop, options):
    shop.revoked = True
    (result,) = sync(ws, shop, options).sources
    assert result.reason == "WooCommerce rejected the consumer key and secret: Consumer key is invalid."


def test_sources_add_woocommerce_takes_key_and_secret_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WC_KEY", WOO_KEY)
    monkeypatch.setenv("WC_SECRET", WOO_SECRET)
    wsdir = str(tmp_path / "w")
    args = ["--workspace", wsdir, "sources", "add", "woocommerce", "--key-env", "WC_KEY", "--secret-env", "WC_SECRET"]
    assert main([*args, "--base-url", "http://shop.example"]) == 1  # plain http to another host
    assert "refusing plain http" in capsys.readouterr().err
    assert main([*args, "--base-url", "https://shop.example/", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"base_url": "https://shop.example"}


def test_segdesk_sync_with_a_revoked_key_prints_one_line_and_exits_1(tmp_path, capsys, monkeypatch):
    fake = FakeWoo()
    fake.order("ann@x.com", "5.00")
    loop = Loopback(fake)
    with loop:
        url = f"http://127.0.0.1:{loop.server.server_address[1]}"  # loopback: plain http is allowed
        monkeypatch.setenv("WC_KEY", WOO_KEY)
        monkeypatch.setenv("WC_SECRET", WOO_SECRET)
        wsdir = str(tmp_path / "w")
        assert main(["--workspace", wsdir, "sources", "add", "woocommerce", "--base-url", url,
                     "--key-env", "WC_KEY", "--secret-env", "WC_SECRET"]) == 0
        assert main(["--workspace", wsdir, "sync"]) == 0
        fake.revoked = True
        capsys.readouterr()
        assert main(["--workspace", wsdir, "sync"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "WooCommerce" in line]
    assert len(err) == 1 and err[0].endswith("WooCommerce rejected the consumer key and secret: Consumer key is invalid.")
    assert main(["--workspace", wsdir, "report", "summary", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revenue"] == {"usd": 500}  # what the first sync stored stays
