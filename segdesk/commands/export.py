"""segdesk export pdf OUT.pdf [--report NAME ...]: the PDF the app exports, without a display.

Core builds what the PDF holds (``core/reports/bundle.py``); only the painting
is Qt's, imported inside the command so that ``segdesk --help`` and every
other command start without loading it.
"""

from __future__ import annotations

from .argtypes import lookback_days

REPORT_NAMES = ["dashboard", "summary", "ltv", "attribution", "roas"]


def register(sub, common) -> None:
    p = sub.add_parser("export", help="export reports to a file", parents=[common])
    kinds = p.add_subparsers(dest="export_kind", metavar="KIND", required=True)
    pdf = kinds.add_parser("pdf", help="reports as a paginated PDF (the dashboard by default)", parents=[common])
    pdf.add_argument("out", metavar="OUT.pdf")
    pdf.add_argument("--report", metavar="NAME", action="append", choices=REPORT_NAMES, default=[],
                     help=f"a report to include (repeatable): {', '.join(REPORT_NAMES)}")
    pdf.add_argument("--by", metavar="KEY", help="grouping for ltv, attribution and roas")
    pdf.add_argument("--model", metavar="M", help="attribution model (default linear)")
    pdf.add_argument("--lookback-days", metavar="N", type=lookback_days, help="attribution lookback (default 90)")
    pdf.add_argument("--since", metavar="DATE", help="first day (ISO date)")
    pdf.add_argument("--until", metavar="DATE", help="end (ISO date)")
    pdf.add_argument("--json", action="store_true", help='print {"path": ..., "pages": n}')
    pdf.set_defaults(run=run_pdf)


def run_pdf(args, ws) -> int:
    from ..core.reports.bundle import report_bundle
    from ..ui.pdf_export import write_bundle

    # InvalidInput (a bad report name or date) and FileError (an unwritable OUT.pdf) reach cli.py.
    bundle = report_bundle(ws.conn, args.report, by=args.by, model=args.model,
                           lookback_days=args.lookback_days, since=args.since, until=args.until)
    pages = write_bundle(args.out, bundle)
    if args.json:
        from .output import print_json

        print_json({"path": str(args.out), "pages": pages})
    else:
        print(f"wrote {args.out} ({pages} page{'s' if pages != 1 else ''})")
    return 0
