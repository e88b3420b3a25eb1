"""Tags compare without case: "vip" and "VIP" are one tag, spelled as the workspace first saw it.

Every write of a tag (CSV import, CRM sync) goes through :func:`add_tags`,
which maps a tag to the spelling already stored for it (``str.casefold``, so
"STRASSE" and "straße" are one tag too) before inserting, so the tag report,
the contacts list and the journey need no case rules of their own. Migration
0008 rewrote the tags stored before this rule the same way.
"""

from __future__ import annotations

INSERT_SQL = "INSERT OR IGNORE INTO tags(identifier, tag, origin, added_at) VALUES (?, ?, ?, ?)"


def spellings(conn) -> dict[str, str]:
    """casefolded tag -> the spelling seen first (the lowest rowid)."""
    out: dict[str, str] = {}
    for (tag,) in conn.execute("SELECT tag FROM tags GROUP BY tag ORDER BY min(rowid)"):
        out.setdefault(tag.casefold(), tag)
    return out


def add_tags(conn, rows) -> list:
    """rows: (identifier, tag, origin, added_at). Returns the identifier of each tag really added.

    A tag already on the identifier (any case) keeps its first date.
    """
    known = spellings(conn)
    gained = []
    for identifier, tag, origin, added_at in rows:
        tag = known.setdefault(tag.casefold(), tag)
        if conn.execute(INSERT_SQL, (identifier, tag, origin, added_at)).rowcount > 0:
            gained.append(identifier)
    return gained


def unify_stored(conn) -> None:
    """Rewrite stored tags to their first-seen spelling, dropping what then repeats (migration 0008)."""
    known: dict[str, str] = {}
    for rowid, tag in conn.execute("SELECT rowid, tag FROM tags ORDER BY rowid").fetchall():
        first = known.setdefault(tag.casefold(), tag)
        if first != tag:
            # The same tag on the same identifier and origin in the first spelling: this row repeats it.
            conn.execute("UPDATE OR IGNORE tags SET tag = ? WHERE rowid = ?", (first, rowid))
            conn.execute("DELETE FROM tags WHERE rowid = ? AND tag = ?", (rowid, tag))
