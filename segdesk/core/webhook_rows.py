"""The raw webhook deliveries kept in the workspace (migration 0014), as privacy sees them.

A delivery's body names its buyer (email, address), so erasing a person
deletes every kept delivery whose body carries one of their emails, as it
appears in JSON or %-encoded in a form (ThriveCart).
"""

from __future__ import annotations

from urllib.parse import quote


def erase_webhooks(conn, emails) -> int:
    spellings = sorted({s for e in emails for s in (e.lower(), quote(e.lower(), safe="").lower())})
    return sum(conn.execute("DELETE FROM webhooks WHERE instr(lower(CAST(body AS TEXT)), ?) > 0",
                            (s,)).rowcount for s in spellings)
