"""Migration 0022: counted orders summed per currency and UTC hour, for the summary, its comparisons and the trend."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0022_order_hours")
def m0022_order_hours(db):
    """``report_order_hours``: per ``target`` ('' the original currencies, else the reporting currency the
    orders were converted into), currency and UTC hour (``YYYY-MM-DDTHH``): orders, net and refunded.

    The summary's period figures and the dashboard's trend grouped every counted order by month or
    hour on every build (~55-140 ms at 80,000 orders, once more per compared period); a year of
    hours is ~9,000 rows whatever the number of orders (``reports/order_hours.py``).
    ``report_hours_state``: ``dirty`` for the originals, ``fx_dirty`` for the converted rows and
    ``fx_currency`` the currency they hold. 1 = stale (readers go live, the refresh rebuilds),
    0 = fresh, 2 = not usable until the orders change (an order time not in the canonical form).
    Counted orders going stale mark both; any rate written or removed marks the converted rows;
    a new reporting currency needs no mark (the rows say which currency they hold).
    """
    db.executescript(
        """
        CREATE TABLE report_order_hours (
            target TEXT NOT NULL,
            hour TEXT NOT NULL,
            currency TEXT NOT NULL,
            orders INTEGER NOT NULL,
            net INTEGER NOT NULL,
            refunded INTEGER NOT NULL,
            PRIMARY KEY (target, hour, currency)
        ) WITHOUT ROWID;
        CREATE TABLE report_hours_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL,
                                         fx_dirty INTEGER NOT NULL, fx_currency TEXT);
        INSERT INTO report_hours_state(id, dirty, fx_dirty, fx_currency) VALUES (1, 1, 1, NULL);
        CREATE TRIGGER report_orders_state_order_hours AFTER UPDATE OF dirty ON report_orders_state
        WHEN NEW.dirty = 1 BEGIN UPDATE report_hours_state SET dirty = 1, fx_dirty = 1; END;
        """
    )
    for op in ("INSERT", "DELETE", "UPDATE"):
        db.execute(f"CREATE TRIGGER fx_rates_{op.lower()}_order_hours AFTER {op} ON fx_rates "
                   "BEGIN UPDATE report_hours_state SET fx_dirty = 1 WHERE fx_dirty <> 1; END")
