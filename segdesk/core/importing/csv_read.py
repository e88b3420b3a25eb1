"""Reading an import CSV strictly: what cannot be read exactly is refused, naming the line and the column.

One record per line (RFC 4180 with ``strict``): a quote left open does not run
on into the next lines (it used to swallow them into one field), a line
break inside a quoted field is refused (no column of an import holds one),
a field is at most ``MAX_FIELD`` characters, and dates lie within
``FIRST_YEAR``..``LAST_YEAR``. The column of a refused value is named by its
header.
"""

from __future__ import annotations

import csv
import re
from ..timeutil import format_ts, parse_ts

MAX_FIELD = 128 * 1024  # the csv module's own limit, said out loud
FIRST_YEAR, LAST_YEAR = 1970, 2100  # a date outside is a typo (20224) or a placeholder (9999-12-31)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class CellError(ValueError):
    """A value that cannot be read; ``column`` names it."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def _bad_field(line: str) -> int:
    """Index of the field where strict parsing of ``line`` fails: an open quote, text after one, or a long field."""
    index, start, quoted, at_start, i = 0, 0, False, True, 0
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == '"':
                if line[i + 1:i + 2] == '"':
                    i += 2
                    continue
                quoted = False
                if i + 1 < len(line) and line[i + 1] != ",":
                    return index
        elif ch == ",":
            if i - start > MAX_FIELD:
                return index
            index, start, at_start = index + 1, i + 1, True
            i += 1
            continue
        elif ch == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return index


class LineError(ValueError):
    """A line that cannot be split into fields: its number and the index of the field at fault."""

    def __init__(self, lineno: int, index: int, reason: str):
        super().__init__(reason)
        self.lineno, self.index = lineno, index


def records(text: str):
    """(line number, fields) per non-blank line; a line that cannot be read raises LineError."""
    for lineno, line in enumerate(LINE_BREAK.split(text), start=1):  # \r\n, \n or an old Mac's \r
        if not line.strip():
            continue
        try:
            fields = next(csv.reader((line,), strict=True))
        except csv.Error as exc:
            reason = str(exc)
            if "unexpected end of data" in reason:
                reason = "a quoted field is not closed on its line (an unterminated quote?)"
            elif "expected after" in reason:
                reason = "text after a closing quote"
            elif "new-line character" in reason:
                reason = "a field holds a line break"
            elif "field larger" in reason:
                reason = f"a field is longer than {MAX_FIELD // 1024} KiB"
            raise LineError(lineno, _bad_field(line), reason) from None
        for i, value in enumerate(fields):
            if len(value) > MAX_FIELD:
                raise LineError(lineno, i, f"a field is longer than {MAX_FIELD // 1024} KiB")
        yield lineno, fields


def timestamp(value: str, column: str) -> str:
    """An ISO 8601 date or time as stored UTC text, within FIRST_YEAR..LAST_YEAR."""
    try:
        t = parse_ts(value)
    except ValueError:
        raise CellError(column, f"'{value}' is not an ISO 8601 date or time") from None
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
        t = None
    if t is None or not FIRST_YEAR <= t.year <= LAST_YEAR:
        raise CellError(column, f"'{value}' is not between {FIRST_YEAR} and {LAST_YEAR}")
    return format_ts(t)
