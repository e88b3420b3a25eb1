"""Each device's type and country, what the device and country filters select by.

Both come from the device's latest page view (a browser's, with its user agent),
else its latest event: one JSON parse per device. Parsing 83,000 raw events per
filtered report cost ~3 s at 1M events, so ``report_device_facts`` (migration
0019) keeps the answer. The refresh after a sync re-reads only the devices
with events past ``report_devices_state.upto``; deleting events (an erase)
marks the whole table stale. Readers use it only when it is up to date with
the events table, else they parse live as before.
"""

from __future__ import annotations

from ..importing.event_rows import stored_event
from ..traffic.useragent import device_type

# Each device's latest page view, else its latest event; {where} narrows devices.
LATEST = ("SELECT e.anonymous_id, event_json(e.raw, e.message_id, e.anonymous_id, e.ts) FROM events e JOIN (SELECT coalesce(max(id) FILTER (WHERE type IN "
          "('page', 'screen')), max(id)) AS id FROM events WHERE anonymous_id IS NOT NULL {where} GROUP BY anonymous_id) "
          "m ON m.id = e.id")
STALE = ("SELECT (SELECT dirty FROM report_devices_state) OR "
         "coalesce((SELECT max(id) FROM events), 0) > (SELECT upto FROM report_devices_state)")


def _facts(raw) -> tuple[str | None, str | None]:
    context = stored_event(raw).get("context")
    context = context if isinstance(context, dict) else {}
    agent = context.get("userAgent") if isinstance(context.get("userAgent"), str) else None
    location = context.get("location") if isinstance(context.get("location"), dict) else {}
    country = location.get("country") if isinstance(location.get("country"), str) else None
    return device_type(agent), (country or "").strip() or None


def fresh(conn) -> bool:
    """Whether ``report_device_facts`` is up to date with the events."""
    return not conn.execute(STALE).fetchone()[0]


def device_facts(conn) -> dict[str, tuple[str | None, str | None]]:
    """anonymous_id -> (device type, country) from each device's latest event."""
    if fresh(conn):
        return {aid: (kind, country) for aid, kind, country in
                conn.execute("SELECT anonymous_id, kind, country FROM report_device_facts")}
    return {aid: _facts(raw) for aid, raw in conn.execute(LATEST.format(where=""))}


def refresh_device_facts(conn) -> int:
    """Bring the cache up to the newest event; returns the devices re-read (-1: all of them)."""
    dirty, upto = conn.execute("SELECT dirty, upto FROM report_devices_state").fetchone()
    newest = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    if dirty:
        conn.execute("DELETE FROM report_device_facts")
        rows = conn.execute(LATEST.format(where=""))
        n = -1
    elif newest > upto:
        # NOT INDEXED: the rowid range of the new events, not a scan of the device index for them.
        where = "AND anonymous_id IN (SELECT anonymous_id FROM events NOT INDEXED WHERE id > :upto)"
        rows = conn.execute(LATEST.format(where=where), {"upto": upto}).fetchall()
        n = len(rows)
    else:
        return 0
    conn.executemany("INSERT OR REPLACE INTO report_device_facts(anonymous_id, kind, country) VALUES (?, ?, ?)",
                     [(aid, *_facts(raw)) for aid, raw in rows])
    conn.execute("UPDATE report_devices_state SET dirty = 0, upto = ?", (newest,))
    return n
