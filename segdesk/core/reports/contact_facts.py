"""Each canonical contact's anchor and first touch, cached in the shape LTV, ROAS and campaigns group by.

A cohort is every canonical contact with its anchor (first touch, else
first_seen: ``cohort.py``) and the first touch's source, medium, campaign and
its session's utm_content / utm_term (the ad group a spend line may name).
Joining 50,000 contacts to ``report_first_touch`` and converting each anchor to
milliseconds cost ~35 ms per build at 1M events; ``report_contact_facts``
(migration 0023) keeps the answer, one row per canonical contact.

Never stale: triggers list in ``report_facts_dirty`` every contact inserted,
deleted, merged or given another first_seen, and every contact whose
``report_first_touch`` row is written; :func:`facts_source` hands readers the
live join while anything is listed (or touches themselves are dirty), and
:func:`refresh_contact_facts`, run with the other report caches, rewrites the
listed contacts (all of them after a rebuild of the touches).
"""

from __future__ import annotations

from .contact_value import ANCHOR, MS
from .touches import first_touch_sql

COLUMNS = "id, anchor, a_ms, touched, source, medium, campaign, content, term"
# {ft}: the first touches (touches.first_touch_sql or the cache); {where} narrows contacts.
LIVE_FACTS = f"""
SELECT c.id AS id, {ANCHOR} AS anchor, {MS.format(t=ANCHOR)} AS a_ms, ft.contact_id IS NOT NULL AS touched,
       ft.source AS source, ft.medium AS medium, ft.campaign AS campaign, fs.content AS content, fs.term AS term
FROM contacts c LEFT JOIN ({{ft}}) ft ON ft.contact_id = c.id LEFT JOIN sessions fs ON fs.id = ft.session_id
WHERE c.canonical_id = c.id {{where}}
"""
FRESH = ("SELECT (SELECT dirty FROM report_facts_state) = 0 AND NOT EXISTS (SELECT 1 FROM report_facts_dirty) "
         "AND NOT EXISTS (SELECT 1 FROM first_touch_dirty)")


def facts_source(conn) -> str:
    """``report_contact_facts`` when it is up to date, else a subquery computing the same rows."""
    if conn.execute(FRESH).fetchone()[0] == 1:
        return "report_contact_facts"
    return f"({LIVE_FACTS.format(ft=first_touch_sql(conn), where='')})"


def refresh_contact_facts(conn) -> int:
    """Rewrite the listed contacts (-1: the whole table); needs clean touches (the refresh runs it after them)."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM first_touch_dirty)").fetchone()[0]:
        return 0  # touches not yet recomputed: readers stay live, the next refresh catches up
    live = LIVE_FACTS.format(ft="SELECT contact_id, start_ts, session_id, source, medium, campaign "
                                "FROM report_first_touch", where="{where}")
    dirty = "(SELECT contact_id FROM report_facts_dirty)"
    n = conn.execute("SELECT count(*) FROM report_facts_dirty").fetchone()[0]
    whole = conn.execute("SELECT dirty FROM report_facts_state").fetchone()[0]
    # A rebuild of the touches lists everyone: one pass beats 50,000 lookups.
    if whole or n > conn.execute("SELECT count(*) FROM report_contact_facts").fetchone()[0] // 4:
        conn.execute("DELETE FROM report_contact_facts")
        conn.execute(f"INSERT INTO report_contact_facts ({COLUMNS}) " + live.format(where=""))
        n = -1
    elif n:
        conn.execute(f"DELETE FROM report_contact_facts WHERE id IN {dirty}")
        conn.execute(f"INSERT INTO report_contact_facts ({COLUMNS}) " + live.format(where=f"AND c.id IN {dirty}"))
    conn.execute("DELETE FROM report_facts_dirty")
    conn.execute("UPDATE report_facts_state SET dirty = 0 WHERE dirty = 1")
    return n
