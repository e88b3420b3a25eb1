"""segdesk contacts | journey | merge | unmerge | erase"""

from __future__ import annotations

import sys

from ..core import people
from ..core.contacts import list_contacts
from ..core.journey import journey
from ..core.money import format_money
from ..core.reports.data import refresh_report_orders
from .argtypes import MAX_LIST_LIMIT, bounded_int
from .output import add_format_flags, print_csv, print_json, print_table

CONTACT_COLUMNS = ["email", "name", "first_seen", "last_seen", "devices", "customer", "revenue", "tags"]


def register(sub, common) -> None:
    p = sub.add_parser("contacts", help="list contacts", parents=[common])
    p.add_argument("--search", metavar="Q", help="part of an email or name")
    p.add_argument("--limit", type=bounded_int(1, MAX_LIST_LIMIT), default=1000)
    add_format_flags(p)
    p.set_defaults(run=run_contacts)

    p = sub.add_parser("journey", help="one contact's whole journey", parents=[common])
    p.add_argument("email")
    add_format_flags(p, csv_too=False)
    p.set_defaults(run=run_journey)

    p = sub.add_parser("merge", help="join two contacts (undo with unmerge)", parents=[common])
    p.add_argument("email_a")
    p.add_argument("email_b")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_merge)

    p = sub.add_parser("unmerge", help="undo the manual merges of an email", parents=[common])
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_unmerge)

    p = sub.add_parser("erase", help="delete a person everywhere", parents=[common])
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_erase)


def run_contacts(args, ws) -> int:
    with ws.conn:
        refresh_report_orders(ws.conn)  # revenue from the counted-orders cache, not a live scan per row
    rows = list_contacts(ws.conn, args.search, limit=args.limit)
    if args.json:
        print_json({"contacts": rows})
    elif args.csv:
        print_csv(rows, CONTACT_COLUMNS)
    else:
        for r in rows:
            r["revenue"] = ", ".join(format_money(v, c) for c, v in r["revenue"].items())
        print_table(rows, CONTACT_COLUMNS)
    return 0


def run_journey(args, ws) -> int:
    data = journey(ws.conn, args.email)
    if args.json:
        print_json(data)
        return 0
    c = data["contact"]
    revenue = ", ".join(format_money(v, k) for k, v in c["revenue"].items()) or "none"
    print(f"{c['email']}  first seen {c['first_seen']}  revenue {revenue}")
    for d in data["devices"]:
        shared = " (shared)" if d["shared"] else ""
        print(f"  device {d['anonymous_id']}{shared}: linked by {d['linked_by']} at {d['linked_at']}")
    for e in data["events"]:
        detail = e.get("url") or e.get("order_id") or e.get("name") or e.get("tag") or ""
        if e["kind"] == "identify":
            detail = f"identified by {e.get('method')}" + (f" as {e['email']}" if e.get("email") else "")
        if "channel" in e:
            ch = e["channel"]
            detail += f"  [{ch['source']} / {ch['medium']}" + (f" / {ch['campaign']}]" if ch["campaign"] else "]")
        if "amount" in e:
            detail += "  " + ", ".join(format_money(v, k) for k, v in e["amount"].items())
        mark = " (anonymous, backfilled)" if e.get("backfilled") else ""
        print(f"  {e['time']}  {e['kind']:<12} {detail}{mark}")
    return 0


def _report_stitch(args, result, verb: str) -> int:
    if args.json:
        print_json(result.as_dict())
    else:
        print(f"{verb}; {len(result.changed_contacts)} contacts changed")
    return 0


def run_merge(args, ws) -> int:
    return _report_stitch(args, people.merge(ws, args.email_a, args.email_b), "merged")


def run_unmerge(args, ws) -> int:
    return _report_stitch(args, people.unmerge(ws, args.email), "unmerged")


def run_erase(args, ws) -> int:
    """The workspace first (it is ours and cannot fail half-way), then every relay's buffer."""
    from ..sync.relay_erase import erase_remote

    result = people.erase(ws, args.email)
    remote = erase_remote(ws, result.email)
    if args.json:
        print_json({**result.as_dict(), "relays": remote.as_dict()})
    else:
        print(f"erased {result.email}: {result.events} events, {result.orders} orders")
        for name, count in remote.erased.items():
            print(f"relay {name}: {count} buffered events erased")
    for name, reason in remote.failed.items():
        print(f"segdesk: erased locally, but relay {name} failed: {reason}; run the erase again", file=sys.stderr)
    return 0 if remote.ok else 1
