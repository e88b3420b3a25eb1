"""Drip, Ontraport and HighLevel killed mid-sync and resumed store exactly what one whole sync stores."""

from __future__ import annotations

from segdesk.sync.connectors import drip, highlevel, ontraport

from .fakes_drip import ACCOUNT, TOKEN as DRIP_TOKEN, FakeDrip
from .fakes_highlevel import LOCATION, TOKEN as HL_TOKEN, FakeHighLevel
from .fakes_ontraport import APP_ID, KEY, FakeOntraport
from .helpers import killed_then_resumed_equals_whole

UTM = {"url": "https://shop.example.com/", "utmSource": "facebook", "utmMedium": "cpc", "campaign": "spring"}


def test_drip_killed_mid_sync_then_resumed_loses_and_repeats_nothing(tmp_path, options, monkeypatch):
    monkeypatch.setattr(drip, "PAGE", 2)

    def make():
        fake = FakeDrip()
        for i in range(7):
            fake.subscriber(f"p{i}@example.com", f"P{i}", tags=("a",) if i % 2 else ("b", "c"))
        return fake
    killed_then_resumed_equals_whole(tmp_path, options, "drip", make, DRIP_TOKEN, account_id=ACCOUNT)


def test_ontraport_killed_mid_sync_then_resumed_loses_and_repeats_nothing(tmp_path, options, monkeypatch):
    monkeypatch.setattr(ontraport, "PAGE", 2)

    def make():
        fake = FakeOntraport()
        people = [fake.contact(f"p{i}@example.com", f"P{i}", tags=("a",) if i % 2 else ("b",)) for i in range(5)]
        for i, p in enumerate(people):
            fake.transaction(p, f"{10 + i}.00", status=2 if i == 3 else 1)
        return fake
    killed_then_resumed_equals_whole(tmp_path, options, "ontraport", make, KEY, app_id=APP_ID)


def test_highlevel_killed_mid_sync_then_resumed_loses_and_repeats_nothing(tmp_path, options, monkeypatch):
    monkeypatch.setattr(highlevel, "PAGE", 2)

    def make():
        fake = FakeHighLevel()
        people = [fake.contact(f"p{i}@example.com", f"P{i}", tags=("a",), first_touch=UTM) for i in range(5)]
        for i, p in enumerate(people):
            fake.opportunity(p, 100.0 + i)
        return fake
    killed_then_resumed_equals_whole(tmp_path, options, "highlevel", make, HL_TOKEN, location_id=LOCATION,
                                      opportunities_as_orders=True)
