"""What every CRM connector writes: people with their CRM id, and tags on that id."""

from __future__ import annotations

from typing import NamedTuple

from ...core.identity.identifiers import contact_key_node
from ...core.identity.suppression import suppressed_nodes
from ..records import contacts, keys, tags, untag


class Person(NamedTuple):
    key: str  # '<kind>:<id>', e.g. 'ac:123' (core/identity/resolve.py matches a link's bare id to it)
    email: str | None
    first_name: str | None
    last_name: str | None
    created_at: str | None
    updated_at: str | None


def store_people(ctx, conn, people: list[Person]) -> None:
    ctx.add_changed(
        contacts=contacts(conn, [(p.email, p.first_name, p.last_name, p.created_at) for p in people if p.email]),
        contact_ids=keys(conn, [(p.key, "crm", p.email, ctx.origin, p.updated_at) for p in people]),
    )


def store_tags(ctx, conn, rows: list[tuple[str, str, str | None]]) -> None:
    """rows: (crm key, tag name, added_at). Tags hang on the CRM id, so they follow an email change."""
    ctx.add_changed(tags=tags(conn, [(f"cid:{key}", tag, ctx.origin, added) for key, tag, added in rows if tag]))


def replace_tags(ctx, conn, held: dict[str, list[tuple[str, str | None]]]) -> None:
    """held: crm key -> every (tag, added_at) it holds now, for vendors that list a member's whole tag set
    (Mailchimp): tags added are stored, this source's tags no longer held are removed."""
    store_tags(ctx, conn, [(key, tag, added) for key, tags in held.items() for tag, added in tags])
    ctx.add_changed(tags=untag(conn, ctx.origin, {f"cid:{key}": {t for t, _ in tags} for key, tags in held.items()}))


def buyer(conn, origin: str, key: str) -> tuple[str | None, bool]:
    """A deal's buyer by this source's contact ``key``: (the email its contacts were stored with, whether
    the key is an erased person's). An erased person's deal is no order: kept, it would be their purchase
    with the name taken off."""
    row = conn.execute("SELECT email FROM contact_keys WHERE key = ? AND origin = ?", (key, origin)).fetchone()
    if row:
        return row[0], False
    return None, bool(suppressed_nodes(conn, [contact_key_node(key)]))


def drop_orders(conn, origin: str, order_ids: list[str]) -> int:
    """Orders of this source that are no longer purchases (a won deal reopened or lost)."""
    if not order_ids:
        return 0
    return max(conn.executemany("DELETE FROM orders WHERE origin = ? AND order_id = ?",
                                [(origin, o) for o in order_ids]).rowcount, 0)


def forget_orders(ctx, prefix: str):
    """The write that removes every order of this source whose id starts with ``prefix`` (an option turned off)."""
    def write(conn):
        ctx.add_changed(orders=conn.execute("DELETE FROM orders WHERE origin = ? AND order_id LIKE ?",
                                            (ctx.origin, f"{prefix}%")).rowcount)
    return write
