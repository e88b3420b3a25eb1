"""segdesk export pdf OUT.pdf [--report NAME ...] [--view NAME] [--open]: the PDF the app exports, without a display.

Core builds what the PDF holds (``core/reports/bundle.py``); only the painting
is Qt's, imported inside the command so that ``segdesk --help`` and every
other command start without loading it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .argtypes import lookback_days

REPORT_NAMES = ["dashboard", "summary", "ltv", "attribution", "roas"]


def register(sub, common) -> None:
    p = sub.add_parser("export", help="export reports to a file", parents=[common])
    kinds = p.add_subparsers(dest="export_kind", metavar="KIND", required=True)
    pdf = kinds.add_parser("pdf", help="reports as a paginated PDF (the dashboard by default)", parents=[common])
    pdf.add_argument("out", metavar="OUT.pdf")
    pdf.add_argument("--report", metavar="NAME", action="append", choices=REPORT_NAMES, default=[],
                     help=f"a report to include (repeatable): {', '.join(REPORT_NAMES)}")
    pdf.add_argument("--view", metavar="NAME", help="a saved view (segdesk views save): its report, filters, range")
    pdf.add_argument("--by", metavar="KEY", help="grouping for ltv, attribution and roas")
    pdf.add_argument("--model", metavar="M", help="attribution model (default linear; all: side by side)")
    pdf.add_argument("--lookback-days", metavar="N", type=lookback_days, help="attribution lookback (default 90)")
    pdf.add_argument("--since", metavar="DATE", help="first day (ISO date)")
    pdf.add_argument("--until", metavar="DATE", help="end (ISO date)")
    pdf.add_argument("--client", metavar="NAME", help="the name on the cover (default: the report.client_name setting)")
    pdf.add_argument("--logo", metavar="FILE", help="a PNG or JPEG for the cover (default: the report.logo_path setting)")
    pdf.add_argument("--open", action="store_true", help="open the PDF with the system's viewer when written")
    pdf.add_argument("--json", action="store_true", help='print {"path": ..., "pages": n}')
    pdf.set_defaults(run=run_pdf)


def open_with_system(path: Path) -> str | None:
    """Hand the file to the desktop's viewer; a reason when that cannot be done (never an error)."""
    if sys.platform == "win32":
        os.startfile(str(path))  # noqa: S606 - the user asked to open their own file
        return None
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    if shutil.which(opener) is None:
        return f"no {opener} here to open it with"
    subprocess.Popen([opener, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return None


def _request(args, ws) -> tuple[list[str], dict]:
    """Reports and parameters: the flags, over a saved view's when one is named."""
    params = {"by": args.by, "model": args.model, "lookback_days": args.lookback_days, "since": args.since,
              "until": args.until}
    if not args.view:
        return args.report, params
    from ..core.views import get_view

    view = get_view(ws.conn, args.view)
    merged = {**view.params, **{k: v for k, v in params.items() if v not in (None, "")}}
    merged.pop("timezone", None)
    return args.report or [view.report], {**merged, "filters": view.filters}


def run_pdf(args, ws) -> int:
    from ..core.reports.bundle import report_bundle
    from ..ui.pdf_export import write_bundle

    names, params = _request(args, ws)
    out = Path(args.out).resolve()
    # InvalidInput (a bad report name, date or logo) and FileError (an unwritable OUT.pdf) reach cli.py.
    bundle = report_bundle(ws.conn, names, client=args.client, logo=args.logo, **params)
    pages = write_bundle(out, bundle)
    if args.json:
        from .output import print_json

        print_json({"path": str(out), "pages": pages})
    else:
        print(f"wrote {out} ({pages} page{'s' if pages != 1 else ''})")
    if args.open:
        reason = open_with_system(out)
        if reason:
            print(f"note: {reason}; the PDF is at {out}", file=sys.stderr)
    return 0
