"""The component stitch equals a stitch from nothing, on random evidence arriving in random batches.

Each example is a random history: identifies with emails, CRM ids (bare and
prefixed), userIds, payment customer and user ids (waiting for an email, then
with one), email links (weak) and forms (strong) on a few devices (so devices
are shared and split), same-instant identifies, userIds on page views
and server-side page views, aliases, CRM records that resolve waiting ids,
orders that date people, merges, unmerges and erases. It arrives in random
batches; after each, the workspace is stitched the way a sync does (only the
components the batch touched) and every derived table is compared with a copy
stitched in full from nothing.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdesk.core.identity import people
from segdesk.errors import SegDeskError
from segdesk.core.identity.stitch import stitch
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.store import open_workspace

from .stitch_check import derived, from_nothing
from .wire import at

DEVICES = ["d1", "d2", "d3", "d4", "d5"]
EMAILS = ["a@x.com", "B@x.com", "c@x.com", "d@x.com", "e@x.com"]
BARE_IDS = ["1", "2", "3"]
CRM_IDS = ["ac:1", "hs:1", "ac:2", "ac:3"]
USERS = ["u1", "u2", "C@x.com"]  # the last is an email, in another case
TIMES = [at(d, h) for d in range(3) for h in (0, 5)]  # few instants, so ties happen


def _event(kind: str, i: int, ts: str, aid=None, **fields) -> dict:
    ev = {"type": kind, "messageId": f"m{i:03d}", "timestamp": ts}
    if aid:
        ev["anonymousId"] = aid
    ev.update(fields)
    return ev


@st.composite
def events(draw, i: int) -> dict:
    ts = draw(st.sampled_from(TIMES))
    aid = draw(st.sampled_from(DEVICES))
    kind = draw(st.sampled_from(["page", "identify", "identify", "identify", "user_page", "server_page", "alias"]))
    if kind == "page":
        return _event("page", i, ts, aid)
    if kind == "user_page":
        return _event(draw(st.sampled_from(["page", "track"])), i, ts, aid, userId=draw(st.sampled_from(USERS)),
                      event="Clicked")
    if kind == "server_page":
        return _event("page", i, ts, userId=draw(st.sampled_from(USERS)))
    if kind == "alias":
        previous = draw(st.sampled_from(USERS + DEVICES))
        return _event("alias", i, ts, aid if draw(st.booleans()) else None,
                      userId=draw(st.sampled_from(USERS)), previousId=previous)
    traits = {}
    if draw(st.integers(0, 3)):
        traits["email"] = draw(st.sampled_from(EMAILS))
    if not traits or draw(st.integers(0, 3)) == 0:
        traits["contact_id"] = draw(st.sampled_from(BARE_IDS + CRM_IDS))
    ev = _event("identify", i, ts, aid if draw(st.integers(0, 5)) else None, traits=traits,
                context={"segdesk": {"method": draw(st.sampled_from(["form", "link", "link", "manual"]))}})
    if draw(st.integers(0, 4)) == 0:
        ev["userId"] = draw(st.sampled_from(USERS))
    return ev


@st.composite
def steps(draw) -> list[tuple]:
    out = []
    for i in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["event"] * 8 + ["crm", "key", "order", "merge", "unmerge", "erase"]))
        if kind == "event":
            out.append(("event", draw(events(i))))
        elif kind == "crm":
            out.append(("crm", draw(st.sampled_from(EMAILS)), draw(st.sampled_from(CRM_IDS)),
                        draw(st.sampled_from(["", "vip"]))))
        elif kind == "key":  # a payment customer or an app's user id, with its email or still without
            out.append(("key", draw(st.sampled_from(["cus_1", "cus_2", "u1"])),
                        draw(st.sampled_from(["customer", "user"])), draw(st.sampled_from([None, *EMAILS]))))
        elif kind == "order":
            out.append(("order", f"o{i}", draw(st.sampled_from(EMAILS)), draw(st.sampled_from(TIMES))))
        elif kind in ("merge", "unmerge"):
            out.append((kind, draw(st.sampled_from(EMAILS)), draw(st.sampled_from(EMAILS))))
        else:
            out.append(("erase", draw(st.sampled_from(EMAILS))))
    cuts = sorted(draw(st.lists(st.integers(0, len(out)), max_size=5)))
    return [out[a:b] for a, b in zip([0, *cuts], [*cuts, len(out)])]


def _apply(ws, batch: list[tuple]) -> bool:
    """One batch as a sync would bring it; returns whether a person's operation ran (it stitches itself)."""
    import_events(ws, [s[1] for s in batch if s[0] == "event"], origin="t")
    operated = False
    for step in batch:
        kind = step[0]
        if kind == "crm":
            import_contacts(ws, f"email,contact_id,tags\n{step[1]},{step[2]},{step[3]}\n", origin="crm")
        elif kind == "key":  # as a payment processor's sync writes it (sync/records.py)
            with ws.conn:
                ws.conn.execute("INSERT INTO contact_keys(key, kind, email, origin) VALUES (?, ?, ?, 'pay') "
                                "ON CONFLICT(key, origin) DO UPDATE SET kind = excluded.kind, "
                                "email = coalesce(excluded.email, contact_keys.email)", step[1:])
        elif kind == "order":
            import_orders(ws, f"order_id,email,amount,currency,created_at\n{step[1]},{step[2]},10.00,USD,{step[3]}\n",
                          origin="shop")
        elif kind in ("merge", "unmerge", "erase"):
            try:
                if kind == "merge":
                    people.merge(ws, step[1], step[2])
                elif kind == "unmerge":
                    people.unmerge(ws, step[1])
                else:
                    people.erase(ws, step[1])
                operated = True
            except SegDeskError:
                pass  # not a contact (yet), or never merged: the operation refuses, nothing changes
    return operated


