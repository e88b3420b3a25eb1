"""Issue 16 item 1: converted figures at each order's day's ECB rate, from a fake ECB on loopback.

The fake serves the ECB's real file shapes: ``eurofxref-hist.zip`` holding
``eurofxref-hist.csv`` (newest day first, a trailing comma, ``N/A``) and
``eurofxref-hist-90d.xml`` (gesmes envelope, Cube per day). Every expected
value is computed by hand in the comment above it.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace
from segdesk.sync.engine import run_sync

HIST = ("Date,USD,JPY,BGN,CYP,GBP,\n"
        "2026-03-06,1.1000,160.00,1.9558,N/A,0.8500,\n"
        "2026-03-05,1.2000,161.00,1.9558,N/A,0.8400,\n")


def recent_xml(day: str, usd: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
            f'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
            f'\t<gesmes:subject>Reference rates</gesmes:subject>\n'
            f'\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n'
            f'\t<Cube>\n\t\t<Cube time="{day}">\n\t\t\t<Cube currency="USD" rate="{usd}"/>\n'
            f'\t\t\t<Cube currency="JPY" rate="160.00"/>\n\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n').encode()


class FakeEcb:
    def __init__(self) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("eurofxref-hist.csv", HIST)
        self.files = {"/stats/eurofxref/eurofxref-hist.zip": buf.getvalue(),
                      "/stats/eurofxref/eurofxref-hist-90d.xml": recent_xml("2026-03-06", "1.1000")}
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.paths.append(self.path)
                body = fake.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b"not found"
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/stats/eurofxref"


@pytest.fixture
def ecb():
    fake = FakeEcb()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def shop(_fresh_workspace, ecb, capsys):
    """A 100 USD on Friday 2026-03-06, B 30 USD on Saturday the 7th, C 50 EUR, D 1,000 ARS (no ECB rate)."""
    with open_workspace(_fresh_workspace) as w:
        import_orders(w, "order_id,email,amount,currency,created_at\n"
                         "1,a@x.com,100.00,usd,2026-03-06T15:00:00Z\n2,b@x.com,30.00,usd,2026-03-07T10:00:00Z\n"
                         "3,c@x.com,50.00,eur,2026-03-06T10:00:00Z\n4,d@x.com,1000.00,ars,2026-03-06T10:00:00Z\n")
        refresh_after_import(w)
    assert main(["settings", "set", "reporting-currency", "EUR"]) == 0
    assert "source 'ecb'" in capsys.readouterr().out
    with open_workspace(_fresh_workspace) as w:
        w.conn.execute("UPDATE sources SET config = ? WHERE name = 'ecb'", (json.dumps({"base_url": ecb.base}),))
        w.conn.commit()
        report = run_sync(w)
    assert report.ok, report.as_dict()
    return _fresh_workspace


def _recently_synced(w) -> None:
    """The data's days are fixed, today is not: a cursor two days old makes the next sync read the 90-day file."""
    w.conn.execute("UPDATE sync_state SET cursor = ? WHERE source = 'ecb'",
                   (json.dumps({"latest": (date.today() - timedelta(days=2)).isoformat()}),))
    w.conn.commit()


def test_sync_stores_the_ecb_history_then_reads_the_90_day_file(shop, ecb):
    assert ecb.paths == ["/stats/eurofxref/eurofxref-hist.zip"]
    with open_workspace(shop) as w:
        rates = dict(((c, d), r) for c, d, r in w.conn.execute("SELECT currency, day, rate FROM fx_rates"))
        assert rates[("usd", "2026-03-06")] == 1.1 and rates[("gbp", "2026-03-05")] == 0.84
        assert ("cyp", "2026-03-06") not in rates  # N/A is no rate
        # The cursor is recent enough now (relative to a today near the data) only when it is: move it there.
        w.conn.execute("UPDATE sync_state SET cursor = ? WHERE source = 'ecb'",
                       (json.dumps({"latest": (date.today() - timedelta(days=2)).isoformat()}),))
        w.conn.commit()
        ecb.files["/stats/eurofxref/eurofxref-hist-90d.xml"] = recent_xml("2026-03-06", "1.1000")
        again = run_sync(w)
        assert again.ok and again.sources[0].changed == {}  # the same days again change nothing
        assert ecb.paths[-1] == "/stats/eurofxref/eurofxref-hist-90d.xml"
        # The ECB publishes a new day: one rate more (USD on the 9th), stored beside the others.
        ecb.files["/stats/eurofxref/eurofxref-hist-90d.xml"] = recent_xml("2026-03-09", "1.0500")
        _recently_synced(w)
        assert run_sync(w).sources[0].changed == {"rates": 2}  # USD and JPY of the new day
        assert w.conn.execute("SELECT rate FROM fx_rates WHERE currency = 'usd' AND day = '2026-03-09'").fetchone() == (1.05,)


