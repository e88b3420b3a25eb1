"""The command line: ``segdesk [--workspace DIR] COMMAND ...`` (docs/SPEC.md §3).

A thin layer over core and sync. Errors the user can act on (``SegDeskError``,
segdesk/errors.py) print their one line on stderr and exit 1; wrong usage exits
2 (argparse's own rule); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys

from . import __version__
from .core.paths import resolve_workspace
from .core.store import UPGRADE_MESSAGE, open_workspace, upgrade_pending
from .errors import Cancelled, SegDeskError

# Command modules under segdesk/commands, in the order --help lists them. Each has
# register(subparsers, common); its parsers set ``run(args, ws)``. A module
# listed here that does not exist yet (an area still being built) is skipped.
COMMAND_MODULES = ("app", "demo", "imports", "sync", "sources", "people", "reports", "money", "views", "export",
                   "relay")
# Commands that open no workspace here (they manage their own or need none).
NO_WORKSPACE = {"relay", "app", "demo"}


def _command_modules():
    for name in COMMAND_MODULES:
        try:
            yield importlib.import_module(f"segdesk.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"segdesk.commands.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                        help="workspace folder (default: SEGDESK_WORKSPACE or the user data folder)")
    parser = argparse.ArgumentParser(prog="segdesk", parents=[common],
                                     description="SegDesk: which campaigns bring the customers who pay.")
    parser.add_argument("--version", action="version", version=f"segdesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub, common)
    return parser


def _can_open_app() -> bool:
    """A display to show a window on (always on macOS and Windows), or an explicit Qt platform.

    The frozen bundle follows the same rule: on a Linux box with no display an
    invisible offscreen window would just hang, so it prints help there too.
    """
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _compact_if_pending(ws) -> None:
    """An upgraded workspace packs its stored events before the first command runs (core/compaction.py).

    Ctrl-C stops it keeping the batches done; the next command goes on from there.
    """
    from .core import compaction

    if not compaction.pending(ws.conn):
        return
    from .commands.output import TerminalProgress, ctrl_c_cancels
    from .core.progress import Progress

    bar = TerminalProgress("segdesk: ")
    progress = Progress(on_update=bar)
    try:
        with ctrl_c_cancels(progress):
            compaction.compact_events(ws.conn, progress)
    finally:
        bar.done()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["relay"]:
        # The relay has its own parser (segdesk-relay); hand it everything, --help included.
        from .collector_relay.__main__ import main as relay_main

        return relay_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if not _can_open_app():
            parser.print_help()
            return 0
        args.command = "app"  # docs/SPEC.md §3: `segdesk` alone opens the app
        args.run = importlib.import_module("segdesk.commands.app").run
    ws = None
    try:
        if args.command not in NO_WORKSPACE:
            folder = getattr(args, "workspace", None)
            if upgrade_pending(folder):
                print(f"segdesk: {UPGRADE_MESSAGE.format(path=resolve_workspace(folder))}", file=sys.stderr)
            ws = open_workspace(folder)
            for warning in ws.warnings:
                print(f"segdesk: {warning}", file=sys.stderr)
            _compact_if_pending(ws)
        return args.run(args, ws) or 0
    except SegDeskError as exc:  # the one place the command line turns errors into words (segdesk/errors.py)
        print(f"segdesk: {exc}", file=sys.stderr)
        return 1
    except Cancelled:
        print("segdesk: cancelled; what was stored so far is kept", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        print(f"segdesk: database error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("segdesk: interrupted; what was stored so far is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if ws is not None:
            ws.close()


if __name__ == "__main__":
    sys.exit(main())
