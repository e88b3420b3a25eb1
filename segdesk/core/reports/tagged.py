"""Each canonical contact's tags, the key of LTV by tag and the tag filter.

A tag is stored against an identifier (an email, a CRM id); the contact is the
one its identity node resolves to. ``report_contact_tags`` (migration 0019)
caches that join: triggers on ``tags`` and on tagged ``identity_nodes`` mark it
dirty, readers then take the live join, and :func:`refresh_contact_tags`
(run with the other report caches after a refresh) rebuilds it. Resolving
65,000 tags per report cost ~90 ms at 50,000 contacts; reading the cache, a few.
"""

from __future__ import annotations

# CROSS JOIN keeps SQLite reading tags first and looking nodes up by key: the planner's own
# order walked all 107,000 nodes by contact (150 ms against 90 at 65,000 tags).
LIVE_TAGS = ("SELECT DISTINCT n.contact_id AS contact_id, t.tag AS tag FROM tags t CROSS JOIN identity_nodes n "
             "ON n.node = t.identifier WHERE n.contact_id IS NOT NULL")


def tags_source(conn) -> str:
    """A table or subquery of distinct (contact_id, tag)."""
    if conn.execute("SELECT dirty FROM report_tags_state").fetchone()[0]:
        return f"({LIVE_TAGS})"
    return "report_contact_tags"


def refresh_contact_tags(conn) -> bool:
    """Rebuild the cache if a tag or a tagged identifier changed; True when it did."""
    if not conn.execute("SELECT dirty FROM report_tags_state").fetchone()[0]:
        return False
    conn.execute("DELETE FROM report_contact_tags")
    conn.execute(f"INSERT INTO report_contact_tags (contact_id, tag) {LIVE_TAGS}")
    conn.execute("UPDATE report_tags_state SET dirty = 0")
    return True
