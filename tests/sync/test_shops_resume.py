"""A shop sync that dies between pages resumes where it stopped: the same rows as one uninterrupted sync."""

from __future__ import annotations

import pytest

from segdesk.core.store import open_workspace
from segdesk.sync.connectors import shopify, woocommerce
from segdesk.sync.engine import run_sync

from .fakes import Killed
from .fakes_shops import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, FakeShopify, FakeWoo
from .helpers import add, dump

FB = {"firstVisit": {"occurredAt": "2023-11-14T20:00:00Z", "landingPage": "https://demo.example/",
                     "referrerUrl": None, "utmParameters": {"source": "facebook", "medium": "cpc"}}, "lastVisit": None}


def shopify_shop() -> FakeShopify:
    fake = FakeShopify()
    for i in range(7):
        o = fake.order(f"b{i}@x.com", f"{10 + i}.00", journey=FB if i % 2 else None)
        if i % 3 == 0:
            fake.refund(o, "1.00")
    return fake


def woo_shop() -> FakeWoo:
    fake = FakeWoo()
    for i in range(7):
        o = fake.order(f"b{i}@x.com", f"{10 + i}.00", attribution={"utm_source": "news", "utm_medium": "email"})
        if i % 3 == 0:
            fake.refund(o, "1.00")
    return fake


CASES = {
    "shopify": (shopify, shopify_shop, {"secret": SHOPIFY_TOKEN, "shop": "demo.myshopify.com"}),
    "woocommerce": (woocommerce, woo_shop, {"secret": woocommerce.secret_of(WOO_KEY, WOO_SECRET),
                                            "base_url": "https://shop.example"}),
}


@pytest.mark.parametrize("kind", CASES)
def test_a_sync_killed_between_pages_resumes_without_loss_or_duplicates(tmp_path, options, monkeypatch, kind):
    module, build, config = CASES[kind]
    monkeypatch.setattr(module, "PAGE", 2)
    with open_workspace(tmp_path / "whole") as whole, open_workspace(tmp_path / "broken") as broken:
        for w in (whole, broken):
            add(w, kind, **config)
        assert run_sync(whole, options=options(**{kind: build().transport()})).ok
        fake = build()
        for n in (2, 1):  # die after the 2nd request, then after one more
            fake.kill_after, fake.served = n, 0
            with pytest.raises(Killed):
                run_sync(broken, options=options(**{kind: fake.transport()}))
        fake.kill_after = None
        assert run_sync(broken, options=options(**{kind: fake.transport()})).ok
        assert dump(broken) == dump(whole)
        assert broken.conn.execute("SELECT count(*) FROM orders").fetchone() == (7,)
