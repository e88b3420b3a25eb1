"""CSV exports are safe to open in a spreadsheet (OWASP's CSV-injection rule):
texts a spreadsheet would run as a formula come out with a leading apostrophe,
numbers come out unchanged."""

from __future__ import annotations

import csv
import io

import pytest

from segdesk.cli import main
from segdesk.core.csvsafe import safe_cell

from ..hostile_data import CMD, EMAIL, SOURCE, TAG, build_hostile_workspace


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("+1-2", "'+1-2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-", "'-"), ("--x", "'--x"),
    # Numbers, as numbers or as text, stay exactly what they are.
    ("-12.50", "-12.50"), ("+3", "+3"), ("-7", "-7"), (-12.5, -12.5), (0, 0), (None, None),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), ("1e5", "1e5"),
])
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def _csv(capsys, *argv) -> list[list[str]]:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))


def test_every_csv_output_writes_formulas_as_text(_fresh_workspace, capsys):
    build_hostile_workspace(_fresh_workspace)

    header, row = _csv(capsys, "contacts", "--csv")
    contact = dict(zip(header, row))
    assert contact["email"] == EMAIL
    assert contact["name"] == f"'{CMD} <i>Doe</i>"
    assert contact["tags"] == f"'{TAG}"

    header, row = _csv(capsys, "report", "ltv", "--by", "source", "--csv")
    ltv = dict(zip(header, row))
    assert ltv["key"] == f"'{SOURCE}"
    assert (ltv["contacts"], ltv["customers"], ltv["revenue_usd"]) == ("1", "1", "49.00")

    header, row = _csv(capsys, "report", "ltv", "--by", "tag", "--csv")
    assert row[0] == f"'{TAG}"

    header, row = _csv(capsys, "report", "attribution", "--model", "linear", "--by", "source", "--csv")
    assert dict(zip(header, row)) == {"key": f"'{SOURCE}", "credit_usd": "49.000", "orders": "1.0"}

    rows = _csv(capsys, "report", "ltv", "--by", "source", "--rows", SOURCE, "--csv")
    assert [r[:3] for r in rows[1:]] == [["contact", EMAIL, ""], ["order", EMAIL, "o1"]]
