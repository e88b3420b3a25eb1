"""Small helpers shared by the sync tests."""

from __future__ import annotations

from segdesk.core.read.journey import journey
from segdesk.core.store import open_workspace
from segdesk.sync.engine import run_sync
from segdesk.sync.sources import add_source

from .fakes import Killed
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


def killed_then_resumed_equals_whole(tmp_path, options, kind, make, secret, **config):
    """A sync killed after 1, 2, 2 and 3 pages and then resumed stores what one whole sync stores."""
    whole = open_workspace(tmp_path / "whole")
    fake = make()
    add(whole, kind, secret=secret, **config)
    assert run_sync(whole, options=options(**{kind: fake.transport()})).ok
    broken = open_workspace(tmp_path / "broken")
    add(broken, kind, secret=secret, **config)
    kills = 0
    for n in (1, 2, 2, 3):
        fake.kill_after, fake.served = n, 0
        try:
            run_sync(broken, options=options(**{kind: fake.transport()}))
        except Killed:
            kills += 1
    fake.kill_after = None
    assert kills >= 3
    assert run_sync(broken, options=options(**{kind: fake.transport()})).ok
    a, b = dump(whole), dump(broken)
    a.pop("cursors"), b.pop("cursors")
    assert a == b
    assert whole.conn.execute("SELECT * FROM email_clicks ORDER BY 1, 2").fetchall() == \
        broken.conn.execute("SELECT * FROM email_clicks ORDER BY 1, 2").fetchall()
    whole.close(), broken.close()
