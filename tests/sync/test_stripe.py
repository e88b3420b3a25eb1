"""Stripe against a fake shaped from the real fixtures: paging, increments, refunds, currencies, faults."""

from __future__ import annotations

import pytest

from segdesk.core.read.journey import journey
from segdesk.core.store import open_workspace
from segdesk.sync.engine import run_sync

from .fakes import PERMISSIONS, STRIPE_VERSION, FakeStripe, Killed
from .helpers import add, dump, query_params


def shop(n_charges: int = 230) -> FakeStripe:
    fake = FakeStripe()
    for i in range(n_charges):
        cus = fake.customer(f"buyer{i}@example.com", f"Buyer {i}")
        ch = fake.charge(4900 + i, customer=cus["id"], email=f"Buyer{i}@Example.com")
        if i % 50 == 0:
            fake.invoice(cus["id"], ch, f"Course {i}")
        if i % 40 == 0:
            fake.subscription(cus["id"])
    return fake


def revenue(ws, email):
    return journey(ws.conn, email)["contact"]["revenue"]


def test_full_sync_pages_and_stores_everything(ws, options):
    fake = shop()
    add(ws, "stripe")
    report = run_sync(ws, options=options(stripe=fake.transport()))
    assert report.ok, report.as_dict()
    assert ws.conn.execute("SELECT count(*) FROM orders WHERE origin = 'stripe'").fetchone()[0] == 230
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE kind = 'customer'").fetchone()[0] == 230
    assert ws.conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 6
    assert len(query_params(fake, "/v1/charges")) == 3  # 100 + 100 + 30
    assert ws.conn.execute("SELECT product FROM orders WHERE amount = 4900").fetchone()[0] == "Course 0"
    assert revenue(ws, "buyer7@example.com") == {"usd": 4907}
    result = report.sources[0]
    assert result.changed["orders"] == 230 and result.counts["charges"] == 230


def test_incremental_second_sync_fetches_only_new_records(ws, options):
    fake = shop(150)
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    first = len(fake.log)
    newest = max(o["created"] for o in fake.lists["charges"].objects)
    cus = fake.customer("late@example.com")
    fake.charge(1000, customer=cus["id"])
    fake.charge(2000, customer=cus["id"])
    report = run_sync(ws, options=options(stripe=fake.transport()))
    second = fake.log[first:]
    charge_calls = [r.url.params for r in second if r.url.path == "/v1/charges"]
    assert charge_calls and all(int(p["created[gte]"]) >= newest for p in charge_calls)
    # Only the overlap second and the two new charges come back.
    assert report.sources[0].counts["charges"] <= 3
    assert report.sources[0].changed["orders"] == 2
    assert revenue(ws, "late@example.com") == {"usd": 3000}


def test_late_refund_is_caught_and_net_revenue_is_right(ws, options):
    fake = FakeStripe()
    cus = fake.customer("ann@example.com")
    ch = fake.charge(10000, customer=cus["id"])
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "ann@example.com") == {"usd": 10000}
    fake.refund(ch, 2500)  # a new refund object, the charge itself is old
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "ann@example.com") == {"usd": 7500}
    order = journey(ws.conn, "ann@example.com")["events"]
    assert [e["kind"] for e in order if e["kind"] in ("order", "refund")][:1] == ["order"]


def test_jpy_is_zero_decimal_and_stays_as_is(ws, options):
    fake = FakeStripe()
    cus = fake.customer("ken@example.jp")
    fake.charge(4900, currency="jpy", customer=cus["id"])
    fake.charge(1234, currency="usd", customer=cus["id"])
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "ken@example.jp") == {"jpy": 4900, "usd": 1234}


def test_customer_email_differing_in_case_and_spaces_from_crm_is_one_contact(ws, options, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("email,contact_id,first_name\nJane.Doe@Example.com,ac:77,Jane\n")
    fake = FakeStripe()
    cus = fake.customer("  JANE.DOE@example.COM ")
    fake.charge(5000, customer=cus["id"])  # the charge itself has only the customer id
    add(ws, "csv", "crm", path=str(crm), csv_kind="contacts", secret=None)
    add(ws, "stripe")
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert ws.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1
    data = journey(ws.conn, "jane.doe@example.com")
    assert data["contact"]["revenue"] == {"usd": 5000}
    assert data["contact"]["customer"] is True


def test_pending_charge_counts_once_it_succeeds(ws, options):
    fake = FakeStripe()
    cus = fake.customer("slow@example.com")
    ch = fake.charge(3000, customer=cus["id"], status="pending")
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "slow@example.com") == {}
    ch["status"] = "succeeded"
    fake.lists["charges"].raw.clear()
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "slow@example.com") == {"usd": 3000}


# A timeout is retried once only (a silent vendor is reported within seconds); answers that say
# "later" are retried more.
@pytest.mark.parametrize("fault, times", [(("429", 7), 2), (("500",), 2), (("timeout",), 1)])
def test_transient_faults_are_retried(ws, options, sleeps, fault, times):
    fake = shop(120)
    fake.faults = [fault] * times
    add(ws, "stripe")
    report = run_sync(ws, options=options(stripe=fake.transport()))
    assert report.ok, report.as_dict()
    assert report.sources[0].retries == times
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 120
    if fault[0] == "429":
        assert sleeps.count(7.0) == 2  # Retry-After honoured


