"""The European Central Bank's euro foreign exchange reference rates: a built-in source, no key.

The ECB publishes one rate per currency per TARGET working day, around 16:00
CET, as units of the currency per one euro
(https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/).
Two of its files are read from ``BASE`` (``base_url`` overrides it, for tests):

- ``eurofxref-hist.zip``: one CSV, ``eurofxref-hist.csv``, every day since 1999,
  newest first: a header ``Date,USD,JPY,...,`` (a trailing comma), then
  ``2026-03-06,1.0842,162.12,...,`` with ``N/A`` where a currency had no rate;
  read on the first sync and whenever the stored rates are older than the
  90-day file reaches back;
- ``eurofxref-hist-90d.xml``: the last 90 days as gesmes XML, ``<Cube
  time="2026-03-06"><Cube currency="USD" rate="1.0842"/>...``; read on every
  later sync (a few kilobytes).

Rates are stored with origin ``ecb`` (core/fx.py); re-reading the same days
changes nothing. The cursor keeps the latest day stored.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from xml.etree import ElementTree

from ...core.fx import store_rates
from ...errors import VendorError
from ..context import SyncContext

BASE = "https://www.ecb.europa.eu/stats/eurofxref"
HIST_ZIP = "/eurofxref-hist.zip"
RECENT_XML = "/eurofxref-hist-90d.xml"
RECENT_DAYS = 80  # the 90-day file is enough while the latest stored day is younger than this
NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


def parse_hist_csv(text: str) -> list[tuple[str, str, float]]:
    rows = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(rows, [])]
    if not header or header[0] != "date":
        raise VendorError("the ECB history file does not start with a Date column")
    out = []
    for fields in rows:
        if not fields or not fields[0].strip():
            continue
        day = _day(fields[0])
        for cur, value in zip(header[1:], fields[1:]):
            value = value.strip()
            if cur and value and value.upper() != "N/A":
                out.append((cur, day, _rate(value)))
    return out


def parse_xml(data: bytes) -> list[tuple[str, str, float]]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise VendorError(f"the ECB rates file is not XML ({exc})") from None
    out = []
    for day_cube in root.iter(f"{NS}Cube"):
        if "time" not in day_cube.attrib:
            continue
        day = _day(day_cube.attrib["time"])
        for cube in day_cube:
            cur, rate = cube.attrib.get("currency"), cube.attrib.get("rate")
            if cur and rate:
                out.append((cur.strip().lower(), day, _rate(rate)))
    return out


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise VendorError(f"the ECB rates file has a day that is not a date: {text[:20]!r}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise VendorError(f"the ECB rates file has a rate that is not a number: {text[:20]!r}") from None
    if not value > 0:
        raise VendorError(f"the ECB rates file has a rate that is not positive: {text[:20]!r}")
    return value


def _unzip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise VendorError("the ECB history archive holds no CSV file")
            return z.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile:
        raise VendorError("the ECB history archive is not a zip file") from None


def sync(ctx: SyncContext) -> None:
    client = ctx.client(BASE, auth_words="the request")
    latest = ctx.cursor.get("latest")
    whole = not latest or date.fromisoformat(latest) < date.today() - timedelta(days=RECENT_DAYS)
    ctx.count("reading the ECB's rates", 0.1)
    if whole:
        rows = parse_hist_csv(_unzip(client.request("GET", HIST_ZIP).content))
    else:
        rows = parse_xml(client.request("GET", RECENT_XML).content)
    ctx.check()
    newest = max((day for _, day, _ in rows), default=latest)
    changed = ctx.commit({"latest": newest}, lambda conn: store_rates(conn, rows, "ecb"))
    ctx.add_changed(rates=changed)
    ctx.count(f"{len(rows)} rates", 1.0, rates=len(rows))
