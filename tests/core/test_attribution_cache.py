"""Attribution's cached weights per touch (``reports/shares.py``) give what the live pass gives, to the bit,
and are never read stale: after any write a report is right before the refresh (live) and after it (cached),
and the incremental refresh leaves the very cache a rebuild from nothing would."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from segdesk.core import demo, operations
from segdesk.core.fx import set_manual_rates
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import MODELS, build_report
from segdesk.core.reports.attribution import _shared
from segdesk.core.reports.compare import build_view
from segdesk.core.reports.converted import converting
from segdesk.core.reports.model import parse_range
from segdesk.core.reports.shares import cached_sums, fresh, refresh_shares
from segdesk.core.store import open_workspace


def _workspace(path):
    w = open_workspace(path)
    demo.generate(w, contacts=300, events=15_000, orders_per_contact=2.5, seed=5, now=datetime(2026, 3, 1, tzinfo=UTC))
    refresh_after_import(w)
    # Half the days have a EUR rate: converted figures leave the others out.
    currencies = [c for (c,) in w.conn.execute("SELECT DISTINCT currency FROM orders") if c != "eur"]
    days = [d for (d,) in w.conn.execute("SELECT DISTINCT substr(created_at, 1, 10) FROM orders ORDER BY 1")]
    with w.conn:
        set_manual_rates(w.conn, [(d, c, "1.1") for d in days[::2] for c in currencies])
    return w


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory):
    w = _workspace(tmp_path_factory.mktemp("attribution_cache") / "ws")
    yield w
    w.close()


@pytest.fixture
def ws(tmp_path):
    w = _workspace(tmp_path / "ws")
    yield w
    w.close()


def _json(ws, params) -> str:
    return json.dumps(build_report(ws.conn, "attribution", **params).to_json(), sort_keys=True, default=str)


def _live(ws, params) -> str:
    """The report with the cache marked stale (every model computed from the touches), the mark then undone."""
    ws.conn.execute("SAVEPOINT live")
    ws.conn.execute("UPDATE report_attribution_state SET dirty = 1")
    assert not fresh(ws.conn)
    try:
        return _json(ws, params)
    finally:
        ws.conn.execute("ROLLBACK TO live")
        ws.conn.execute("RELEASE live")


def _cache(ws) -> list:
    """The cache's rows by channel name (channel ids depend on the order channels were first seen)."""
    return ws.conn.execute(
        "SELECT coalesce(c.source || '/' || c.medium || '/' || c.campaign, '-'), t.order_id, t.seq, t.n, t.decay, "
        "t.lnd FROM report_attribution_touches t LEFT JOIN report_attribution_channels c ON c.id = t.channel "
        "ORDER BY t.order_id, t.seq").fetchall() + ws.conn.execute(
        "SELECT * FROM report_attribution_orders ORDER BY id").fetchall()


def _rebuilt(ws) -> list:
    """What a refresh from nothing writes, the workspace then left as it was."""
    ws.conn.execute("SAVEPOINT rebuild")
    try:
        ws.conn.execute("UPDATE report_attribution_state SET dirty = 1")
        assert refresh_shares(ws.conn) == -1
        return _cache(ws)
    finally:
        ws.conn.execute("ROLLBACK TO rebuild")
        ws.conn.execute("RELEASE rebuild")


PARAMS = [{"model": m, "by": by} for m in MODELS for by in ("source", "medium", "campaign", "source_medium")] + [
    {"model": m, "since": "2026-01-01", "until": "2026-02-10", "timezone": "America/New_York"} for m in MODELS] + [
    {"model": m, "currency": "eur"} for m in MODELS] + [
    {"model": "time_decay", "by": "campaign", "filters": {"tag": "webinar"}},
    {"model": "position_based", "filters": {"product": "Pro course"}},
    {"model": "linear", "since": "2026-02", "until": "2026-02", "currency": "eur", "by": "medium"}]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "-".join(str(v) for v in p.values()))