@functools.cache
def _empty_workspace() -> Path:
    """A new workspace made once and copied for each example (making one runs every migration)."""
    folder = Path(tempfile.mkdtemp()) / "ws"
    with open_workspace(folder):
        pass
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps(), st.randoms(use_true_random=False))
def test_the_component_stitch_equals_a_stitch_from_nothing(batches, rnd):
    rnd.shuffle(batches)  # batches arrive in any order
    folder = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(_empty_workspace(), folder / "ws")
        with open_workspace(folder / "ws") as ws:
            for i, batch in enumerate(batches):
                _apply(ws, batch)
                result = stitch(ws)
                erased = any(s[0] == "erase" for s in batch)
                assert not result.full or erased  # only deleted events call for the full stitch
                assert derived(ws.conn) == from_nothing(ws, folder / f"copy{i}"), batch
    finally:
        shutil.rmtree(folder)


def test_an_erase_of_a_device_s_only_unstitched_event_leaves_no_row_with_stale_flags(tmp_path):
    """Hypothesis's case. An alias gave d3 (no event of its own yet) to c@x.com. Then d3's first
    event, an identify as a@x.com, made d3's devices row (0 contacts until the next stitch), and
    a@x.com was erased before that stitch: the identify went, d3's row stayed with 0 contacts and
    the stitch, finding no new event on d3, never counted its span. With no event left the row
    goes, as it was before the identify; d3's span stays c@x.com's."""
    t = TIMES[0]
    with open_workspace(tmp_path / "ws") as ws:
        _apply(ws, [("event", _event("page", 2, t, "d1")), ("order", "o3", "a@x.com", t),
                    *(("event", _event("page", i, t, "d1")) for i in range(4, 9)),
                    ("event", _event("alias", 9, t, userId="C@x.com", previousId="d3"))])
        stitch(ws)
        devices = "SELECT anonymous_id, first_seen, last_seen, events, contacts, shared FROM devices"
        assert ws.conn.execute(devices).fetchall() == [("d1", t, t, 6, 0, 0)]
        _apply(ws, [("event", _event("identify", 0, t, "d3", traits={"email": "a@x.com"}, userId="u1",
                                     context={"segdesk": {"method": "form"}})), ("erase", "a@x.com")])
        assert not stitch(ws).full  # the erase stitched in full already
        assert ws.conn.execute(devices).fetchall() == [("d1", t, t, 6, 0, 0)]
        c = ws.conn.execute("SELECT id FROM contacts WHERE email = 'c@x.com'").fetchone()[0]
        alias = ws.conn.execute("SELECT id FROM events WHERE type = 'alias'").fetchone()[0]
        assert ws.conn.execute("SELECT * FROM device_segments").fetchall() == [("d3", "", None, c, "server", t, alias)]
        assert ws.conn.execute("SELECT email FROM contacts").fetchall() == [("c@x.com",)]
        assert derived(ws.conn) == from_nothing(ws, tmp_path / "copy")


