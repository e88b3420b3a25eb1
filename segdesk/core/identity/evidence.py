"""What one stored event says about identity: shared by the full gather and the component one.

Both stitches read an identify or alias row through :func:`add_identity_row` and a
userId on other events through the same two queries' shapes, so the component
stitch (``component.py``) sees exactly the evidence the full one would.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import intern

import orjson

from .identifiers import contact_key_node, customer_node, email_node, user_node
from .resolve import DeviceLink, Evidence

KEY_NODE = {"crm": contact_key_node, "customer": customer_node, "user": user_node}

# An identify or alias row, in this column order.
IDENTITY_COLUMNS = "id, message_text(message_id), type, anonymous_id, user_id, ts, email, contact_key, method"
IDENTITY_TYPES = "('identify', 'alias')"


def key_node(key: str, kind: str) -> str:
    return KEY_NODE.get(kind, contact_key_node)(key)


def alias_previous(conn, event_id: int) -> str | None:
    """An alias event's previousId (kept in the raw event only)."""
    raw = conn.execute("SELECT event_json(raw, message_id, anonymous_id, ts) FROM events WHERE id = ?", (event_id,)).fetchone()[0]
    previous = orjson.loads(raw).get("previousId")
    if isinstance(previous, (str, int)) and str(previous).strip():
        return str(previous).strip()
    return None


def _link(ev: Evidence, link: DeviceLink) -> None:
    if ev.links is not None:
        ev.links.append(link)
    else:
        ev.nodes.add(link.node)  # (links not wanted: its node is evidence all the same)


def add_identity_row(ev: Evidence, row: tuple, previous_of: Callable[[int], str | None]) -> None:
    """One identify or alias row (``IDENTITY_COLUMNS``) into the evidence: its identifiers,
    the pairs it joins, its device link and its email's first sign."""
    eid, mid, etype, aid, uid, ts, email, ckey, method = row
    # A handful of methods, each a new string from SQLite on every row: one shared copy instead
    # (about 50 of the 500 bytes each link of the full stitch's evidence costs).
    method = intern(method) if method else "manual"
    first = ev.first_seen
    if email and not ckey and (not uid or uid == email) and etype == "identify":
        # The common case (a form or link opt-in): one email, one device.
        node = "email:" + email
        if ts < first.get(node, "~"):
            first[node] = ts
        ev.nodes.add(node)
        if aid and ev.links is not None:
            ev.links.append(DeviceLink(aid, node, ts, method, eid, mid))
        return
    ids = []
    if email:
        ids.append(email_node(email))
        if ts and ts < first.get(ids[-1], "~"):
            first[ids[-1]] = ts
    if ckey:
        ids.append(contact_key_node(ckey))
    if uid and uid != email:
        ids.append(user_node(uid))
    if etype == "alias":
        previous = previous_of(eid)
        if previous is not None:
            ids.append(user_node(previous))
            if not aid and uid:
                _link(ev, DeviceLink(previous, user_node(uid), ts, "server", eid, mid))
    for other in ids[1:]:
        ev.same_person.append((ids[0], other))
    if ids and aid:
        _link(ev, DeviceLink(aid, ids[0], ts, method, eid, mid))
    ev.nodes.update(ids)


# A userId on ordinary events ties its device to the user from the first such event.
# (Grouped by user_id first: grouping by anonymous_id led SQLite to walk the device index over every event.)
USER_LINKS_SQL = ("SELECT anonymous_id, user_id, min(ts), min(id), min(message_text(message_id)) FROM events{indexed} "
                  "WHERE {where} AND anonymous_id IS NOT NULL AND type NOT IN ('identify', 'alias') "
                  "GROUP BY user_id, anonymous_id")
# Server-side page views (no anonymousId): the user's pseudo device.
# ({indexed}: the component stitch names the index for its few users; the full gather leaves it to SQLite.)
SERVER_LINKS_SQL = ("SELECT user_id, min(ts), min(id), min(message_text(message_id)) FROM events{indexed} "
                    "WHERE {where} AND anonymous_id IS NULL AND type IN ('page', 'screen') GROUP BY user_id")
