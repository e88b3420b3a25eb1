"""Contacts, orders and ad spend from CSV files (docs/SPEC.md §3).

A file is checked whole before anything is written: a bad row is reported
with its row number (its line in the file; the header is row 1) and column,
and nothing from that file is imported, so a fix and a re-run never leave half
a file behind. Reading is strict (``csv_read``): an open quote, a field over
128 KiB, an amount such as ``1e400`` or ``1_000``, a currency outside ISO 4217
or a date outside 1970..2100 is refused. Rows are keyed (email, order id,
date+source+campaign), so importing the same file again changes nothing and
a corrected file updates in place; the counts say which rows changed (a new
tag or CRM id on a known contact is an update). Lines sharing an order id are
one order's items. The CSV routes (``import orders``, CSV sources) share one
namespace of order ids: an order another CSV route brought is updated in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...errors import InvalidInput
from . import csv_read
from .csv_read import CellError
from ..identity.identifiers import clean_key, email_node, normalise_email
from ..money import MoneyError, normalise_currency, to_minor
from .rejects import Reject
from ..orders import share_order_keys
from ..store import Workspace
from ..tags import add_tags

MAX_ERRORS = 50


class CsvImportError(InvalidInput):
    """A CSV file failed its check: every rejected row is in ``errors``; nothing was imported."""

    def __init__(self, errors: list[Reject]):
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"row {first.line}: {first.reason}{more}; nothing imported")


@dataclass
class CsvResult:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def _rows(text: str, required: tuple[str, ...]):
    """(row number = line number, {column: value}) per line; the header is row 1."""
    lines = csv_read.records(text.lstrip("\ufeff"))
    try:
        _, first = next(lines, (1, []))
    except csv_read.LineError as exc:
        raise CsvImportError([Reject(exc.lineno, f"{exc} (the header)")]) from None
    header = [h.strip().lower() for h in first]
    missing = [c for c in required if c not in header]
    if missing:
        raise CsvImportError([Reject(1, f"missing column(s): {', '.join(missing)}")])
    try:
        for i, fields in lines:
            yield i, {k: v.strip() for k, v in zip(header, fields) if k}
    except csv_read.LineError as exc:
        name = header[exc.index] if exc.index < len(header) and header[exc.index] else f"{exc.index + 1}"
        raise CsvImportError([Reject(exc.lineno, f"{exc} (column {name})")]) from None


def _check(text: str, required: tuple[str, ...], parse):
    parsed, errors = [], []
    for rowno, row in _rows(text, required):
        if not any(row.values()):
            continue
        try:
            parsed.append((rowno, parse(row)))
        except (ValueError, MoneyError) as exc:
            column = getattr(exc, "column", None)
            errors.append(Reject(rowno, f"{exc} (column {column})" if column else str(exc)))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise CsvImportError(errors)
    return parsed


def _cell(column: str, fn, *args):
    """fn(*args), its ValueError naming ``column``."""
    try:
        return fn(*args)
    except CellError:
        raise
    except (ValueError, MoneyError) as exc:
        raise CellError(column, str(exc)) from None


def _email(row) -> str:
    email = normalise_email(row.get("email"))
    if email is None:
        raise CellError("email", f"'{row.get('email', '')}' is not an email address")
    return email


def _changed(conn, before_sql: str, key, rows: list[tuple], sql: str) -> list[str]:
    """Upsert each row; 'inserted', 'updated' or 'unchanged' per row."""
    out = []
    for row in rows:
        old = conn.execute(before_sql, key(row)).fetchone()
        conn.execute(sql, row)
        out.append("inserted" if old is None else
                   "updated" if conn.execute(before_sql, key(row)).fetchone() != old else "unchanged")
    return out


def _count(result: CsvResult, states) -> CsvResult:
    for state in states:
        setattr(result, state, getattr(result, state) + 1)
    return result


def import_contacts(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    def parse(row):
        return (
            _email(row), clean_key(row.get("contact_id")), row.get("first_name") or None,
            row.get("last_name") or None,
            [t.strip() for t in (row.get("tags") or "").split(";") if t.strip()],
            csv_read.timestamp(row["created_at"], "created_at") if row.get("created_at") else None,
        )

    rows = [r for _, r in _check(text, ("email",), parse)]
    conn = ws.conn
    with conn:
        states = _changed(
            conn, "SELECT first_name, last_name, created_at FROM contacts WHERE email = ?", lambda r: (r[0],),
            [(e, fn, ln, created) for e, _, fn, ln, _, created in rows],
            "INSERT INTO contacts(email, first_name, last_name, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(email) DO UPDATE SET first_name = coalesce(excluded.first_name, first_name), "
            "last_name = coalesce(excluded.last_name, last_name), "
            "created_at = coalesce(excluded.created_at, created_at)",
        )
        # A new CRM id or tag on a known contact is a change too: "unchanged" would hide it (issue 23.5).
        keyed = _changed(
            conn, "SELECT email FROM contact_keys WHERE key = ? AND origin = ?", lambda r: (r[0], r[2]),
            [(cid, e, origin) for e, cid, *_ in rows if cid],
            "INSERT INTO contact_keys(key, kind, email, origin) VALUES (?, 'crm', ?, ?) "
            "ON CONFLICT(key, origin) DO UPDATE SET email = excluded.email",
        )
        touched = {e for (e, cid, *_), state in zip([r for r in rows if r[1]], keyed) if state != "unchanged"}
        tagged = set(add_tags(conn, [(email_node(e), tag, origin, created)
                                     for e, _, _, _, tags, created in rows for tag in tags]))
        touched |= {e for e, *_ in rows if email_node(e) in tagged}
    states = ["updated" if state == "unchanged" and r[0] in touched else state for r, state in zip(rows, states)]
    return _count(CsvResult(rows=len(rows)), states)


def _order_line(row):
    order_id = row.get("order_id")
    if not order_id:
        raise CellError("order_id", "order_id is empty")
    currency = _cell("currency", normalise_currency, row.get("currency", ""))
    amount = _cell("amount", to_minor, row.get("amount", ""), currency)
    refunded = _cell("refunded_amount", to_minor, row["refunded_amount"], currency) if row.get("refunded_amount") else 0
    if amount < 0:
        raise CellError("amount", "amounts cannot be negative")
    if refunded < 0:
        raise CellError("refunded_amount", "amounts cannot be negative")
    if refunded > amount:
        raise CellError("refunded_amount", f"refunded_amount {row['refunded_amount']} exceeds amount {row['amount']}")
    created = csv_read.timestamp(row.get("created_at", ""), "created_at")
    return order_id, _email(row), amount, currency, created, row.get("product") or None, refunded


def _one_per_order(lines: list[tuple[int, tuple]]) -> list[tuple]:
    """Lines sharing an order_id are that order's items (a line-item export): amounts and refunds add up,
    products are listed in file order, the order's time is its earliest line's. Lines that disagree on
    email or currency cannot be one order: the file is refused, naming the id."""
    orders: dict[str, list] = {}
    errors = []
    for rowno, (oid, email, amount, cur, created, product, refunded) in lines:
        o = orders.get(oid)
        if o is None:
            orders[oid] = [oid, email, amount, cur, created, [product] if product else [], refunded]
            continue
        if (o[1], o[3]) != (email, cur):
            errors.append(Reject(rowno, f"order_id '{oid}' is repeated with another email or currency (column order_id)"))
            continue
        o[2] += amount
        o[4] = min(o[4], created)
        o[6] += refunded
        if product and product not in o[5]:
            o[5].append(product)
    if errors:
        raise CsvImportError(errors[:MAX_ERRORS])
    return [(oid, e, a, c, t, "; ".join(p) or None, r) for oid, e, a, c, t, p, r in orders.values()]


def _is_csv_route(origin: str) -> bool:
    return origin == "csv" or origin.startswith("csv:")


def _adopt(conn, origin: str, order_ids: list[str]) -> None:
    """An order another CSV route brought (``import orders`` is ``csv``, a CSV source ``csv:NAME``) is
    taken over by this route: one row, updated in place, so the file given twice is never two orders."""
    if not _is_csv_route(origin):
        return
    for oid in order_ids:
        if conn.execute("SELECT 1 FROM orders WHERE origin = ? AND order_id = ?", (origin, oid)).fetchone():
            continue
        row = conn.execute("SELECT origin FROM orders WHERE order_id = ? AND (origin = 'csv' OR origin LIKE 'csv:%') "
                           "ORDER BY id LIMIT 1", (oid,)).fetchone()
        if row:
            conn.execute("UPDATE orders SET origin = ? WHERE origin = ? AND order_id = ?", (origin, row[0], oid))
            conn.execute("UPDATE refunds SET origin = ? WHERE origin = ? AND refund_id = ?",
                         (origin, row[0], f"{oid}#refund"))


def import_orders(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    rows = _one_per_order(_check(text, ("order_id", "email", "amount", "currency", "created_at"), _order_line))
    conn = ws.conn
    with conn:
        _adopt(conn, origin, [r[0] for r in rows])
        states = _changed(
            conn, "SELECT email, amount, currency, created_at, product FROM orders WHERE origin = ? AND order_id = ?",
            lambda r: (r[0], r[1]), [(origin, oid, e, a, c, t, p) for oid, e, a, c, t, p, _ in rows],
            "INSERT INTO orders(origin, order_id, email, amount, currency, created_at, product, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'paid') ON CONFLICT(origin, order_id) DO UPDATE SET "
            "email = excluded.email, amount = excluded.amount, currency = excluded.currency, "
            "created_at = excluded.created_at, product = excluded.product",
        )
        # A CSV carries a refund as a total; it is one refund row per order, replaced on re-import.
        refunds = [(oid, refunded) for oid, *_, refunded in rows]
        before = dict(conn.execute(f"SELECT order_id, amount FROM refunds WHERE origin = ? AND refund_id IN "
                                   f"(SELECT value FROM json_each(?))",
                                   (origin, json.dumps([f"{oid}#refund" for oid, _ in refunds]))).fetchall())
        conn.executemany("DELETE FROM refunds WHERE origin = ? AND refund_id = ?",
                         [(origin, f"{oid}#refund") for oid, _ in refunds])
        conn.executemany(
            "INSERT INTO refunds(origin, refund_id, order_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(origin, f"{oid}#refund", oid, refunded, c, t) for oid, e, a, c, t, p, refunded in rows if refunded],
        )
        # Another route may already have matched this order to its payment: join that group (core/orders.py).
        share_order_keys(conn)
    states = ["updated" if state == "unchanged" and before.get(r[0], 0) != r[6] else state
              for r, state in zip(rows, states)]
    return _count(CsvResult(rows=len(rows)), states)


def import_spend(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    def parse(row):
        day = csv_read.timestamp(row.get("date", ""), "date")[:10]
        source = (row.get("source") or "").strip().lower()
        if not source:
            raise CellError("source", "source is empty")
        currency = _cell("currency", normalise_currency, row.get("currency", ""))
        spend = _cell("spend", to_minor, row.get("spend", ""), currency)
        if spend < 0:
            raise CellError("spend", "spend cannot be negative")
        return day, source, (row.get("medium") or "").lower(), (row.get("campaign") or "").lower(), currency, spend

    parsed = [r for _, r in _check(text, ("date", "source", "spend", "currency"), parse)]
    # Several lines for one day and campaign (ad sets, ads) add up.
    totals: dict[tuple, int] = {}
    for *key, spend in parsed:
        totals[tuple(key)] = totals.get(tuple(key), 0) + spend
    rows = [(*key, spend) for key, spend in totals.items()]
    conn = ws.conn
    with conn:
        states = _changed(
            conn, "SELECT spend FROM ad_spend WHERE date = ? AND source = ? AND medium = ? AND campaign = ? "
            "AND currency = ? AND origin = ?", lambda r: (*r[:5], r[6]), [(*r, origin) for r in rows],
            "INSERT INTO ad_spend(date, source, medium, campaign, currency, spend, origin) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(date, source, medium, campaign, currency, origin) DO UPDATE SET spend = excluded.spend",
        )
    return _count(CsvResult(rows=len(rows)), states)