def test_cached_report_equals_the_live_one(shared_ws, params):
    ws = shared_ws
    assert fresh(ws.conn)
    cached = _json(ws, params)
    assert cached == _live(ws, params)
    assert json.loads(cached)["rows"], "the case has attributed orders"


@pytest.mark.parametrize("lookback", [0, 7, 30])
def test_another_lookback_is_computed_live(shared_ws, lookback):
    ws = shared_ws
    rng = parse_range(ws.conn, None, None, None)
    assert cached_sums(ws.conn, rng, ("linear",), lookback) is None
    params = {"model": "time_decay", "lookback_days": lookback}
    assert _json(ws, params) == _live(ws, params)
    assert _json(ws, params) != _json(ws, {"model": "time_decay"})  # the window matters: this can fail


@pytest.mark.parametrize("since,until,currency", [(None, None, None), ("2026-01-15", "2026-02-20", None),
                                                  (None, None, "eur")])
def test_cached_sums_are_the_live_doubles(shared_ws, since, until, currency):
    """Before rounding: per channel, the doubles each model adds up and the counts, not only the cents."""
    ws = shared_ws
    rng = parse_range(ws.conn, since, until, None)
    if currency:
        with converting(ws.conn, currency):
            cached, live = cached_sums(ws.conn, rng, MODELS, 90), _shared(ws.conn, rng, MODELS, 90)
    else:
        cached, live = cached_sums(ws.conn, rng, MODELS, 90), _shared(ws.conn, rng, MODELS, 90)
    assert cached == live
    credit = live["time_decay"][0]
    assert len(credit) > 3 and any(v != int(v) for row in credit.values() for v in row.values())


def test_on_a_sqlite_that_compensates_its_sums_the_cache_still_gives_the_live_doubles(shared_ws, monkeypatch):
    """SQLite 3.43+ adds doubles with compensation (another last bit than Python's one-by-one sum): there
    the cached scan adds them with a Python aggregate instead, and still reads the cache."""
    from segdesk.core.reports import shares

    monkeypatch.setattr(shares, "_plain_sums", lambda version: False)
    ws = shared_ws
    statements = []
    ws.conn.set_trace_callback(statements.append)
    try:
        rng = parse_range(ws.conn, None, None, None)
        cached = cached_sums(ws.conn, rng, MODELS, 90)
    finally:
        ws.conn.set_trace_callback(None)
    assert any("segdesk_fsum(" in s for s in statements)
    assert cached == _shared(ws.conn, rng, MODELS, 90)
    for params in ({"model": "time_decay"}, {"model": "position_based", "by": "campaign"}):
        assert _json(ws, params) == _live(ws, params)


def test_the_cached_scan_needs_no_sorting(shared_ws):
    """Each channel's doubles are added in (order, touch) order only because SQLite groups while it scans
    the touches in key order: a temporary b-tree for the GROUP BY would re-order them."""
    ws = shared_ws
    plans = []
    trace = ws.conn.set_trace_callback(lambda sql: plans.append(sql) if "report_attribution_touches t" in sql else 0)
    try:
        build_report(ws.conn, "attribution", model="linear", filters={"tag": "webinar"})
    finally:
        ws.conn.set_trace_callback(trace)
    assert plans
    params = {"since": None, "until": None, "p40": 0.4, "p20": 0.2, "truth": None, "c0": "usd", "c1": "eur"}
    detail = [row[3] for row in ws.conn.execute("EXPLAIN QUERY PLAN " + plans[0], params)]
    assert detail[0].startswith("SCAN t") and not any("TEMP B-TREE" in d for d in detail), detail


def test_models_side_by_side_read_the_cache_once(shared_ws):
    ws = shared_ws
    scans = []
    ws.conn.set_trace_callback(lambda sql: scans.append(sql) if "report_attribution_touches t" in sql else 0)
    try:
        side = build_view(ws.conn, "attribution", model="all")
    finally:
        ws.conn.set_trace_callback(None)
    assert len(scans) == 1
    for model in MODELS:
        own = build_report(ws.conn, "attribution", model=model)
        assert {r["key"]: r["credit"] for r in own.rows} == {r["key"]: r[model] for r in side.rows if r[model]}


