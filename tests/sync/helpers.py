"""Small helpers shared by the sync tests."""

from __future__ import annotations

from segdesk.sync.sources import add_source

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
