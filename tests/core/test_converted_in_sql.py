"""Converted orders joined to per-day factors in SQL give what converting each order in Python gave:
the same amounts (Python's round, ties to even), the same orders left out for a missing rate, and
the same rate usage in the notes, for every report with ``currency``."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime

import pytest

from segdesk.core import demo
from segdesk.core.fx import set_manual_rates
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, converted
from segdesk.core.reports.campaign_view import campaign_table
from segdesk.core.store import open_workspace


def test_half_even_rounds_as_python_does():
    conn = sqlite3.connect(":memory:")
    rnd = random.Random(4)
    xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999999999, 2.5000000001, 0.0, -0.0, 7, -7, 2.0 ** 52 + 1,
          4503599627370495.5, 6125.0, 0.49999999999999994]
    xs += [rnd.uniform(-1e6, 1e6) for _ in range(2000)] + [rnd.randrange(-10**6, 10**6) / 2 for _ in range(2000)]
    got = conn.execute(f"SELECT {converted.half_even('value')} FROM json_each(?)", (json.dumps(xs),)).fetchall()
    assert [g for (g,) in got] == [round(x) for x in xs]
    assert conn.execute(f"SELECT {converted.half_even('2 * 1.25')}, round(2 * 1.25)").fetchone() == (2, 3.0)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = open_workspace(tmp_path_factory.mktemp("fx") / "ws")
    demo.generate(w, contacts=300, events=15_000, orders_per_contact=2.5, seed=5,
                  now=datetime(2026, 3, 1, tzinfo=UTC))
    refresh_after_import(w)
    days = sorted({d for (d,) in w.conn.execute("SELECT DISTINCT substr(created_at, 1, 10) FROM orders")})
    rnd = random.Random(9)
    # Most days a rate of their own, some none (an earlier day's is taken, or none within a week:
    # those orders are left out), manual rates on odd values so amounts round.
    set_manual_rates(w.conn, [(d, "usd", f"{rnd.uniform(0.9, 1.3):.4f}") for d in days if rnd.random() < 0.7])
    yield w
    w.close()


def _both(ws, monkeypatch, build):
    in_sql = build()
    monkeypatch.setattr(converted, "day_factors", lambda *a: None)  # the order-by-order path
    by_order = build()
    monkeypatch.undo()
    return in_sql, by_order


@pytest.mark.parametrize("currency", ["eur", "usd", "gbp"])
@pytest.mark.parametrize("name,params", [("ltv", {"by": "source"}), ("attribution", {"model": "time_decay"}),
                                         ("summary", {}), ("roas", {"by": "campaign"}), ("campaigns", {}),
                                         ("ltv", {"by": "tag", "since": "2026-01-01", "filters": {"tag": "webinar"}})])
def test_reports_convert_in_sql_as_order_by_order(ws, monkeypatch, currency, name, params):
    def build():
        return json.dumps(build_report(ws.conn, name, currency=currency, **params).to_json(), sort_keys=True)
    in_sql, by_order = _both(ws, monkeypatch, build)
    assert in_sql == by_order
    if currency != "gbp":  # no GBP rate at all: nothing converts, which is also the same
        assert '_converted": {"' in in_sql or '"converted": {' in in_sql


def test_campaign_table_converts_in_sql_as_order_by_order(ws, monkeypatch):
    in_sql, by_order = _both(ws, monkeypatch, lambda: repr(campaign_table(ws.conn, currency="eur")))
    assert in_sql == by_order
