"""Migration 0020: converted figures from caches (issue 20): counted orders and per-contact revenue in the
reporting currency, and the currencies and days of the counted orders."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0020_converted_caches")
def m0020_converted_caches(db):
    """``report_orders_fx`` and ``report_contact_value_fx``: ``report_orders`` and ``report_contact_value``
    converted into ``report_fx_state.currency`` (``reports/converted.py``, ``reports/contact_value.py``).

    Converting every counted order at its day's rate took ~100-140 ms per statement at 1M events,
    in every figure the app shows (all in the reporting currency). ``report_fx_state.dirty`` says both
    are stale: the counted orders or the per-contact figures went stale, or any rate was added,
    changed or removed (ECB or manual: ``fx_rates`` is all a conversion reads). A change of
    reporting currency needs no mark: the tables say which currency they hold, readers use them
    only for that one, and the refresh rebuilds them for the new one.

    ``report_order_days``: the distinct (currency, UTC day) of ``report_orders``, rebuilt with it
    (so valid whenever it is clean): a converted build looks up each day's rate once and records
    it in the report's rate notes, and this spares it a scan of every order.
    """
    # The very shapes of the tables they convert, so every reader takes either alike.
    for table in ("report_orders", "report_contact_value"):
        sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        db.execute(sql.replace(f"CREATE TABLE {table} ", f"CREATE TABLE {table}_fx ", 1))
    db.executescript(
        """
        CREATE INDEX report_orders_fx_contact ON report_orders_fx(contact_id, created_at);
        CREATE TABLE report_fx_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL, currency TEXT);
        INSERT INTO report_fx_state(id, dirty, currency) VALUES (1, 1, NULL);
        CREATE TABLE report_order_days (currency TEXT NOT NULL, day TEXT NOT NULL,
                                        PRIMARY KEY (currency, day)) WITHOUT ROWID;
        INSERT INTO report_order_days(currency, day)
        SELECT DISTINCT currency, substr(created_at, 1, 10) FROM report_orders
        WHERE created_at <> '' AND (SELECT dirty FROM report_orders_state) = 0;

        CREATE TRIGGER report_orders_state_report_fx AFTER UPDATE OF dirty ON report_orders_state
        WHEN NEW.dirty = 1 BEGIN UPDATE report_fx_state SET dirty = 1 WHERE dirty = 0; END;
        CREATE TRIGGER report_value_state_report_fx AFTER UPDATE OF dirty ON report_value_state
        WHEN NEW.dirty = 1 BEGIN UPDATE report_fx_state SET dirty = 1 WHERE dirty = 0; END;
        """
    )
    for op in ("INSERT", "DELETE", "UPDATE"):
        db.execute(f"CREATE TRIGGER fx_rates_{op.lower()}_report_fx AFTER {op} ON fx_rates "
                   "BEGIN UPDATE report_fx_state SET dirty = 1 WHERE dirty = 0; END")
