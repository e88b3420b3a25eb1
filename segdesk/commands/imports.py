"""segdesk import events|contacts|orders|spend"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..core import csv_import
from ..core.events import import_events_file
from ..core.progress import Progress
from ..core.refresh import refresh_after_import
from ..errors import FileError
from .output import TerminalProgress, ctrl_c_cancels, print_json


def register(sub, common) -> None:
    p = sub.add_parser("import", help="import events (JSON Lines) or contacts, orders, spend (CSV)", parents=[common])
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, help_text in (
        ("events", "JSON Lines of wire-format events ('-' reads stdin)"),
        ("contacts", "CSV: email, contact_id, first_name, last_name, tags, created_at"),
        ("orders", "CSV: order_id, email, amount, currency, created_at, refunded_amount, product"),
        ("spend", "CSV: date, source, medium, campaign, spend, currency"),
    ):
        k = kinds.add_parser(kind, help=help_text, parents=[common])
        k.add_argument("file", help="the file to import")
        k.add_argument("--json", action="store_true", help="print the summary as JSON")
        k.set_defaults(run=run)


def _read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FileError(f"cannot read {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FileError(f"{name} is not UTF-8 text") from None


def _import_events(ws, name: str):
    bar = TerminalProgress("events ")
    progress = Progress(on_update=bar)
    with ctrl_c_cancels(progress):
        if name == "-":
            result = import_events_file(ws, sys.stdin.buffer, progress=progress)
        else:
            try:
                with open(name, "rb") as f:
                    result = import_events_file(ws, f, progress=progress, total_bytes=os.fstat(f.fileno()).st_size)
            except OSError as exc:
                raise FileError(f"cannot read {name}: {exc.strerror}") from None
    bar.done()
    for reject in result.errors:
        print(f"line {reject.line}: {reject.reason}", file=sys.stderr)
    if result.rejected > len(result.errors):
        print(f"... and {result.rejected - len(result.errors)} more rejected lines", file=sys.stderr)
    return result.as_dict()


def run(args, ws) -> int:
    if args.kind == "events":
        summary = _import_events(ws, args.file)
    else:
        fn = {"contacts": csv_import.import_contacts, "orders": csv_import.import_orders,
              "spend": csv_import.import_spend}[args.kind]
        text = _read_text(args.file)
        try:
            summary = fn(ws, text).as_dict()
        except csv_import.CsvImportError as exc:
            for reject in exc.errors[1:]:
                print(f"row {reject.line}: {reject.reason}", file=sys.stderr)
            raise  # its first line is the one the command line prints
    refreshed = refresh_after_import(ws)
    summary["identity"] = refreshed.identity.as_dict()
    summary["sessions"] = refreshed.sessions.as_dict()
    if args.json:
        print_json(summary)
    elif args.kind == "events":
        print(f"imported {summary['imported']}, duplicates {summary['duplicates']}, rejected {summary['rejected']}")
    else:
        print(f"{summary['rows']} rows: {summary['inserted']} new, {summary['updated']} updated, "
              f"{summary['unchanged']} unchanged")
    return 0
