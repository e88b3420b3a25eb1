"""Writing what connectors fetch: contacts, outside keys, tags, orders, refunds, subscriptions.

Every writer is an upsert keyed by the source's own id and returns how many
rows it actually inserted or changed (an unchanged re-fetch, e.g. the overlap
of an incremental sync, changes nothing and counts nothing), so a sync
reports what it touched.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..core.identity.identifiers import normalise_email
from ..core.tags import add_tags
from ..core.timeutil import format_ts, normalise_ts

# A CRM is the authority on names; a payment processor only fills gaps.
CONTACT_SQL = """
INSERT INTO contacts(email, first_name, last_name, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT(email) DO UPDATE SET
    first_name = {first},
    last_name = {last},
    created_at = CASE WHEN contacts.created_at IS NULL
                        OR (excluded.created_at IS NOT NULL AND excluded.created_at < contacts.created_at)
                      THEN excluded.created_at ELSE contacts.created_at END
WHERE {first} IS NOT contacts.first_name OR {last} IS NOT contacts.last_name
   OR (excluded.created_at IS NOT NULL
       AND (contacts.created_at IS NULL OR excluded.created_at < contacts.created_at))
"""
CONTACT_CRM = CONTACT_SQL.format(first="coalesce(excluded.first_name, contacts.first_name)",
                                 last="coalesce(excluded.last_name, contacts.last_name)")
CONTACT_FILL = CONTACT_SQL.format(first="coalesce(contacts.first_name, excluded.first_name)",
                                  last="coalesce(contacts.last_name, excluded.last_name)")

KEY_SQL = """
INSERT INTO contact_keys(key, kind, email, origin, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT(key, origin) DO UPDATE SET email = coalesce(excluded.email, contact_keys.email),
    updated_at = excluded.updated_at
WHERE coalesce(excluded.email, contact_keys.email) IS NOT contact_keys.email
"""
ORDER_SQL = """
INSERT INTO orders(origin, order_id, email, customer_key, amount, currency, created_at, product, status, dedupe_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(origin, order_id) DO UPDATE SET
    email = excluded.email, customer_key = excluded.customer_key, amount = excluded.amount,
    currency = excluded.currency, created_at = excluded.created_at,
    product = coalesce(orders.product, excluded.product), status = excluded.status,
    dedupe_key = coalesce(excluded.dedupe_key, orders.dedupe_key)
WHERE excluded.email IS NOT orders.email OR excluded.customer_key IS NOT orders.customer_key
   OR excluded.amount IS NOT orders.amount OR excluded.currency IS NOT orders.currency
   OR excluded.created_at IS NOT orders.created_at OR excluded.status IS NOT orders.status
   OR (orders.product IS NULL AND excluded.product IS NOT NULL)
   OR (excluded.dedupe_key IS NOT NULL AND excluded.dedupe_key IS NOT orders.dedupe_key)
"""
REFUND_SQL = """
INSERT INTO refunds(origin, refund_id, order_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(origin, refund_id) DO UPDATE SET order_id = excluded.order_id, amount = excluded.amount,
    currency = excluded.currency, created_at = excluded.created_at
WHERE excluded.amount IS NOT refunds.amount OR excluded.order_id IS NOT refunds.order_id
   OR excluded.currency IS NOT refunds.currency OR excluded.created_at IS NOT refunds.created_at
"""
SUBSCRIPTION_COLUMNS = ("origin", "subscription_id", "email", "customer_key", "status", "plan", "amount",
                        "currency", "interval", "started_at", "canceled_at")
SUBSCRIPTION_SQL = (
    f"INSERT INTO subscriptions({', '.join(SUBSCRIPTION_COLUMNS)}) VALUES ({', '.join('?' * 11)}) "
    "ON CONFLICT(origin, subscription_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SUBSCRIPTION_COLUMNS[2:])
    + " WHERE " + " OR ".join(f"excluded.{c} IS NOT subscriptions.{c}" for c in SUBSCRIPTION_COLUMNS[2:])
)


def _many(conn, sql: str, rows) -> int:
    """Rows really inserted or changed (an upsert whose WHERE kept the row adds 0; triggers add nothing)."""
    return max(conn.executemany(sql, rows).rowcount, 0)


def contacts(conn, rows, *, authoritative: bool = True) -> int:
    """rows: (email, first_name, last_name, created_at); emails already normalised."""
    return _many(conn, CONTACT_CRM if authoritative else CONTACT_FILL, rows)


def keys(conn, rows) -> int:
    """rows: (key, kind, email, origin, updated_at)."""
    return _many(conn, KEY_SQL, rows)


def tags(conn, rows) -> int:
    """rows: (identifier, tag, origin, added_at); a tag already known (any case) keeps its first date."""
    return len(add_tags(conn, rows))


def drop_tags(conn, origin: str, tag: str, keep: set[str]) -> int:
    """A source's ``tag`` removed from every identifier not in ``keep`` (the tag's whole current list)."""
    held = [i for (i,) in conn.execute("SELECT identifier FROM tags WHERE origin = ? AND tag = ?", (origin, tag))]
    return _many(conn, "DELETE FROM tags WHERE origin = ? AND tag = ? AND identifier = ?",
                 [(origin, tag, i) for i in held if i not in keep])


def keep_only_tags(conn, origin: str, names: set[str]) -> int:
    """A source's tags whose name is no longer among the account's ``names`` (a deleted tag) are removed,
    compared without case like untag."""
    keep = {n.casefold() for n in names}
    gone = [(origin, t) for (t,) in conn.execute("SELECT DISTINCT tag FROM tags WHERE origin = ?", (origin,))
            if t.casefold() not in keep]
    return _many(conn, "DELETE FROM tags WHERE origin = ? AND tag = ?", gone)


def untag(conn, origin: str, held: dict[str, set[str]]) -> int:
    """A source's tags on each identifier in ``held`` that are not in its set now (compared without case,
    the rule core/tags.py stores tags by) are removed."""
    drop = []
    for identifier, keep in held.items():
        keep_lower = {t.casefold() for t in keep}
        drop += [(origin, identifier, tag) for (tag,) in conn.execute(
            "SELECT tag FROM tags WHERE origin = ? AND identifier = ?", (origin, identifier))
            if tag.casefold() not in keep_lower]
    return _many(conn, "DELETE FROM tags WHERE origin = ? AND identifier = ? AND tag = ?", drop)


def untag_one(conn, origin: str, identifier: str, tag: str) -> int:
    """One tag taken off one identifier (a vendor's "tag removed" notice), compared without case like untag."""
    held = {t for (t,) in conn.execute("SELECT tag FROM tags WHERE origin = ? AND identifier = ?", (origin, identifier))
            if t.casefold() != tag.casefold()}
    return untag(conn, origin, {identifier: held})


def orders(conn, rows) -> int:
    """rows: (origin, order_id, email, customer_key, amount, currency, created_at, product, status, dedupe_key)."""
    return _many(conn, ORDER_SQL, rows)


def refunds(conn, rows) -> int:
    """rows: (origin, refund_id, order_id, amount, currency, created_at)."""
    return _many(conn, REFUND_SQL, rows)


def drop_refunds(conn, origin: str, refund_ids) -> int:
    """Refunds that no longer return money (failed, canceled, a dispute won) are removed."""
    return _many(conn, "DELETE FROM refunds WHERE origin = ? AND refund_id = ?", [(origin, r) for r in refund_ids])


def subscriptions(conn, rows) -> int:
    return _many(conn, SUBSCRIPTION_SQL, rows)


def epoch_ts(seconds) -> str | None:
    """Stripe's Unix seconds as the workspace's timestamp text."""
    if seconds is None:
        return None
    return format_ts(datetime.fromtimestamp(int(seconds), timezone.utc))


def iso_ts(value) -> str | None:
    """A vendor's ISO 8601 text (any offset) as the workspace's timestamp text; None when unusable."""
    if not value or not isinstance(value, str):
        return None
    try:
        return normalise_ts(value)
    except (ValueError, OverflowError):
        return None


def email_of(*candidates) -> str | None:
    """The first candidate that is an email address, normalised (trimmed, lower-cased)."""
    for value in candidates:
        email = normalise_email(value)
        if email:
            return email
    return None


def split_name(name) -> tuple[str | None, str | None]:
    if not isinstance(name, str) or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, (last.strip() or None)