def test_a_second_crm_key_for_a_bare_id_unties_the_device_it_tied(tmp_path):
    """A link carried contact id 7, which the CRM had as ac:7 (Ann). Then another CRM names hs:7
    (Bob): '7' could be either, so the device goes back to anonymous, Ann keeps only her key."""
    with open_workspace(tmp_path / "ws") as ws:
        import_contacts(ws, "email,contact_id\nann@x.com,ac:7\nbob@x.com,\n", origin="crm")
        import_events(ws, [_event("page", 1, TIMES[0], "d1"),
                           _event("identify", 2, TIMES[1], "d1", traits={"contact_id": "7"},
                                  context={"segdesk": {"method": "link"}})], origin="t")
        stitch(ws)
        ann, bob = (ws.conn.execute("SELECT id FROM contacts WHERE email = ?", (e,)).fetchone()[0]
                    for e in ("ann@x.com", "bob@x.com"))
        spans = "SELECT anonymous_id, start_ts, contact_id, linked_by FROM device_segments"
        assert ws.conn.execute(spans).fetchall() == [("d1", "", ann, "link")]

        import_contacts(ws, "email,contact_id\nbob@x.com,hs:7\n", origin="crm2")
        result = stitch(ws)
        assert not result.full and result.changed_devices == {"d1"}
        assert ws.conn.execute(spans).fetchall() == []
        nodes = dict(ws.conn.execute("SELECT node, contact_id FROM identity_nodes WHERE node LIKE 'cid:%'"))
        assert nodes == {"cid:7": None, "cid:ac:7": ann, "cid:hs:7": bob}
        assert derived(ws.conn) == from_nothing(ws, tmp_path / "copy")


def test_a_workspace_missing_the_change_log_stitches_in_full(tmp_path):
    """A table rebuilt by a later migration drops 0018's indexes and triggers: the stitch notices."""
    with open_workspace(tmp_path / "ws") as ws:
        import_events(ws, [_event("identify", 1, TIMES[0], "d1", traits={"email": "ann@x.com"})], origin="t")
        assert not stitch(ws).full
        ws.conn.execute("DROP INDEX events_email")
        import_events(ws, [_event("identify", 2, TIMES[1], "d1", traits={"email": "bob@x.com"})], origin="t")
        assert stitch(ws).full
        assert derived(ws.conn) == from_nothing(ws, tmp_path / "copy")


def test_an_address_sqlite_cannot_lower_case_is_stitched_in_full(tmp_path):
    """userIds are found by SQLite's lower(), which folds ASCII only: a non-ASCII address takes the full stitch."""
    with open_workspace(tmp_path / "ws") as ws:
        import_events(ws, [_event("page", 1, TIMES[0], "d1", userId="Émile@x.com"),
                           _event("identify", 2, TIMES[1], "d2", traits={"email": "émile@x.com"})], origin="t")
        assert stitch(ws).full
        assert derived(ws.conn) == from_nothing(ws, tmp_path / "copy")
        contact = ws.conn.execute("SELECT id FROM contacts WHERE email = 'émile@x.com'").fetchone()[0]
        assert ws.conn.execute("SELECT anonymous_id, contact_id FROM device_segments ORDER BY 1").fetchall() == [
            ("d1", contact), ("d2", contact)]
