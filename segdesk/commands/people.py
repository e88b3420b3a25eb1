"""segdesk contacts | journey | merge | unmerge | erase | suppressions"""

from __future__ import annotations

import sys

from ..core import operations
from ..core.identity import suppression
from ..core.read.contacts import list_contacts
from ..core.read.journey import journey
from ..core.money import format_money
from ..core.reports.data import refresh_report_orders
from ..core.reports.attribution import MODELS
from .argtypes import MAX_LIST_LIMIT, bounded_int, lookback_days
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
    p.add_argument("--credit", metavar="MODEL", choices=MODELS,
                   help="list under each order the visits that got its credit under this attribution model")
    p.add_argument("--lookback-days", type=lookback_days, metavar="N", help="the credit's lookback (default 90)")
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

    p = sub.add_parser("suppressions", help="erased people kept out of every import and sync", parents=[common])
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("list", help="each erase in force: when, and what kinds of identifiers", parents=[common])
    add_format_flags(a)
    a.set_defaults(run=run_suppressions_list)
    a = actions.add_parser("lift", help="let a person who came back and consents be imported again",
                           parents=[common])
    a.add_argument("email")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_suppressions_lift)


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
    if args.credit:
        _add_credits(ws.conn, args, data)
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
            if e.get("not_followed"):
                detail = (f"link for {e.get('email') or 'a contact id'} on a device identified as "
                          f"{e['not_followed']['device_contact']}, not followed")
        if "channel" in e:
            ch = e["channel"]
            detail += f"  [{ch['source']} / {ch['medium']}" + (f" / {ch['campaign']}]" if ch["campaign"] else "]")
        if "amount" in e:
            detail += "  " + ", ".join(format_money(v, k) for k, v in e["amount"].items())
        mark = " (anonymous, backfilled)" if e.get("backfilled") else ""
        print(f"  {e['time']}  {e['kind']:<12} {detail}{mark}")
        for c in e.get("credit", []):
            print(f"      {c['share'] * 100:5.1f}% credit  {c['source']} / {c['medium']}"
                  + (f" / {c['campaign']}" if c["campaign"] else "") + f"  (visit at {c['time']})")
    return 0


def _add_credits(conn, args, data) -> None:
    """Each order gets ``credit``: the visits that got its credit, with their share (core reports/credits.py);
    each device gets ``kind`` (phone, tablet, desktop) when its user agent says."""
    from ..core.read.journey import contact_of_email
    from ..core.reports.credits import order_credits
    from ..core.read.timeline import device_labels
    from ..core.timeutil import to_contract

    credits = order_credits(conn, contact_of_email(conn, args.email), args.credit, args.lookback_days)
    for e in data["events"]:
        shares = credits.get((e.get("source"), e.get("order_id"))) if e["kind"] == "order" else None
        if shares is not None:
            e["credit"] = [{"time": to_contract(s["time"]), "source": s["source"], "medium": s["medium"],
                            "campaign": s["campaign"], "anonymous_id": s["device"], "share": s["share"]}
                           for s in shares]
    kinds = device_labels(data)
    for d in data["devices"]:
        if kinds.get(d["anonymous_id"], (None,))[0]:
            d["kind"] = kinds[d["anonymous_id"]][0]


def _report_stitch(args, result, verb: str) -> int:
    if args.json:
        print_json(result.as_dict())
    else:
        print(f"{verb}; {len(result.changed_contacts)} contacts changed")
    return 0


def run_merge(args, ws) -> int:
    return _report_stitch(args, operations.merge(ws, args.email_a, args.email_b).identity, "merged")


def run_unmerge(args, ws) -> int:
    return _report_stitch(args, operations.unmerge(ws, args.email).identity, "unmerged")


def run_erase(args, ws) -> int:
    from ..sync.operations import erase_everywhere
    from .demo import relay_for_command

    with relay_for_command(ws):  # the demo workspace's relay, when the app is not running it
        done = erase_everywhere(ws, args.email)
    if args.json:
        print_json(done.as_dict())
    else:
        print(f"erased {done.local.email}: {done.local.events} events, {done.local.orders} orders")
        for name, count in done.relays.erased.items():
            print(f"relay {name}: {count} buffered events erased")
    for name, reason in done.relays.failed.items():
        print(f"segdesk: erased locally, but relay {name} failed: {reason}; run the erase again", file=sys.stderr)
    return 0 if done.ok else 1


def run_suppressions_list(args, ws) -> int:
    rows = suppression.entries(ws.conn)
    if args.json:
        print_json({"suppressions": rows})
    elif args.csv:
        print_csv(rows, ["id", "erased_at", "identifiers", "kinds"])
    else:
        for r in rows:
            r["kinds"] = ", ".join(r["kinds"])
        print_table(rows, ["id", "erased_at", "identifiers", "kinds"])
    return 0


def run_suppressions_lift(args, ws) -> int:
    entry = suppression.lift(ws.conn, args.email)
    if args.json:
        print_json({"lifted": entry})
    else:
        print(f"lifted the erase of {entry['erased_at']} ({entry['identifiers']} identifiers); "
              "the next sync brings the person back from every source that still has them")
    return 0