def _some_buyer(ws):
    return ws.conn.execute("SELECT c.email, c.id FROM contacts c JOIN report_orders o ON o.contact_id = c.id "
                           "WHERE c.canonical_id = c.id AND c.email IS NOT NULL ORDER BY c.id LIMIT 1").fetchone()


def test_a_new_order_and_a_refund_are_counted_before_and_after_the_refresh(ws):
    email, cid = _some_buyer(ws)
    # A currency the workspace had no order in (a column of sums of its own), and a fully refunded order.
    import_orders(ws, "order_id,email,amount,currency,created_at,refunded_amount\n"
                      f"cache-1,{email},1234.00,gbp,2026-02-27T10:00:00Z,0\n"
                      f"cache-2,{email},50.00,usd,2026-02-27T11:00:00Z,50.00\n")
    assert not fresh(ws.conn)
    stale = _json(ws, {"model": "time_decay"})
    assert json.loads(stale)["total"]["gbp"] == 123_400
    assert sum(r["credit"].get("gbp", 0) for r in json.loads(stale)["rows"]) + json.loads(stale)["unattributed"]["gbp"] \
        == 123_400
    refresh_after_import(ws)
    assert fresh(ws.conn)
    assert _json(ws, {"model": "time_decay"}) == stale == _live(ws, {"model": "time_decay"})
    assert _cache(ws) == _rebuilt(ws)
    # The fully refunded order has no revenue: it is in neither the report nor the cache.
    assert ws.conn.execute("SELECT count(*) FROM report_attribution_orders a JOIN orders o ON o.id = a.id "
                           "WHERE o.order_id = 'cache-2'").fetchone()[0] == 0


def test_new_visits_recompute_only_that_contacts_orders(ws):
    email, cid = _some_buyer(ws)
    aid = ws.conn.execute("SELECT anonymous_id FROM device_segments WHERE contact_id = ? LIMIT 1", (cid,)).fetchone()[0]
    last = ws.conn.execute("SELECT max(created_at) FROM report_orders WHERE contact_id = ?", (cid,)).fetchone()[0]
    before = _json(ws, {"model": "linear", "by": "campaign"})
    # A visit from a new campaign an hour before the contact's last order: that order gains a touch.
    at = datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() - 3600
    import_events(ws, [{"type": "page", "anonymousId": aid, "messageId": "cache-visit",
                        "timestamp": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
                        "context": {"page": {"url": "https://shop.example.com/?utm_source=cachetest&utm_medium=cpc"
                                                    "&utm_campaign=cache-spring", "referrer": ""}}}], origin="test")
    refresh_after_import(ws)
    assert fresh(ws.conn)
    after = _json(ws, {"model": "linear", "by": "campaign"})
    assert after != before and "cache-spring" in after
    assert after == _live(ws, {"model": "linear", "by": "campaign"})
    assert _cache(ws) == _rebuilt(ws)


def test_merge_unmerge_and_erase_keep_the_cache_true(ws):
    (a, _), (b,) = _some_buyer(ws), ws.conn.execute(
        "SELECT c.email FROM contacts c JOIN report_orders o ON o.contact_id = c.id WHERE c.canonical_id = c.id "
        "AND c.email IS NOT NULL ORDER BY c.id DESC LIMIT 1").fetchone()
    for step in (lambda: operations.merge(ws, a, b), lambda: operations.unmerge(ws, a),
                 lambda: operations.erase(ws, b)):
        step()
        assert fresh(ws.conn)
        assert _json(ws, {"model": "position_based"}) == _live(ws, {"model": "position_based"})
        assert _cache(ws) == _rebuilt(ws)
    assert ws.conn.execute("SELECT count(*) FROM report_attribution_orders a LEFT JOIN report_orders o "
                           "ON o.id = a.id WHERE o.id IS NULL").fetchone()[0] == 0  # the erased orders are gone