def test_summary_converts_each_order_at_its_days_rate(shop, capsys):
    s = _json(capsys, "report", "summary")  # the chosen reporting currency converts by default
    # A: 100 USD / 1.10 = 90.909 -> 90.91 EUR; B on Saturday takes Friday's 1.10: 30 / 1.10 = 27.27 EUR;
    # C 50 EUR stays; D's ARS has no rate: left out. Total 90.91 + 27.27 + 50.00 = 168.18 EUR.
    c = s["converted"]
    assert c["currency"] == "eur" and c["revenue"] == {"eur": 16818}
    assert s["revenue"] == {"ars": 100000, "eur": 5000, "usd": 13000}  # the originals stay as they were
    assert c["rates"]["usd"] == {"origins": ["ecb"], "first_rate_day": "2026-03-06", "last_rate_day": "2026-03-06",
                                 "days_on_earlier_rate": 1}
    assert c["rates"]["ars"]["missing_days"] == 1 and c["sources"] == ["ECB euro reference rates"]
    capsys.readouterr()
    assert main(["report", "summary"]) == 0
    out = capsys.readouterr()
    assert "revenue: 1,000.00 ARS, 50.00 EUR, 130.00 USD = 168.18 EUR" in out.out
    assert "no ARS rate for 1 day (2026-03-06)" in out.err
    assert "the latest earlier rate was used" in out.err


def test_a_manual_rate_fills_a_currency_the_ecb_lacks(shop, capsys):
    assert main(["rates", "set", "2026-03-06", "ARS", "1250"]) == 0
    s = _json(capsys, "report", "summary", "--currency", "usd")
    # Into USD on the 6th (USD 1.10 per EUR): 1,000 ARS / 1250 * 1.10 = 0.88 USD; 50 EUR * 1.10 = 55.00 USD;
    # A 100.00 USD and B 30.00 USD stay. 0.88 + 55.00 + 130.00 = 185.88 USD.
    assert s["converted"]["revenue"] == {"usd": 18588}
    assert s["converted"]["sources"] == ["ECB euro reference rates", "manual rate table"]


def test_bad_rates_are_refused_in_one_line(shop, capsys, tmp_path):
    capsys.readouterr()
    assert main(["rates", "set", "2026-02-30", "USD", "1.1"]) == 1
    assert main(["rates", "set", "2026-03-01", "XYZ", "1.1"]) == 1
    assert main(["rates", "set", "2026-03-01", "USD", "-2"]) == 1
    bad = tmp_path / "rates.csv"
    bad.write_text("date,currency,rate\n2026-03-01,usd,1.1\n2026-03-02,usd,abc\n")
    assert main(["rates", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 4 and "rate 2:" in err
    with open_workspace(shop) as w:  # nothing of the bad file was stored
        assert w.conn.execute("SELECT count(*) FROM fx_rates WHERE origin = 'manual'").fetchone()[0] == 0


def test_an_ecb_that_answers_nonsense_fails_in_one_line_and_keeps_the_rates(shop, ecb):
    with open_workspace(shop) as w:
        before = w.conn.execute("SELECT count(*) FROM fx_rates").fetchone()[0]
        ecb.files["/stats/eurofxref/eurofxref-hist.zip"] = b"<html>maintenance</html>"
        result = run_sync(w).sources[0]
        assert result.status == "failed" and result.reason == "the ECB history archive is not a zip file"
        ecb.files.pop("/stats/eurofxref/eurofxref-hist.zip")
        result = run_sync(w).sources[0]
        assert result.status == "failed" and "404" in result.reason and "\n" not in result.reason
        assert w.conn.execute("SELECT count(*) FROM fx_rates").fetchone()[0] == before


def test_settings_and_the_manual_table_from_the_command_line(shop, capsys, tmp_path):
    assert _json(capsys, "settings", "get", "reporting-currency") == {"reporting-currency": "eur", "chosen": True}
    good = tmp_path / "rates.csv"
    good.write_text("date,currency,rate\n2026-03-06,ARS,1250\n2026-03-07,ars,1260.5\n")
    capsys.readouterr()
    assert main(["rates", "import", str(good)]) == 0
    assert "2 rates read, 2 new or changed" in capsys.readouterr().out
    assert main(["rates", "import", str(good)]) == 0  # again: nothing changes
    assert "0 new or changed" in capsys.readouterr().out
    listed = _json(capsys, "rates", "list", "--currency", "ars")["rates"]
    assert listed == [{"day": "2026-03-06", "currency": "ars", "rate": 1250.0, "origin": "manual"},
                      {"day": "2026-03-07", "currency": "ars", "rate": 1260.5, "origin": "manual"}]
    capsys.readouterr()
    assert main(["report", "summary", "--currency", "xx"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
