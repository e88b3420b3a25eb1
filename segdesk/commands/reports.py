"""segdesk report campaigns | summary | attribution | ltv | roas  (docs/SPEC.md §3; campaigns, roas are extensions)"""

from __future__ import annotations

import argparse
import sys

from ..core import csvsafe
from ..core.fx import chosen_currency
from ..core.money import format_money, to_major
from ..core.refresh import refresh_reports
from ..core.reports import FILTERS, KEYS, LTV_BY, MODELS, ROAS_BY, build_report, drill_down
from ..core.reports.compare import MODES, build_view
from ..core.reports.model import MONEY, SPARK
from ..core.reports.table import sparkline_text
from ..core.views import get_view
from ..errors import InvalidInput
from .argtypes import lookback_days
from .output import add_format_flags, print_json, print_table


def register(sub, common) -> None:
    p = sub.add_parser("report", help="attribution, LTV, summary and ROAS reports", parents=[common])
    add_view_flags(p)
    add_format_flags(p)
    p.set_defaults(run=run, report=None)
    kinds = p.add_subparsers(dest="report", metavar="REPORT")
    specs = {
        "campaigns": ("the campaign table: spend, leads, customers, revenue, LTV, ROAS, payback", None),
        "summary": ("contacts, customers, revenue, lead value, conversion rate", None),
        "attribution": ("revenue credited to sources by an attribution model", KEYS),
        "ltv": ("lifetime value by first-touch key, tag or month of first touch", LTV_BY),
        "roas": ("ad spend, cost per lead and customer, return on ad spend", ROAS_BY),
    }
    for name, (help_text, keys) in specs.items():
        k = kinds.add_parser(name, help=help_text, parents=[common])
        add_report_flags(k, name, keys)
        add_view_flags(k)
        k.add_argument("--rows", metavar="KEY", help="list the contacts and orders behind this row instead")
        add_format_flags(k)
        k.set_defaults(run=run)


def add_report_flags(k, name: str, keys) -> None:
    """A report's own parameters, filters and comparison (shared with ``views save``)."""
    if keys:
        k.add_argument("--by", choices=keys, help="group rows by (default: source)")
    if name == "attribution":
        k.add_argument("--model", choices=MODELS + ("all",), help="default linear; all: every model side by side")
        k.add_argument("--compare-models", action="store_true", help="every model side by side (as --model all)")
        k.add_argument("--lookback-days", type=lookback_days, metavar="N", help="default 90")
    k.add_argument("--since", metavar="DATE", help="from this date (YYYY-MM-DD, workspace timezone)")
    k.add_argument("--until", metavar="DATE", help="to this date, inclusive")
    k.add_argument("--timezone", metavar="TZ", help="IANA name; default the workspace setting, else UTC")
    k.add_argument("--currency", metavar="CUR", help="also show figures converted into this currency "
                   "(default: the workspace's reporting currency when one was set)")
    k.add_argument("--compare", choices=MODES, help="set every figure against the previous period or the same "
                                                    "period last year (needs --since and --until)")
    for f in FILTERS:
        k.add_argument(f"--{f}", metavar=f.upper(), help=FILTER_HELP[f])


FILTER_HELP = {"tag": "only contacts with this tag", "product": "only orders of this product",
               "source": "only contacts whose first touch has this source",
               "campaign": "only contacts whose first touch has this campaign",
               "country": "only contacts seen in this country (context.location.country)",
               "device": "only contacts with a phone, tablet or desktop device"}


def add_view_flags(k) -> None:
    k.add_argument("--view", metavar="NAME", default=argparse.SUPPRESS,
                   help="open a saved view (segdesk views save); flags given here override its values")


def request(args, conn) -> tuple[str, dict, dict, str | None]:
    """(report, parameters, filters, compare) from a saved view and the flags, the flags winning."""
    view = get_view(conn, args.view) if getattr(args, "view", None) else None
    name = getattr(args, "report", None) or (view.report if view else None)
    if name is None:
        raise InvalidInput("name a report (summary, ltv, attribution, roas) or a saved view with --view NAME")
    if view and view.report != name:
        raise InvalidInput(f"view {view.name!r} is a {view.report} report, not {name}")
    params = dict(view.params) if view else {}
    for k in ("by", "model", "lookback_days", "since", "until", "timezone", "compare"):
        if getattr(args, k, None) not in (None, ""):
            params[k] = getattr(args, k)
    if getattr(args, "compare_models", False):
        params["model"] = "all"
    filters = dict(view.filters) if view else {}
    filters.update({f: getattr(args, f) for f in FILTERS if getattr(args, f, None)})
    return name, params, filters, params.pop("compare", None)


def run(args, ws) -> int:
    refresh_reports(ws)
    name, params, filters, compare = request(args, ws.conn)
    # InvalidInput: a bad date, timezone, key, filter, currency or comparison; it reaches cli.py.
    report = build_view(ws.conn, name, filters=filters, compare=compare,
                        currency=getattr(args, "currency", None) or chosen_currency(ws.conn), **params)
    if getattr(args, "rows", None) is not None:
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


def _rows(report) -> list[dict]:
    """The rows, then a totals row when the report has one (the campaign table)."""
    total = report.extra.get("total")
    return report.rows + ([total] if isinstance(total, dict) and "key" in total else [])


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
            cells.append(lambda r, k=col.key, kind=col.kind: _plain(r.get(k), kind))
    writer = csvsafe.writer(sys.stdout)
    writer.writerow(header)
    for r in _rows(report):
        writer.writerow([cell(r) for cell in cells])


def _plain(value, kind: str):
    """A CSV cell: a trend as its numbers separated by spaces (oldest first)."""
    if value is None:
        return ""
    if kind == SPARK:
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):  # a per-currency figure that is not money (ROAS, payback): 'usd:1.5;eur:2'
        return ";".join(f"{c}:{'' if v is None else v}" for c, v in value.items())
    return value


def _money_text(value) -> str:
    return ", ".join(format_money(v, c) for c, v in value.items() if v is not None) if value else "-"


def _print_text(report) -> None:
    print(report.title)
    rows = [{c.key: (_money_text(r.get(c.key)) if c.kind == MONEY else sparkline_text(r.get(c.key)) if c.kind == SPARK
                     else r.get(c.key)) for c in report.columns}
            for r in _rows(report)]
    print_table(rows, [c.key for c in report.columns])
    for u in report.extra.get("unmatched_spend") or []:  # roas: spend that no visit's tags meet
        group = f" / {u['ad_group'] or '-'}" if "ad_group" in u else ""
        print(f"spend matching no visit: {u['source']} / {u['medium'] or '-'} / {u['campaign'] or '-'}{group}: "
              f"{format_money(u['spend'], u['currency'])}")
    converted = report.extra.get("converted") or {}
    for name in ("total", "unattributed", "revenue", "lead_value", "period_revenue"):
        value = report.extra.get(name)
        if isinstance(value, dict) and "key" not in value:
            twin = converted.get(name)
            print(f"{name.replace('_', ' ')}: {_money_text(value)}" + (f" = {_money_text(twin)}" if twin else ""))
    compared = report.extra.get("compare") or {}
    for name, c in compared.get("figures", {}).items():
        if name in ("contacts", "customers", "revenue", "lead_value", "orders"):
            print(f"{name.replace('_', ' ')}, {compared['since']} – {compared['until']}: "
                  f"{_money_text(c['previous']) if isinstance(c['previous'], dict) else c['previous']} "
                  f"(change {_money_text(c['change']) if isinstance(c['change'], dict) else c['change']})")
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
