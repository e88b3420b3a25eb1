"""Small helpers shared by the sync tests."""

from __future__ import annotations

from segdesk.core.read.journey import journey
from segdesk.sync.engine import run_sync
from segdesk.sync.sources import add_source

from .loopback import Loopback

DOMAIN_TABLES = ("events", "contacts", "contact_keys", "orders", "refunds", "subscriptions", "tags",
                 "ad_spend", "identity_nodes", "device_segments", "devices")


def dump(ws) -> dict:
    """Every domain table row for row, plus each source's final cursor."""
    out = {t: ws.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in DOMAIN_TABLES}
    out["cursors"] = ws.conn.execute("SELECT source, cursor FROM sync_state ORDER BY 1").fetchall()
    return out


def add(ws, kind: str, name: str | None = None, secret: str = "sk_test_secret", **config):
    return add_source(ws, kind, name, config, secret)


def query_params(fake, path_part: str) -> list:
    return [r.url.params for r in fake.log if path_part in r.url.path]


def tag_rows(ws) -> list:
    """Every tag as (identifier, tag), in order."""
    return ws.conn.execute("SELECT identifier, tag FROM tags ORDER BY identifier, tag").fetchall()


def revenue(ws, email: str) -> dict:
    return journey(ws.conn, email)["contact"]["revenue"]


def sync_over_loopback(ws, fake, options, kind: str):
    """One `segdesk sync` with ``kind``'s fake served on a real loopback port."""
    with Loopback(fake) as transport:
        return run_sync(ws, options=options(**{kind: transport}))
