"""Which spend line bought a touch: the one rule ROAS, the campaign table, drill-down and unmatched spend share.

A spend line is a (source, medium, campaign, ad group) with its spend per
currency on days in the range (``spend_rows``: CSV and ad platforms alike).
At the ``campaign`` grain ad groups are added up (every line's ad group is
''); at the ``ad_group`` grain each platform ad group is a line of its own and
CSV spend, naming none, is a campaign's open line.

A touch (source, medium, campaign, content, term) is bought by:

1. the lines of its source whose medium is its medium or unnamed, never for
   direct, organic, referral or (none) touches (they never absorb paid spend);
2. among them the line naming its campaign (by name or id: ``spend_rows``
   holds the id where touches use it), else a line naming no campaign; a line
   naming the medium before one that does not;
3. at the ad group grain, among that campaign's lines: the ad group that
   ``utm_content`` names, else the one ``utm_term`` names (by name or id, as
   Microsoft's auto-tagging, Meta's ``{{adset.name}}`` and the gclid
   resolution in core/click_ids.py put it), else the campaign's line naming
   no ad group; otherwise none.

Spend that no visit in the range meets by this rule is *unmatched*: reports
list it apart instead of showing it as a campaign with no leads, so a
report's rows plus its unmatched spend are all the spend, per currency.
"""

from __future__ import annotations

from datetime import datetime

from .converted import spend_source
from .filters import spend_wanted
from .model import Range
from .touches import first_touch_sql

GRAINS = ("campaign", "ad_group")
UNPAID_MEDIA = ("organic", "referral", "(none)")  # (direct) has medium (none)
Line = tuple[str, str, str, str]  # source, medium, campaign, ad group ('' where a line names none)


def local_date(ts: str | None, rng: Range) -> str | None:
    return datetime.fromisoformat(ts).astimezone(rng.zone).date().isoformat() if ts else None


def has_spend(conn) -> bool:
    """Whether any ad spend was imported (without it ROAS has nothing to divide by)."""
    return bool(conn.execute("SELECT EXISTS(SELECT 1 FROM spend_rows)").fetchone()[0])


def spend_lines(conn, rng: Range, grain: str = "campaign") -> dict[Line, dict[str, int]]:
    """line -> {currency: spend} on days in the range, under the range's source / campaign filters."""
    group = "ad_group" if grain == "ad_group" else "''"
    out: dict[Line, dict[str, int]] = {}
    for source, medium, campaign, ad_group, cur, amount in conn.execute(
        f"SELECT source, medium, campaign, {group}, currency, sum(spend) FROM {spend_source()} "
        "WHERE (:since IS NULL OR date >= :since) AND (:until IS NULL OR date < :until) GROUP BY 1, 2, 3, 4, 5",
        {"since": local_date(rng.since, rng), "until": local_date(rng.until, rng)},
    ):
        if spend_wanted(rng, source, campaign):
            out.setdefault((source, medium, campaign, ad_group or ""), {})[cur] = amount
    return out


class Matcher:
    """The rule above over one report's lines, remembered per touch (reports ask for the same touch often)."""

    def __init__(self, conn, lines: dict[Line, dict[str, int]], grain: str = "campaign"):
        self.lines, self.grain = lines, grain
        self._by_source: dict[str, list[Line]] = {}
        for line in lines:
            self._by_source.setdefault(line[0], []).append(line)
        # An ad group named by its id in utm_content / utm_term is the platform's ad group of that name.
        self._ad_group_names = dict(conn.execute(
            "SELECT DISTINCT lower(ad_group_id), lower(ad_group) FROM ad_platform_spend WHERE ad_group_id <> ''"
        ).fetchall()) if grain == "ad_group" else {}
        self._seen: dict[tuple, Line | None] = {}

    def line_of(self, source: str, medium: str, campaign: str | None, content: str | None = None,
                term: str | None = None) -> Line | None:
        if self.grain != "ad_group":
            content = term = None
        key = (source, medium, campaign or "", content or "", term or "")
        if key not in self._seen:
            self._seen[key] = self._find(*key)
        return self._seen[key]

    def _campaign_lines(self, source: str, medium: str, campaign: str) -> list[Line]:
        """Steps 1 and 2: the lines of the one (source, medium, campaign) that bought the touch."""
        if medium in UNPAID_MEDIA or source == "(direct)":
            return []
        fits = [line for line in self._by_source.get(source, ()) if line[1] in (medium, "")]
        named = [line for line in fits if line[2] and line[2] == campaign]
        pool = named or [line for line in fits if not line[2]]
        if not pool:
            return []
        best = min(pool, key=lambda line: line[1] == "")  # the line naming the medium before one that does not
        return [line for line in pool if line[:3] == best[:3]]

    def campaign_has_spend(self, source: str, medium: str, campaign: str | None) -> bool:
        return bool(self._campaign_lines(source, medium, campaign or ""))

    def _find(self, source: str, medium: str, campaign: str, content: str, term: str) -> Line | None:
        pool = self._campaign_lines(source, medium, campaign)
        if not pool or self.grain != "ad_group":
            return pool[0] if pool else None
        groups = {line[3]: line for line in pool}
        for said in (content, term):
            said = self._ad_group_names.get(said, said)
            if said and said in groups:
                return groups[said]
        return groups.get("")

    def visited(self, conn, rng: Range, among: set[Line]) -> set[Line]:
        """The lines of ``among`` that some session starting in the range was bought by.

        Reports ask only about the lines their leads did not already show met, so a
        workspace whose every line has leads never scans the sessions.
        """
        if not among:
            return set()
        sources = {f"s{i}": source for i, source in enumerate(sorted({line[0] for line in among}))}
        extra = ", coalesce(content, ''), coalesce(term, '')" if self.grain == "ad_group" else ""
        hit: set[Line] = set()
        for touch in conn.execute(
            f"SELECT DISTINCT source, medium, coalesce(campaign, ''){extra} FROM sessions "
            "WHERE (:since IS NULL OR start_ts >= :since) AND (:until IS NULL OR start_ts < :until) "
            f"AND medium NOT IN {UNPAID_MEDIA!r} AND source IN ({', '.join(':' + k for k in sources)})",
            {"since": rng.since, "until": rng.until, **sources},
        ):
            line = self.line_of(*touch)
            if line in among:
                hit.add(line)
        return hit


def unmatched(lines: dict[Line, dict[str, int]], matched: set[Line], grain: str) -> list[dict]:
    """Spend of the lines no touch met: ``[{"source", "medium", "campaign"[, "ad_group"], "currency", "spend"}]``."""
    out = []
    for line, money in lines.items():
        if line in matched:
            continue
        for cur, amount in money.items():
            out.append({"source": line[0], "medium": line[1], "campaign": line[2],
                        **({"ad_group": line[3]} if grain == "ad_group" else {}), "currency": cur, "spend": amount})
    out.sort(key=lambda u: (-u["spend"], u["source"], u["medium"], u["campaign"], u.get("ad_group", "")))
    return out


def first_touch_ads(conn, contact_ids) -> dict[int, tuple[str, str]]:
    """contact -> (utm_content, utm_term) of its first touch's session ('' where none)."""
    ids = sorted(set(contact_ids))
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        out.update((cid, (content, term)) for cid, content, term in conn.execute(
            f"SELECT ft.contact_id, coalesce(s.content, ''), coalesce(s.term, '') FROM ({first_touch_sql(conn)}) ft "
            f"LEFT JOIN sessions s ON s.id = ft.session_id WHERE ft.contact_id IN ({','.join('?' * len(chunk))})",
            chunk))
    return out
