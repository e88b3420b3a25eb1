"""segdesk sync [NAME ...]: what the app's Sync Now does."""

from __future__ import annotations

import sys

import orjson

from ..core.progress import Progress
from ..errors import NotFound
from ..sync.engine import run_sync
from ..sync.sources import list_sources
from .demo import relay_for_command
from .output import TerminalProgress


def register(sub, common) -> None:
    p = sub.add_parser("sync", help="pull every configured source (or the named ones)", parents=[common])
    p.add_argument("names", nargs="*", metavar="NAME", help="sources to sync (default: all)")
    p.add_argument("--json", action="store_true",
                   help="JSON lines on stdout: one per progress update and one per result")
    p.set_defaults(run=run)


def _json_line(data: dict) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")
    sys.stdout.flush()


class _Bars:
    """One progress line per source on stderr (a new line when the next source starts)."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.bar: TerminalProgress | None = None

    def __call__(self, name: str, progress: Progress) -> None:
        if name != self.current:
            self.done()
            self.current, self.bar = name, TerminalProgress(f"{name:<16} ")
        self.bar(progress)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.done()
            self.bar = None


def run(args, ws) -> int:
    if not args.names and not list_sources(ws.conn):
        raise NotFound("no sources configured yet; add one with 'segdesk sources add KIND' "
                             "(relay, stripe, paypal, activecampaign, hubspot, kit, keap, csv)")
    if args.json:
        def on_source(name, p):
            _json_line({"type": "progress", "source": name, "status": p.status, "fraction": p.fraction,
                        "counts": dict(p.counts)})
        bars = None
    else:
        bars = on_source = _Bars()
    with relay_for_command(ws):  # the demo workspace's relay, when the app is not running it
        report = run_sync(ws, args.names or None, on_source=on_source)
    if bars is not None:
        bars.done()
    if args.json:
        for result in report.sources:
            _json_line({"type": "result", **result.as_dict()})
        _json_line({"type": "summary", "ok": report.ok, "cancelled": report.cancelled,
                    "orders_matched": report.orders_matched, "identity": report.identity})
    else:
        for r in report.sources:
            changed = ", ".join(f"{k} {v}" for k, v in r.changed.items()) or "nothing new"
            print(f"{r.name}: {r.status}" + (f" ({r.reason})" if r.reason else f"; changed: {changed}"))
        print(f"identity: {report.identity.get('changed_contacts', 0)} contacts changed")
    for r in report.failed:
        print(f"segdesk: {r.name}: {r.reason}", file=sys.stderr)
    if report.cancelled:
        print("segdesk: sync cancelled; what was stored so far is kept", file=sys.stderr)
    return 0 if report.ok else 1
