"""segdesk views save NAME --report R [flags] | list | show NAME | delete NAME (an extension: saved views)."""

from __future__ import annotations

from ..core.reports import FILTERS, KEYS, LTV_BY, ROAS_BY
from ..core.views import delete_view, get_view, list_views, save_view
from .output import add_format_flags, print_json, print_table
from .reports import add_report_flags

REPORTS = ("summary", "ltv", "attribution", "roas")


def register(sub, common) -> None:
    p = sub.add_parser("views", help="saved views: a report with its filters, under a name", parents=[common])
    acts = p.add_subparsers(dest="views_action", metavar="ACTION", required=True)
    save = acts.add_parser("save", help="save (or replace) a view", parents=[common])
    save.add_argument("name", metavar="NAME")
    save.add_argument("--report", required=True, choices=REPORTS, help="the report the view opens")
    # Every report's flags are accepted; a flag the report does not take is refused when saving.
    add_report_flags(save, "attribution", sorted(set(LTV_BY) | set(KEYS) | set(ROAS_BY)))
    save.set_defaults(run=run_save)
    ls = acts.add_parser("list", help="list saved views", parents=[common])
    add_format_flags(ls, csv_too=False)
    ls.set_defaults(run=run_list)
    show = acts.add_parser("show", help="one view's report, parameters and filters", parents=[common])
    show.add_argument("name", metavar="NAME")
    add_format_flags(show, csv_too=False)
    show.set_defaults(run=run_show)
    rm = acts.add_parser("delete", help="delete a saved view", parents=[common])
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(run=run_delete)


def run_save(args, ws) -> int:
    params = {k: getattr(args, k) for k in ("by", "model", "lookback_days", "since", "until", "timezone", "compare")
              if getattr(args, k, None) not in (None, "")}
    if args.compare_models:
        params["model"] = "all"
    filters = {f: getattr(args, f) for f in FILTERS if getattr(args, f, None)}
    replaced = save_view(ws.conn, args.name, args.report, params, filters)
    print(f"{'replaced' if replaced else 'saved'} view {' '.join(args.name.split())!r}")
    return 0


def _flat(v) -> dict:
    d = v.as_dict()
    return {"name": d["name"], "report": d["report"],
            "parameters": " ".join(f"{k}={x}" for k, x in d["params"].items()),
            "filters": " ".join(f"{k}={x}" for k, x in d["filters"].items()), "saved_at": d["saved_at"]}


def run_list(args, ws) -> int:
    views = list_views(ws.conn)
    if args.json:
        print_json({"views": [v.as_dict() for v in views]})
    elif not views:
        print("no saved views (segdesk views save NAME --report ltv --by source --tag vip)")
    else:
        print_table([_flat(v) for v in views], ["name", "report", "parameters", "filters", "saved_at"])
    return 0


def run_show(args, ws) -> int:
    v = get_view(ws.conn, args.name)
    if args.json:
        print_json(v.as_dict())
    else:
        print_table([_flat(v)], ["name", "report", "parameters", "filters", "saved_at"])
    return 0


def run_delete(args, ws) -> int:
    delete_view(ws.conn, args.name)
    print(f"deleted view {args.name!r}")
    return 0
