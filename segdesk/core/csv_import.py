"""Contacts, orders and ad spend from CSV files (docs/SPEC.md §3).

A file is checked whole before anything is written: a bad row is reported
with its row number and nothing from that file is imported, so a fix and a
re-run never leave half a file behind. Rows are keyed (email, order id,
date+source+campaign), so importing the same file again changes nothing and
a corrected file updates in place.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from ..errors import InvalidInput
from .identifiers import clean_key, email_node, normalise_email
from .money import MoneyError, normalise_currency, to_minor
from .rejects import Reject
from .store import Workspace
from .timeutil import normalise_ts

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
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise CsvImportError([Reject(1, f"missing column(s): {', '.join(missing)}")])
    reader.fieldnames = header
    for i, row in enumerate(reader, start=2):  # row 1 is the header
        yield i, {k: (v or "").strip() for k, v in row.items() if k}


def _check(text: str, required: tuple[str, ...], parse):
    parsed, errors = [], []
    for rowno, row in _rows(text, required):
        if not any(row.values()):
            continue
        try:
            parsed.append(parse(row))
        except (ValueError, MoneyError) as exc:
            errors.append(Reject(rowno, str(exc)))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise CsvImportError(errors)
    return parsed


def _email(row) -> str:
    email = normalise_email(row.get("email"))
    if email is None:
        raise ValueError(f"'{row.get('email', '')}' is not an email address")
    return email


def _time(value: str, column: str) -> str:
    try:
        return normalise_ts(value)
    except ValueError:
        raise ValueError(f"{column} '{value}' is not an ISO 8601 date or time") from None


def _upsert(conn, sql: str, rows: list[tuple], result: CsvResult, before_sql: str, key) -> None:
    for row in rows:
        old = conn.execute(before_sql, key(row)).fetchone()
        conn.execute(sql, row)
        if old is None:
            result.inserted += 1
        elif conn.execute(before_sql, key(row)).fetchone() != old:
            result.updated += 1
        else:
            result.unchanged += 1


def import_contacts(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    def parse(row):
        return (
            _email(row), clean_key(row.get("contact_id")), row.get("first_name") or None,
            row.get("last_name") or None,
            [t.strip() for t in (row.get("tags") or "").split(";") if t.strip()],
            _time(row["created_at"], "created_at") if row.get("created_at") else None,
        )

    rows = _check(text, ("email",), parse)
    result = CsvResult(rows=len(rows))
    conn = ws.conn
    with conn:
        _upsert(
            conn,
            "INSERT INTO contacts(email, first_name, last_name, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(email) DO UPDATE SET first_name = coalesce(excluded.first_name, first_name), "
            "last_name = coalesce(excluded.last_name, last_name), "
            "created_at = coalesce(excluded.created_at, created_at)",
            [(e, fn, ln, created) for e, _, fn, ln, _, created in rows],
            result,
            "SELECT first_name, last_name, created_at FROM contacts WHERE email = ?",
            lambda r: (r[0],),
        )
        conn.executemany(
            "INSERT INTO contact_keys(key, kind, email, origin) VALUES (?, 'crm', ?, ?) "
            "ON CONFLICT(key, origin) DO UPDATE SET email = excluded.email",
            [(cid, e, origin) for e, cid, *_ in rows if cid],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO tags(identifier, tag, origin, added_at) VALUES (?, ?, ?, ?)",
            [(email_node(e), tag, origin, created) for e, _, _, _, tags, created in rows for tag in tags],
        )
    return result


def import_orders(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    def parse(row):
        if not row.get("order_id"):
            raise ValueError("order_id is empty")
        currency = normalise_currency(row.get("currency", ""))
        amount = to_minor(row.get("amount", ""), currency)
        refunded = to_minor(row["refunded_amount"], currency) if row.get("refunded_amount") else 0
        if amount < 0 or refunded < 0:
            raise ValueError("amounts cannot be negative")
        if refunded > amount:
            raise ValueError(f"refunded_amount {row['refunded_amount']} exceeds amount {row['amount']}")
        created = _time(row.get("created_at", ""), "created_at")
        return row["order_id"], _email(row), amount, currency, created, row.get("product") or None, refunded

    rows = _check(text, ("order_id", "email", "amount", "currency", "created_at"), parse)
    result = CsvResult(rows=len(rows))
    conn = ws.conn
    with conn:
        _upsert(
            conn,
            "INSERT INTO orders(origin, order_id, email, amount, currency, created_at, product, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'paid') ON CONFLICT(origin, order_id) DO UPDATE SET "
            "email = excluded.email, amount = excluded.amount, currency = excluded.currency, "
            "created_at = excluded.created_at, product = excluded.product",
            [(origin, oid, e, a, c, t, p) for oid, e, a, c, t, p, _ in rows],
            result,
            "SELECT email, amount, currency, created_at, product FROM orders WHERE origin = ? AND order_id = ?",
            lambda r: (r[0], r[1]),
        )
        # A CSV carries a refund as a total; it is one refund row per order, replaced on re-import.
        conn.executemany("DELETE FROM refunds WHERE origin = ? AND refund_id = ?",
                         [(origin, f"{oid}#refund") for oid, *_ in rows])
        conn.executemany(
            "INSERT INTO refunds(origin, refund_id, order_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(origin, f"{oid}#refund", oid, refunded, c, t) for oid, e, a, c, t, p, refunded in rows if refunded],
        )
    return result


def import_spend(ws: Workspace, text: str, origin: str = "csv") -> CsvResult:
    def parse(row):
        date = row.get("date", "")
        try:
            day = normalise_ts(date)[:10]
        except ValueError:
            raise ValueError(f"date '{date}' is not an ISO 8601 date") from None
        source = (row.get("source") or "").strip().lower()
        if not source:
            raise ValueError("source is empty")
        currency = normalise_currency(row.get("currency", ""))
        spend = to_minor(row.get("spend", ""), currency)
        if spend < 0:
            raise ValueError("spend cannot be negative")
        return day, source, (row.get("medium") or "").lower(), (row.get("campaign") or "").lower(), currency, spend

    parsed = _check(text, ("date", "source", "spend", "currency"), parse)
    # Several lines for one day and campaign (ad sets, ads) add up.
    totals: dict[tuple, int] = {}
    for *key, spend in parsed:
        totals[tuple(key)] = totals.get(tuple(key), 0) + spend
    rows = [(*key, spend) for key, spend in totals.items()]
    result = CsvResult(rows=len(rows))
    conn = ws.conn
    with conn:
        _upsert(
            conn,
            "INSERT INTO ad_spend(date, source, medium, campaign, currency, spend, origin) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(date, source, medium, campaign, currency, origin) DO UPDATE SET spend = excluded.spend",
            [(*r, origin) for r in rows],
            result,
            "SELECT spend FROM ad_spend WHERE date = ? AND source = ? AND medium = ? AND campaign = ? "
            "AND currency = ? AND origin = ?",
            lambda r: (*r[:5], r[6]),
        )
    return result
