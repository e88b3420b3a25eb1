"""How commands print: JSON exactly as the contracts show, CSV for tables, text for people."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

import orjson

from ..core import csvsafe


def print_json(data) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_csv(rows: list[dict], columns: list[str]) -> None:
    writer = csvsafe.writer(sys.stdout)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])


def _cell(value):
    if isinstance(value, dict):
        return ";".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def print_table(rows: list[dict], columns: list[str]) -> None:
    cells = [[str(_cell(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def add_format_flags(parser, csv_too: bool = True) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON (the shapes in docs/SPEC.md §3)")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="print CSV")


class TerminalProgress:
    """A one-line progress bar on stderr when it is a terminal; quiet otherwise."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.tty = sys.stderr.isatty()

    def __call__(self, progress) -> None:
        if not self.tty:
            return
        frac = progress.fraction
        bar = ""
        if frac is not None:
            filled = int(frac * 30)
            bar = "[" + "#" * filled + "-" * (30 - filled) + f"] {frac * 100:5.1f}% "
        counts = " ".join(f"{k}={v}" for k, v in progress.counts.items())
        sys.stderr.write(f"\r{self.label}{bar}{progress.status} {counts}\033[K")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


@contextmanager
def ctrl_c_cancels(progress):
    """The first Ctrl-C asks the job to stop where it can keep what it stored; the second interrupts.

    A bulk import interrupted outright rolls back everything it read; cancelled,
    it keeps what it read and rebuilds its indexes first.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_ctrl_c(signum, frame):
        if progress.cancelled():
            raise KeyboardInterrupt
        progress.cancel()
        sys.stderr.write("\nsegdesk: stopping and keeping what was read; Ctrl-C again to stop at once\n")

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
