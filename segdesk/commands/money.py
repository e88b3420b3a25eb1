"""segdesk settings (the reporting currency) and segdesk rates (the manual rate table): issue 16 item 1."""

from __future__ import annotations

from ..core import fx
from ..core.importing.csv_read import LineError, records
from ..errors import FileError, InvalidInput
from ..sync.sources import choose_reporting_currency
from .output import add_format_flags, print_csv, print_json, print_table

SETTINGS = {"reporting-currency": (fx.reporting_currency, choose_reporting_currency)}


def register(sub, common) -> None:
    p = sub.add_parser("settings", help="workspace settings (reporting-currency)", parents=[common])
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = acts.add_parser("set", help="set a setting", parents=[common])
    s.add_argument("name", choices=sorted(SETTINGS))
    s.add_argument("value")
    s.set_defaults(run=run_settings)
    g = acts.add_parser("get", help="print a setting", parents=[common])
    g.add_argument("name", choices=sorted(SETTINGS))
    add_format_flags(g, csv_too=False)
    g.set_defaults(run=run_settings)

    r = sub.add_parser("rates", help="daily exchange rates: the manual table beside the ECB's", parents=[common])
    acts = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = acts.add_parser("set", help="a rate: units of CURRENCY per one euro on DATE", parents=[common])
    s.add_argument("date", metavar="DATE")
    s.add_argument("currency", metavar="CURRENCY")
    s.add_argument("rate", metavar="RATE")
    s.set_defaults(run=run_rates)
    i = acts.add_parser("import", help="a CSV of date,currency,rate (per one euro)", parents=[common])
    i.add_argument("file")
    i.set_defaults(run=run_rates)
    ls = acts.add_parser("list", help="stored rates", parents=[common])
    ls.add_argument("--currency")
    add_format_flags(ls)
    ls.set_defaults(run=run_rates)


def run_settings(args, ws) -> int:
    read, write = SETTINGS[args.name]
    if args.action == "set":
        value, added = write(ws, args.value)
        print(f"{args.name}: {value.upper()}")
        if added:
            print("the ECB's daily rates are fetched by the next sync (source 'ecb')")
        return 0
    value = read(ws.conn)
    if getattr(args, "json", False):
        print_json({args.name: value, "chosen": fx.chosen_currency(ws.conn) is not None})
    else:
        print(value.upper() + ("" if fx.chosen_currency(ws.conn) else " (from this computer's locale)"))
    return 0


def run_rates(args, ws) -> int:
    if args.action == "set":
        fx.set_manual_rates(ws.conn, [(args.date, args.currency, args.rate)])
        print(f"{fx.check_day(args.date)} {args.currency.upper()} {fx.check_rate(args.rate)} per EUR (manual)")
        return 0
    if args.action == "import":
        try:
            with open(args.file, encoding="utf-8-sig", newline="") as f:
                text = f.read()
        except OSError as exc:
            raise FileError(f"cannot read {args.file}: {exc.strerror}") from None
        rows = _rate_rows(text)
        n = fx.set_manual_rates(ws.conn, rows)
        print(f"{len(rows)} rates read, {n} new or changed")
        return 0
    rows = fx.list_rates(ws.conn, args.currency)
    if args.json:
        print_json({"rates": rows})
    elif args.csv:
        print_csv(rows, ["day", "currency", "rate", "origin"])
    else:
        print_table(rows, ["day", "currency", "rate", "origin"])
    return 0


def _rate_rows(text: str) -> list[tuple]:
    """date,currency,rate lines (a header row is skipped); the whole file is checked before anything is stored."""
    out = []
    try:
        for lineno, fields in records(text):
            if lineno == 1 and [f.strip().lower() for f in fields] == ["date", "currency", "rate"]:
                continue
            if len(fields) != 3:
                raise InvalidInput(f"row {lineno}: expected date,currency,rate, got {len(fields)} fields")
            out.append(tuple(f.strip() for f in fields))
    except LineError as exc:
        raise InvalidInput(f"row {exc.lineno}: {exc}") from None
    return out