def test_revoked_key_fails_with_one_line_and_other_sources_still_sync(ws, options, tmp_path):
    fake = shop(5)
    fake.revoked = True
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,email,amount,currency,created_at\nA1,x@example.com,10.00,usd,2026-01-01\n")
    add(ws, "stripe")
    add(ws, "csv", "shop", path=str(orders), csv_kind="orders", secret=None)
    report = run_sync(ws, options=options(stripe=fake.transport()))
    by_name = {r.name: r for r in report.sources}
    stripe, csv = by_name["stripe"], by_name["shop"]
    assert stripe.status == "failed"
    assert stripe.reason == "Stripe rejected the API key: Invalid API Key provided: sk_test_****oked"
    assert csv.ok and csv.changed == {"orders": 1}
    assert len(fake.log) == 1  # a rejected key is not retried
    state = ws.conn.execute("SELECT last_error FROM sync_state WHERE source = 'stripe'").fetchone()[0]
    assert state.startswith("Stripe rejected the API key")


def test_killed_mid_stream_then_resumed_equals_uninterrupted(tmp_path, options):
    def build():
        fake = shop(260)
        for ch in list(fake.lists["charges"].objects)[::37]:
            fake.refund(ch, 100)
        return fake

    whole = open_workspace(tmp_path / "whole")
    add(whole, "stripe")
    run_sync(whole, options=options(stripe=build().transport()))

    broken = open_workspace(tmp_path / "broken")
    add(broken, "stripe")
    fake = build()
    for n in (2, 3, 2):  # die after the 2nd page, twice more later, then finish
        fake.kill_after, fake.served = n, 0
        with pytest.raises(Killed):
            run_sync(broken, options=options(stripe=fake.transport()))
    fake.kill_after = None
    assert run_sync(broken, options=options(stripe=fake.transport())).ok
    assert dump(broken) == dump(whole)


def test_cancel_between_pages_keeps_what_was_stored_and_resumes(ws, options):
    from segdesk.core.progress import Progress

    fake = shop(250)
    add(ws, "stripe")
    progress = Progress()

    def on_source(name, p):
        if p.counts.get("charges", 0) >= 100:
            progress.cancel()

    report = run_sync(ws, progress=progress, on_source=on_source, options=options(stripe=fake.transport()))
    assert report.cancelled and report.sources[0].status == "cancelled"
    stored = ws.conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert stored == 100  # the pages committed before the cancel, nothing half-written
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 250


# -- what the real API requires and reports (issue 22) ---------------------------------------


def test_pins_the_api_version_and_reads_invoice_products_from_expanded_payments(ws, options):
    fake = FakeStripe()
    cus = fake.customer("inv@example.com")
    ch = fake.charge(2900, customer=cus["id"])
    fake.invoice(cus["id"], ch, "Workshop")
    add(ws, "stripe")
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert {r.headers["stripe-version"] for r in fake.log} == {STRIPE_VERSION}
    invoice_calls = query_params(fake, "/v1/invoices")
    assert all(p.get_list("expand[]") == ["data.payments"] for p in invoice_calls)
    assert ws.conn.execute("SELECT product FROM orders WHERE order_id = ?", (ch["id"],)).fetchone()[0] == "Workshop"


def test_a_refund_that_fails_or_is_canceled_later_stops_being_subtracted(ws, options):
    fake = FakeStripe()
    cus = fake.customer("back@example.com")
    ch = fake.charge(10000, customer=cus["id"])
    first = fake.refund(ch, 2500, status="pending")
    second = fake.refund(ch, 1000, status="requires_action")
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "back@example.com") == {"usd": 7500}  # pending counts, requires_action not yet
    fake.update("refunds", first, status="failed")
    fake.update("refunds", second, status="succeeded")
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert revenue(ws, "back@example.com") == {"usd": 9000}
    fake.update("refunds", second, status="canceled")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "back@example.com") == {"usd": 10000}


def test_a_lost_dispute_reduces_revenue_and_a_won_one_does_not(ws, options):
    fake = FakeStripe()
    cus = fake.customer("fight@example.com")
    lost, won = fake.charge(5000, customer=cus["id"]), fake.charge(3000, customer=cus["id"])
    d_lost, d_won = fake.dispute(lost), fake.dispute(won)
    add(ws, "stripe")
    run_sync(ws, options=options(stripe=fake.transport()))
    assert revenue(ws, "fight@example.com") == {"usd": 8000}  # open disputes: not decided yet
    fake.update("disputes", d_lost, status="lost")
    fake.update("disputes", d_won, status="won")
    assert run_sync(ws, options=options(stripe=fake.transport())).ok
    assert revenue(ws, "fight@example.com") == {"usd": 3000}


def test_restricted_key_without_a_permission_names_the_permission(ws, options):
    fake = shop(3)
    fake.granted["rk_test_reader"] = set(PERMISSIONS.values()) - {"rak_dispute_read"}
    add(ws, "stripe", secret="rk_test_reader")
    report = run_sync(ws, options=options(stripe=fake.transport()))
    assert report.sources[0].status == "failed"
    assert report.sources[0].reason == ("Stripe: the restricted key lacks the permission rak_dispute_read "
                                        "(needed to read /v1/disputes)")
