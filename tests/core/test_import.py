"""Importing events and CSV files: duplicates, malformed input, money, and what the user is told."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import orjson
import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import CsvImportError, import_orders, import_spend
from segdesk.core.importing.events import import_events_file
from segdesk.core.money import MoneyError, to_minor
from segdesk.core.store import open_workspace

from .wire import at, identify, page


@pytest.fixture
def ws(tmp_path):
    with open_workspace(tmp_path / "ws") as w:
        yield w


def _jsonl(events) -> bytes:
    return b"\n".join(e if isinstance(e, bytes) else orjson.dumps(e) for e in events) + b"\n"


def test_duplicates_by_message_id_are_stored_once(ws):
    events = [page("a", at(0), mid="x1"), page("a", at(0, 1), mid="x2")]
    first = import_events_file(ws, io.BytesIO(_jsonl(events + events[:1])))
    assert (first.imported, first.duplicates) == (2, 1)
    again = import_events_file(ws, io.BytesIO(_jsonl(events)))
    assert (again.imported, again.duplicates) == (0, 2)
    assert ws.conn.execute("SELECT events FROM devices WHERE anonymous_id = 'a'").fetchone()[0] == 2


def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_import(ws):
    lines = [
        orjson.dumps(page("a", at(0))),
        b"{not json",
        orjson.dumps({"type": "page", "messageId": "n1", "timestamp": at(0)}),
        orjson.dumps({"type": "explode", "anonymousId": "a", "timestamp": at(0)}),
        b"",
        orjson.dumps({"type": "page", "anonymousId": "a", "timestamp": "yesterday"}),
        b"[1, 2]",
        orjson.dumps(page("b", at(1))),
    ]
    result = import_events_file(ws, io.BytesIO(b"\n".join(lines)))
    assert result.imported == 2 and result.rejected == 5
    reasons = dict(result.errors)
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3] == "neither anonymousId nor userId"
    assert reasons[4] == "unknown type 'explode'"
    assert "not ISO 8601" in reasons[6]
    assert reasons[7] == "not a JSON object"


def test_missing_message_id_gets_a_stable_one_so_reimport_dedupes(ws):
    ev = page("a", at(0))
    del ev["messageId"]
    assert import_events_file(ws, io.BytesIO(_jsonl([ev]))).imported == 1
    assert import_events_file(ws, io.BytesIO(_jsonl([ev]))).duplicates == 1


def test_clock_skew_is_corrected_from_sent_at_and_received_at(ws):
    ev = page("a", "2026-03-01T10:00:00Z", mid="skew")
    ev.update(sentAt="2026-03-01T10:00:05Z", receivedAt="2026-03-01T09:00:05Z")
    import_events_file(ws, io.BytesIO(_jsonl([ev])))
    assert ws.conn.execute("SELECT ts FROM events").fetchone()[0] == "2026-03-01T09:00:00.000Z"


def test_timestamps_with_offsets_become_utc(ws):
    import_events_file(ws, io.BytesIO(_jsonl([page("a", "2026-03-01T10:00:00.5+02:00", mid="tz")])))
    assert ws.conn.execute("SELECT ts FROM events").fetchone()[0] == "2026-03-01T08:00:00.500Z"


@pytest.mark.parametrize("amount,currency,minor", [
    ("49.00", "usd", 4900), ("49", "USD", 4900), ("0.1", "eur", 10), ("4900", "jpy", 4900),
    ("1,234.56", "usd", 123456), ("1.234", "kwd", 1234),
])
def test_amounts_convert_exactly_to_minor_units(amount, currency, minor):
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize("amount,currency", [("49.001", "usd"), ("10.5", "jpy"), ("abc", "usd"), ("nan", "usd")])
def test_amounts_finer_than_the_currency_are_refused(amount, currency):
    with pytest.raises(MoneyError):
        to_minor(amount, currency)


def test_a_bad_csv_row_imports_nothing_and_names_the_row(ws):
    text = ("order_id,email,amount,currency,created_at\n"
            "o1,a@example.com,10.00,usd,2026-03-01\n"
            "o2,not-an-email,10.00,usd,2026-03-01\n"
            "o3,b@example.com,10.001,usd,2026-03-01\n")
    with pytest.raises(CsvImportError) as err:
        import_orders(ws, text)
    assert [row for row, _ in err.value.errors] == [3, 4]
    assert str(err.value).startswith("row 3: 'not-an-email' is not an email address")
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_orders_csv_is_idempotent_and_updates_refunds(ws):
    text = "order_id,email,amount,currency,created_at,refunded_amount\no1,A@example.com ,4900,jpy,2026-03-01,\n"
    assert import_orders(ws, text).inserted == 1
    assert import_orders(ws, text).unchanged == 1
    import_orders(ws, text.replace(",\n", ",900\n"))
    assert ws.conn.execute("SELECT email, amount, currency FROM orders").fetchall() == [("a@example.com", 4900, "jpy")]
    assert ws.conn.execute("SELECT amount FROM refunds").fetchall() == [(900,)]


def test_spend_lines_for_one_day_and_campaign_add_up(ws):
    import_spend(ws, "date,source,campaign,spend,currency\n2026-03-01,Facebook,spring,10.00,usd\n"
                     "2026-03-01,facebook,Spring,2.50,usd\n")
    assert ws.conn.execute("SELECT source, campaign, spend FROM ad_spend").fetchall() == [("facebook", "spring", 1250)]


def test_cli_import_summary_and_journey_json(tmp_path, capsys):
    f = tmp_path / "e.jsonl"
    f.write_bytes(_jsonl([page("a", at(0)), identify("a", at(0, 1), email="x@example.com"), b"oops"]))
    # A rejected line makes the exit status 1 (this test had 0: issue 12 item 11); the good lines stay.
    assert main(["import", "events", str(f), "--json"]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert (summary["imported"], summary["rejected"]) == (2, 1)
    assert "line 3: not valid JSON" in out.err
    assert out.err.splitlines()[-1] == "segdesk: 1 lines rejected, 2 imported, 0 duplicates; the imported lines are stored"
    with open_workspace(tmp_path / "workspace") as w:
        assert w.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    assert main(["import", "events", str(f)]) == 1  # again: 2 duplicates, still 1 rejected
    assert capsys.readouterr().err.splitlines()[-1].startswith("segdesk: 1 lines rejected, 0 imported, 2 duplicates")


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    env_ws = str(tmp_path / "cli-ws")
    run = lambda *a: subprocess.run([sys.executable, "-m", "segdesk.cli", "--workspace", env_ws, *a],
                                    capture_output=True, text=True)
    missing = run("journey", "nobody@example.com")
    assert missing.returncode == 1
    assert missing.stderr == "segdesk: no contact with email nobody@example.com\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,email\n1,a@example.com\n")
    result = run("import", "orders", str(bad))
    assert result.returncode == 1 and "missing column(s): amount, currency, created_at" in result.stderr
    assert "Traceback" not in result.stderr
    assert run("import", "nothing").returncode == 2
    assert run("import", "events", str(tmp_path / "absent.jsonl")).stderr.startswith("segdesk: cannot read")


def test_counts_are_events_not_what_triggers_write(ws):
    events = [page("a", at(0)), identify("a", at(0, 1), email="x@example.com"), identify("b", at(0, 2), email="y@example.com")]
    result = import_events_file(ws, io.BytesIO(_jsonl(events)))
    assert (result.imported, result.duplicates) == (3, 0)
    again = import_events_file(ws, io.BytesIO(_jsonl(events)))
    assert (again.imported, again.duplicates) == (0, 3)
