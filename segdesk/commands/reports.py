"""segdesk report summary | attribution | ltv | roas  (docs/SPEC.md §3; roas is an extension)"""

from __future__ import annotations

import sys

from ..core import csvsafe
from ..core.money import format_money, to_major
from ..core.refresh import refresh_reports
from ..core.reports import KEYS, LTV_BY, MODELS, ROAS_BY, build_report, drill_down
from ..core.reports.model import MONEY
from .argtypes import lookback_days
from .output import add_format_flags, print_json, print_table


def register(sub, common) -> None:
    p = sub.add_parser("report", help="attribution, LTV, summary and ROAS reports", parents=[common])
    kinds = p.add_subparsers(dest="report", required=True, metavar="REPORT")
    specs = {
        "summary": ("contacts, customers, revenue, lead value, conversion rate", None),
        "attribution": ("revenue credited to sources by an attribution model", KEYS),
        "ltv": ("lifetime value by first-touch key, tag or month of first touch", LTV_BY),
        "roas": ("ad spend, cost per lead and customer, return on ad spend", ROAS_BY),
    }
    for name, (help_text, keys) in specs.items():
        k = kinds.add_parser(name, help=help_text, parents=[common])
        if keys:
            k.add_argument("--by", choices=keys, default="source", help="group rows by (default: source)")
        if name == "attribution":
            k.add_argument("--model", choices=MODELS, default="linear")
            k.add_argument("--lookback-days", type=lookback_days, default=90, metavar="N")
        k.add_argument("--since", metavar="DATE", help="from this date (YYYY-MM-DD, workspace timezone)")
        k.add_argument("--until", metavar="DATE", help="to this date, inclusive")
        k.add_argument("--timezone", metavar="TZ", help="IANA name; default the workspace setting, else UTC")
        k.add_argument("--rows", metavar="KEY", help="list the contacts and orders behind this row instead")
        add_format_flags(k)
        k.set_defaults(run=run)


def run(args, ws) -> int:
    refresh_reports(ws)
    params = {k: getattr(args, k, None) for k in ("by", "model", "lookback_days")}
    report = build_report(ws.conn, args.report, since=args.since, until=args.until,
                          timezone=args.timezone, **params)  # InvalidInput: a bad date, timezone or key
    if args.rows is not None:
        return _print_drill(args, drill_down(ws.conn, report.parameters, args.rows))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print_json(report.to_json())
    elif args.csv:
        _print_csv(report)
    else:
        _print_text(report)
    return 0


def _currencies(report) -> list[str]:
    found = {cur for r in report.rows for c in report.columns if c.kind == MONEY for cur in (r.get(c.key) or {})}
    return sorted(found)


def _print_csv(report) -> None:
    """Money as one column per currency in major units, for spreadsheets."""
    currencies = _currencies(report)
    header, cells = [], []
    for col in report.columns:
        if col.kind == MONEY:
            for cur in currencies:
                header.append(f"{col.key}_{cur}")
                cells.append(lambda r, k=col.key, c=cur: "" if (r.get(k) or {}).get(c) is None
                             else str(to_major(round(r[k][c], 2), c)))
        else:
            header.append(col.key)
            cells.append(lambda r, k=col.key: "" if r.get(k) is None else r.get(k))
    writer = csvsafe.writer(sys.stdout)
    writer.writerow(header)
    for r in report.rows:
        writer.writerow([cell(r) for cell in cells])


def _money_text(value) -> str:
    return ", ".join(format_money(v, c) for c, v in value.items() if v is not None) if value else "-"


def _print_text(report) -> None:
    print(report.title)
    rows = [{c.key: (_money_text(r.get(c.key)) if c.kind == MONEY else r.get(c.key)) for c in report.columns}
            for r in report.rows]
    print_table(rows, [c.key for c in report.columns])
    for name in ("total", "unattributed", "revenue", "lead_value", "period_revenue"):
        if isinstance(report.extra.get(name), dict):
            print(f"{name.replace('_', ' ')}: {_money_text(report.extra[name])}")
    for c in report.columns:
        if c.help:
            print(f"{c.label}: {c.help}")


def _print_drill(args, data) -> int:
    if args.json:
        print_json(data)
        return 0
    contacts = [{"email": c["email"], "first_touch": (c["first_touch"] or {}).get("time"),
                 "source": (c["first_touch"] or {}).get("source"), "revenue": _money_text(c["revenue"])}
                for c in data["contacts"]]
    orders = [{"order_id": o["order_id"], "email": o["email"], "time": o["time"], "revenue": _money_text(o["revenue"]),
               **({"credit": o["credit"]} if "credit" in o else {})} for o in data["orders"]]
    if args.csv:
        writer = csvsafe.writer(sys.stdout)
        writer.writerow(["kind", "email", "order_id", "time", "revenue", "credit"])
        for c in contacts:
            writer.writerow(["contact", c["email"], "", c["first_touch"] or "", c["revenue"], ""])
        for o in orders:
            writer.writerow(["order", o["email"], o["order_id"], o["time"], o["revenue"], o.get("credit", "")])
        return 0
    print(f"{len(contacts)} contacts")
    print_table(contacts, ["email", "first_touch", "source", "revenue"])
    print(f"\n{len(orders)} orders")
    print_table(orders, ["order_id", "email", "time", "revenue"] + (["credit"] if orders and "credit" in orders[0] else []))
    return 0
