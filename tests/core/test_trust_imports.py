"""Issue 18 item 4 (strict CSV), issue 23 items 3-5 (repeated order ids, tag case, honest counts).

Each case goes through the CLI (``--json`` and the exit status) with hand-made files.
"""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import CsvImportError, import_contacts, import_orders
from segdesk.core.store import open_workspace

ORDERS = "order_id,email,amount,currency,created_at\n"


def _run(capsys, *argv) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else None), out.err


def _stored(ws_path, sql):
    with open_workspace(ws_path) as w:
        return w.conn.execute(sql).fetchall()


@pytest.mark.parametrize("body,line,column,says", [
    # An open quote used to swallow the next lines into one field ("1 rows", exit 0).
    ('1,a@x.com,"10.00,usd,2026-03-01\n2,b@x.com,5.00,usd,2026-03-01\n', 2, "amount", "unterminated quote"),
    ('1,a@x.com,10.00,usd,2026-03-01\n2,b@x.com,5.00,usd,"2026-03-01" x\n', 3, "created_at", "text after a closing quote"),
    ("1,a@x.com,1e400,usd,2026-03-01\n", 2, "amount", "'1e400' is not an amount"),
    ("1,a@x.com,1_000,usd,2026-03-01\n", 2, "amount", "'1_000' is not an amount"),
    ("1,a@x.com,10.00,usd,9999-12-31T23:59:59-14:00\n", 2, "created_at", "is not between 1970 and 2100"),
    ("1,a@x.com,10.00,abc,2026-03-01\n", 2, "currency", "'abc' is not an ISO 4217 currency code"),
    ("1,a@x.com,10.00,usd,2026-03-01\n2,a@x.com,\"1,0,0\",usd,2026-03-01\n", 3, "amount", "'1,0,0' is not an amount"),
])
def test_a_file_that_cannot_be_read_exactly_is_refused_whole(tmp_path, capsys, body, line, column, says):
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS + "0,z@x.com,1.00,usd,2026-03-01\n" + body)
    # Row numbers are lines of the file: the header is 1, the good first order 2, so shift by one.
    code, _, err = _run(capsys, "import", "orders", str(f), "--json")
    assert code == 1 and "Traceback" not in err
    first = err.strip().splitlines()[-1]
    assert first.startswith(f"segdesk: row {line + 1}: ") and f"(column {column})" in first and says in first
    assert first.endswith("nothing imported")
    assert _stored(tmp_path / "workspace", "SELECT count(*) FROM orders") == [(0,)]


def test_a_quoted_field_over_128_kib_is_refused_naming_it(tmp_path, capsys):
    f = tmp_path / "contacts.csv"
    f.write_text("email,first_name\na@x.com,Ann\nb@x.com,\"" + "x" * (128 * 1024 + 1) + "\"\n")
    code, _, err = _run(capsys, "import", "contacts", str(f))
    assert code == 1 and "Traceback" not in err
    assert err.strip() == "segdesk: row 3: a field is longer than 128 KiB (column first_name); nothing imported"
    assert _stored(tmp_path / "workspace", "SELECT count(*) FROM contacts") == [(0,)]
    # Exactly 128 KiB is read.
    f.write_text("email,first_name\nb@x.com,\"" + "x" * (128 * 1024) + "\"\n")
    assert _run(capsys, "import", "contacts", str(f))[0] == 0


def test_lines_of_one_order_are_its_items(tmp_path, capsys):
    # A line-item export: order 7 is 30.00 + 12.50 = 42.50 USD with two products, 5.00 refunded on the second.
    f = tmp_path / "items.csv"
    f.write_text("order_id,email,amount,currency,created_at,refunded_amount,product\n"
                 "7,a@x.com,30.00,usd,2026-03-01T10:00:00Z,,Mug\n"
                 "8,b@x.com,9.00,usd,2026-03-02T10:00:00Z,,Cap\n"
                 "7,a@x.com,12.50,usd,2026-03-01T10:00:00Z,5.00,Tee\n")
    code, summary, _ = _run(capsys, "import", "orders", str(f), "--json")
    assert code == 0 and (summary["rows"], summary["inserted"]) == (2, 2)
    assert _stored(tmp_path / "workspace", "SELECT order_id, amount, product FROM orders ORDER BY order_id") == [
        ("7", 4250, "Mug; Tee"), ("8", 900, "Cap")]
    code, report, _ = _run(capsys, "report", "summary", "--json")
    assert report["orders"] == 2 and report["revenue"] == {"usd": 4250 - 500 + 900}
    # Re-importing the same file changes nothing.
    assert _run(capsys, "import", "orders", str(f), "--json")[1]["unchanged"] == 2


