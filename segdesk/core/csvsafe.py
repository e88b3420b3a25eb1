"""CSV that a spreadsheet cannot run (OWASP's CSV-injection rule).

Exported values come from strangers: a utm_source, a contact id or a product
name can arrive from any web visitor. Spreadsheets read a cell beginning with
`=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so such a text is
written with a leading apostrophe, which spreadsheets show as text. Numbers
stay numbers: an int or float, or a text that is exactly a decimal number
("-12.50"), is written unchanged.
"""

from __future__ import annotations

import csv
import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value):
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeWriter:
    """csv.writer whose rows pass through safe_cell."""

    def __init__(self, fileobj, **kwargs) -> None:
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row) -> None:
        self._writer.writerow([safe_cell(v) for v in row])


def writer(fileobj, **kwargs) -> SafeWriter:
    return SafeWriter(fileobj, **kwargs)
