"""Sources, secrets (keychain, refusal, encrypted file), the CLI, and cross-source order de-dup."""

from __future__ import annotations

import httpx
import keyring
import orjson
import pytest
from keyring.backends import null

from segdesk.cli import main
from segdesk.core.read.journey import journey
from segdesk.core.store import open_workspace
from segdesk.sync import secrets
from segdesk.sync.engine import run_sync
from segdesk.sync.http import ApiClient, HttpOptions, RateLimit, retry_after

from .fakes import FakeStripe
from .fakes_crm import FakeKeap
from .helpers import add


def test_secret_goes_to_the_keychain_and_never_into_the_workspace(tmp_path, monkeypatch, memory_keyring, capsys):
    monkeypatch.setenv("STRIPE_KEY", "sk_live_supersecret123")
    wsdir = tmp_path / "ws"
    assert main(["--workspace", str(wsdir), "sources", "add", "stripe", "--secret-env", "STRIPE_KEY"]) == 0
    assert list(memory_keyring.items.values()) == ["sk_live_supersecret123"]
    ws = open_workspace(wsdir)
    ref = ws.conn.execute("SELECT secret_ref FROM sources").fetchone()[0]
    ws.close()
    assert ref.startswith("keyring:stripe-")
    for f in wsdir.iterdir():
        assert b"supersecret" not in f.read_bytes()
    assert main(["--workspace", str(wsdir), "sources", "list", "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert listed["sources"][0]["secret"] == "keyring"
    assert main(["--workspace", str(wsdir), "sources", "remove", "stripe"]) == 0
    assert memory_keyring.items == {}


def test_no_keychain_refuses_with_one_line(tmp_path, monkeypatch, capsys):
    keyring.set_keyring(null.Keyring())
    monkeypatch.setenv("STRIPE_KEY", "sk_live_x")
    code = main(["--workspace", str(tmp_path / "ws"), "sources", "add", "stripe", "--secret-env", "STRIPE_KEY"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "no usable OS keychain" in err and "encrypted-file" in err
    assert not (tmp_path / "ws" / secrets.FILE_NAME).exists()


def test_encrypted_file_when_chosen(tmp_path, monkeypatch, options):
    keyring.set_keyring(null.Keyring())
    monkeypatch.setenv("STRIPE_KEY", "sk_test_fromfile")
    monkeypatch.setenv(secrets.PASSPHRASE_ENV, "correct horse")
    monkeypatch.setattr(secrets, "SCRYPT_N", 2**12)  # fast in tests
    wsdir = tmp_path / "ws"
    assert main(["--workspace", str(wsdir), "sources", "add", "stripe", "--secret-env", "STRIPE_KEY",
                 "--secret-store", "encrypted-file"]) == 0
    stored = (wsdir / secrets.FILE_NAME).read_text()
    assert "sk_test_fromfile" not in stored
    ws = open_workspace(wsdir)
    fake = FakeStripe()
    fake.charge(100, email="a@example.com")
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert fake.log[0].headers["authorization"] == "Bearer sk_test_fromfile"
    monkeypatch.setenv(secrets.PASSPHRASE_ENV, "wrong")
    report = run_sync(ws, options=options(stripe=fake.transport()))
    assert report.sources[0].reason == "wrong passphrase for the secrets file"


def test_secret_is_never_taken_from_argv(tmp_path):
    with pytest.raises(SystemExit):
        main(["--workspace", str(tmp_path / "ws"), "sources", "add", "stripe", "--secret", "sk_live_x"])


def test_sync_cli_exit_status_and_failure_lines(tmp_path, capsys):
    wsdir = str(tmp_path / "ws")
    bad = tmp_path / "missing.csv"
    assert main(["--workspace", wsdir, "sources", "add", "csv", "--name", "leads", "--path", str(bad),
                 "--csv-kind", "contacts"]) == 0
    assert main(["--workspace", wsdir, "sync"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"segdesk: leads: cannot read {bad}: No such file or directory"]
    bad.write_text("email,first_name\nz@example.com,Zoe\n")
    assert main(["--workspace", wsdir, "sync", "--json"]) == 0
    assert main(["--workspace", wsdir, "sync", "nosuch"]) == 1


def test_keap_order_paid_through_stripe_counts_once_and_truth_is_settable(ws, options):
    keap, stripe = FakeKeap(), FakeStripe()
    person = keap.person("Buyer@Example.com ")
    keap_order = keap.order(person, 97.0)
    cus = stripe.customer("buyer@example.com")
    from segdesk.core.timeutil import parse_ts

    when = int(parse_ts(keap_order["order_date"]).timestamp()) + 120
    stripe.charge(9700, customer=cus["id"], created=when)
    stripe.charge(9700, customer=cus["id"], created=when + 86400 * 5)  # a second, separate purchase
    add(ws, "keap", secret="KeapAK-token")
    add(ws, "stripe")
    report = run_sync(ws, options=options(keap=keap.transport(), stripe=stripe.transport()))
    assert report.ok and report.orders_matched == 1
    orders = [e for e in journey(ws.conn, "buyer@example.com")["events"] if e["kind"] == "order"]
    assert len(orders) == 2 and journey(ws.conn, "buyer@example.com")["contact"]["revenue"] == {"usd": 19400}
    assert orders[0]["order_id"].startswith("ch_")  # the payment processor counts by default
    ws.set_setting("orders.source_of_truth", "keap")
    orders = [e for e in journey(ws.conn, "buyer@example.com")["events"] if e["kind"] == "order"]
    assert orders[0]["order_id"] == str(keap_order["id"])


def test_retry_after_as_http_date_and_quota_headers(sleeps):
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        return httpx.Response(200, json={"ok": True}, headers={"X-HubSpot-RateLimit-Remaining": "0",
                                                               "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})

    clock = [0.0]
    opts = HttpOptions(transports={"x": httpx.MockTransport(handler)}, sleep=sleeps, clock=lambda: clock[0])
    client = ApiClient("X", "https://x.test", kind="x", options=opts, rate=RateLimit(2, 1.0))
    assert client.get_json("/a") == {"ok": True}
    client.get_json("/b")  # HubSpot said the quota is used up: wait out its interval first
    assert 10.0 in sleeps
    assert retry_after(httpx.Response(429, headers={"Retry-After": "120"})) == 120.0


def test_client_side_rate_limit_spaces_requests(sleeps):
    clock = [0.0]
    opts = HttpOptions(transports={"x": httpx.MockTransport(lambda r: httpx.Response(200, json={}))},
                       sleep=lambda s: (sleeps.append(s), clock.__setitem__(0, clock[0] + s)),
                       clock=lambda: clock[0])
    client = ApiClient("X", "https://x.test", kind="x", options=opts, rate=RateLimit(5, 1.0))
    for _ in range(12):
        client.get_json("/")
    assert len(sleeps) == 2 and all(abs(s - 1.0) < 1e-9 for s in sleeps)