def test_one_order_id_with_two_emails_is_refused_naming_it(tmp_path, capsys):
    f = tmp_path / "clash.csv"
    f.write_text(ORDERS + "7,a@x.com,30.00,usd,2026-03-01\n7,b@x.com,12.50,usd,2026-03-01\n")
    code, _, err = _run(capsys, "import", "orders", str(f))
    assert code == 1
    assert err.strip() == ("segdesk: row 3: order_id '7' is repeated with another email or currency "
                           "(column order_id); nothing imported")


def test_tags_compare_without_case_and_keep_the_first_spelling(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text("email,tags\na@x.com,vip;Newsletter\nb@x.com,VIP\n")
    assert _run(capsys, "import", "contacts", str(f))[0] == 0
    f.write_text("email,tags\nc@x.com,Vip;NEWSLETTER\na@x.com,VIP\n")
    code, summary, _ = _run(capsys, "import", "contacts", str(f), "--json")
    # c is new; a already had "vip" (any case): nothing changed for a.
    assert code == 0 and (summary["inserted"], summary["updated"], summary["unchanged"]) == (1, 0, 1)
    assert _stored(tmp_path / "workspace", "SELECT DISTINCT tag FROM tags ORDER BY tag") == [("Newsletter",), ("vip",)]
    rows = {r["key"]: r["contacts"] for r in _run(capsys, "report", "ltv", "--by", "tag", "--json")[1]["rows"]}
    assert rows == {"vip": 3, "Newsletter": 2}


def test_a_file_that_only_adds_tags_reports_updates(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text("email,first_name\na@x.com,Ann\nb@x.com,Bob\n")
    assert _run(capsys, "import", "contacts", str(f), "--json")[1]["inserted"] == 2
    f.write_text("email,first_name,tags\na@x.com,Ann,vip\nb@x.com,Bob,\n")
    summary = _run(capsys, "import", "contacts", str(f), "--json")[1]
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 1, 1)
    f.write_text("email,contact_id\nb@x.com,crm-9\n")  # a new CRM id is a change too
    assert _run(capsys, "import", "contacts", str(f), "--json")[1]["updated"] == 1


def test_nothing_of_a_refused_file_is_stored_through_the_core_api(tmp_path):
    with open_workspace(tmp_path / "ws") as ws:
        import_contacts(ws, "email,tags\nkeep@x.com,old\n")
        with pytest.raises(CsvImportError):
            import_contacts(ws, 'email,tags\nnew@x.com,a\nbad@x.com,"b\n')
        with pytest.raises(CsvImportError):
            import_orders(ws, ORDERS + "1,keep@x.com,10.00,usd,2026-03-01\n2,keep@x.com,10.00,usd,0001-01-01\n")
        assert ws.conn.execute("SELECT email FROM contacts").fetchall() == [("keep@x.com",)]
        assert ws.conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_a_crm_sync_adds_tags_in_the_workspaces_spelling(tmp_path):
    from segdesk.sync import records

    with open_workspace(tmp_path / "ws") as ws:
        import_contacts(ws, "email,tags\na@x.com,VIP\n")
        with ws.conn:
            # The same tag from the CRM in another case is already there for a; for b it is added as "VIP".
            added = records.tags(ws.conn, [("email:a@x.com", "vip", "csv", None), ("email:b@x.com", "Vip", "kit", None)])
        assert added == 1
        assert ws.conn.execute("SELECT identifier, tag FROM tags ORDER BY identifier").fetchall() == [
            ("email:a@x.com", "VIP"), ("email:b@x.com", "VIP")]
