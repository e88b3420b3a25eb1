"""Issue 15 item 7, Keap: orders carry what their items bought, so reports by product see Keap's purchases,
also when the counted copy is the processor's charge."""

from __future__ import annotations

from segdesk.core.reports import build_report
from segdesk.core.reports.filters import facets
from segdesk.core.timeutil import parse_ts
from segdesk.sync.engine import run_sync

from .fakes import FakeStripe
from .fakes_crm import FakeKeap
from .helpers import add, sync_over_loopback

KEY = "KeapAK-token"


def products(ws) -> dict[str, str | None]:
    return dict(ws.conn.execute("SELECT order_id, product FROM orders WHERE origin = 'keap'").fetchall())


def summary(ws, **filters) -> tuple:
    s = build_report(ws.conn, "summary", filters=filters or None).to_json()
    return s["orders"], s["revenue"]


def test_an_orders_products_are_its_product_items_listed(ws, options):
    fake = FakeKeap()
    ann, bob = fake.person("ann@example.com"), fake.person("bob@example.com")
    fake.order(ann, 120.0, items=(("Product", "Course"), ("Shipping", "UPS"), ("Product", "Workbook"),
                                  ("Tax", "VAT"), ("Upsell", "Coaching call")), title="Order from web form")
    fake.order(bob, 30.0, items=(("Product", "Workbook"),), title="Order from web form")
    fake.order(bob, 5.0, items=(("Shipping", "UPS"),), title="Replacement shipping")
    add(ws, "keap", secret=KEY)
    assert sync_over_loopback(ws, fake, options, "keap").ok
    assert products(ws) == {"1000": "Course; Workbook; Coaching call", "1001": "Workbook",
                            "1002": "Replacement shipping"}  # no product item: the order's title
    assert {"Course", "Workbook", "Coaching call"} <= set(facets(ws.conn)["product"])
    assert summary(ws) == (3, {"usd": 15500})
    assert summary(ws, product="workbook") == (2, {"usd": 15000})  # both orders that bought it, whole
    assert summary(ws, product="Course") == (1, {"usd": 12000})


def test_orders_synced_before_products_were_read_get_them(ws, options):
    fake = FakeKeap()
    ann = fake.person("ann@example.com")
    fake.order(ann, 120.0, items=(("Product", "Course"), ("Product", "Workbook")), title="Order from web form")
    add(ws, "keap", secret=KEY)
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    # As an older SegDesk left it: the title as product, a cursor without the products mark.
    with ws.conn:
        ws.conn.execute("UPDATE orders SET product = 'Order from web form'")
        ws.conn.execute("UPDATE sync_state SET cursor = json_remove(cursor, '$.products')")
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    assert products(ws) == {"1000": "Course; Workbook"}


def test_the_counted_stripe_copy_carries_the_keap_product(ws, options):
    keap, stripe = FakeKeap(), FakeStripe()
    order = keap.order(keap.person("ann@example.com"), 97.0, items=(("Product", "Course"),))
    paid = int(parse_ts(order["order_date"]).timestamp()) + 120
    charge = stripe.charge(9700, customer=stripe.customer("ann@example.com")["id"], created=paid)
    charge["description"] = None  # a bare charge: it does not say what was bought
    add(ws, "keap", secret=KEY)
    add(ws, "stripe")
    report = run_sync(ws, options=options(keap=keap.transport(), stripe=stripe.transport()))
    assert report.ok and report.orders_matched == 1
    assert summary(ws) == (1, {"usd": 9700})
    assert summary(ws, product="Course") == (1, {"usd": 9700})  # the Stripe copy counts, as "Course"

