"""Ad spend that matches no touch: spend whose source, medium and campaign no session carries.

Reports put spend beside the leads of the same key; spend whose key no visit
ever arrived with (an ad tagged differently from what the platform calls the
campaign, or ads whose clicks were never tracked) would otherwise sit there
with no leads and look like a failing campaign. This names it instead.
Campaigns compare case-insensitively (sessions and ``spend_rows`` both hold
them lower-case); a platform row's campaign is its id where touches use the id.
"""

from __future__ import annotations

UNMATCHED_SQL = """
SELECT s.source, s.medium, s.campaign, s.currency, sum(s.spend)
FROM spend_rows s
WHERE (:since IS NULL OR s.date >= :since) AND (:until IS NULL OR s.date < :until)
  AND NOT EXISTS (SELECT 1 FROM sessions t NOT INDEXED WHERE t.source = s.source
                  AND (s.medium = '' OR t.medium = s.medium)
                  AND (s.campaign = '' OR t.campaign = s.campaign))
GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2, 3
"""
# NOT INDEXED: a scan stops at the first matching session, a few rows in; through the
# sessions_channel_device index (migration 0019) SQLite walked every session of the source
# for each spend row (19 s for ROAS at 1M events instead of 3 ms).


def unmatched_spend(conn, since: str | None, until: str | None) -> list[dict]:
    """Spend per (source, medium, campaign, currency) on days in [since, until) that no touch matches."""
    return [{"source": src, "medium": med, "campaign": camp, "currency": cur, "spend": amount}
            for src, med, camp, cur, amount in conn.execute(UNMATCHED_SQL, {"since": since, "until": until})]
