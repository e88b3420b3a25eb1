"""segdesk import events|contacts|orders|spend"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from ..core.importing import csv_import
from ..core.importing.events import import_events_file
from ..core.progress import Progress
from ..core.refresh import refresh_after_import
from ..errors import FileError, WorkspaceError
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


def _stored_after(ws, before: int) -> int:
    return ws.conn.execute("SELECT count(*) FROM events WHERE id > ?", (before,)).fetchone()[0]


def _import_events(ws, name: str):
    bar = TerminalProgress("events ")
    progress = Progress(on_update=bar)
    # A failure (a full disk) part-way must not hide what was kept: syncs and
    # small files commit batch by batch, a bulk load all or nothing. Counting
    # the rows past the old end says which, whatever path the import took.
    before = ws.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    try:
        return _read_events(ws, name, bar, progress)
    except sqlite3.DatabaseError as exc:
        stored = _stored_after(ws, before)
        kept = f"{stored} events were stored before it stopped" if stored else "no event was stored"
        raise WorkspaceError(f"import stopped: {exc}; {kept}") from None


def _read_events(ws, name: str, bar, progress):
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
        except sqlite3.DatabaseError as exc:  # one transaction: nothing of the file stayed
            raise WorkspaceError(f"import stopped: {exc}; nothing from {args.file} was stored") from None
    try:
        refreshed = refresh_after_import(ws)
    except sqlite3.DatabaseError as exc:
        # The rows are stored; contacts and reports catch up from their
        # high-water marks on the next import or sync.
        stored = (f"imported {summary['imported']} events" if args.kind == "events"
                  else f"stored {summary['rows']} rows")
        raise WorkspaceError(f"{stored}, but updating contacts and reports failed: {exc}; "
                             "they catch up on the next import or sync once that is fixed") from None
    summary["identity"] = refreshed.identity.as_dict()
    summary["sessions"] = refreshed.sessions.as_dict()
    if args.kind == "events":
        summary["orders_from_events"] = refreshed.event_orders.as_dict()
    if args.json:
        print_json(summary)
    elif args.kind == "events":
        print(f"imported {summary['imported']}, duplicates {summary['duplicates']}, rejected {summary['rejected']}")
    else:
        print(f"{summary['rows']} rows: {summary['inserted']} new, {summary['updated']} updated, "
              f"{summary['unchanged']} unchanged")
    if summary.get("rejected"):
        # A script must not read "some lines were dropped" as success; the good lines stay stored.
        print(f"segdesk: {summary['rejected']} lines rejected, {summary['imported']} imported, "
              f"{summary['duplicates']} duplicates; the imported lines are stored", file=sys.stderr)
        return 1
    return 0
