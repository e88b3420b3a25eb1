"""The journey the app shows is core's: compared on a generated workspace with ``segdesk journey --json``,
with core's read model (``core/read/timeline.py``) and with the sessions the reports count."""

from __future__ import annotations

import json

from segdesk.cli import main
from segdesk.core.read.contacts import list_contacts
from segdesk.core.demo import generate
from segdesk.core.refresh import refresh_reports
from segdesk.core.store import open_workspace
from segdesk.core.read.timeline import build_timeline, device_labels, load_journey

CREDITS = ("No credit given",) + tuple(f"{n}% credit" for n in range(101))

CONTACTS = 6


def generated_workspace(folder) -> list[str]:
    """A demo workspace; the contacts with the most devices and the most revenue, whose journeys say most."""
    ws = open_workspace(folder)
    generate(ws, contacts=80, seed=17)
    refresh_reports(ws)
    everyone = list_contacts(ws.conn)
    ws.close()
    by_devices = sorted(everyone, key=lambda c: (-c["devices"], c["email"]))
    by_revenue = sorted(everyone, key=lambda c: (-sum(c["revenue"].values()), c["email"]))
    picked: list[str] = []
    for c in [x for pair in zip(by_devices, by_revenue) for x in pair]:
        if c["email"] not in picked:
            picked.append(c["email"])
    return picked[:CONTACTS]


def tree_rows(tree) -> list[tuple]:
    """(depth, column texts) for every row of a QTreeWidget, children after their parent."""
    rows = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        rows.append((0, *[item.text(c) for c in range(tree.columnCount())]))
        for j in range(item.childCount()):
            rows.append((1, *[item.child(j).text(c) for c in range(tree.columnCount())]))
    return rows


def cli_journey(capsys, folder, email: str) -> dict:
    capsys.readouterr()
    assert main(["journey", email, "--json", "--workspace", str(folder)]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_journey_page_shows_the_core_journey(tmp_path, qtbot, open_window, capsys):
    folder = tmp_path / "ws"
    emails = generated_workspace(folder)
    window = open_window(folder)
    window.show_page("contacts")
    contacts = window.page("contacts")
    view, ctx = contacts.journey, contacts.ctx
    reader = open_workspace(folder)
    sessions_seen = 0
    try:
        for email in emails:
            with qtbot.waitSignal(view.loaded, timeout=8000):
                contacts.open_contact(email)
            cli = cli_journey(capsys, folder, email)
            # The app holds exactly what the command line prints.
            assert json.loads(json.dumps(view.data)) == cli

            shown = tree_rows(view.timeline)
            # Core's read model, painted as the page paints it (icon before the text), row for row.
            core = load_journey(reader.conn, email)
            labels = device_labels(core.journey)  # a row names its device (its id when nothing better is known)
            expected = []
            for e in build_timeline(core.journey, ctx.money, core.credits, core.model):
                for depth, x in [(0, e)] + [(1, c) for c in e.children]:
                    expected.append((depth, ctx.time(x.time), x.what, labels.get(x.device, (None, x.device or ""))[1],
                                     x.detail))
            assert [(d, when, what.split("  ", 1)[1], dev, detail) for d, when, what, dev, _note, detail in shown] \
                == expected

            # Independently of the timeline code: every page view of the JSON is one child row, every
            # other event one top-level row, in the JSON's order.
            pages = [e for e in cli["events"] if e["kind"] == "page"]
            others = [e for e in cli["events"] if e["kind"] != "page"]
            children = [r for r in shown if r[0] == 1 and not r[2].split("  ", 1)[1].startswith(CREDITS)]
            assert sorted((r[1], r[3]) for r in children) == sorted(
                (ctx.time(e["time"]), labels.get(e["anonymous_id"], (None, e["anonymous_id"] or ""))[1]) for e in pages)
            tops = [r for r in shown if r[0] == 0 and "Session · " not in r[2]]
            assert [r[1] for r in tops] == [ctx.time(e["time"]) for e in others]

            # Sessions are the reports' sessions: for a device that was this contact's all its life,
            # the page shows the rows of the sessions table (start, page views, channel).
            owned = [aid for aid, n in reader.conn.execute(
                "SELECT s.anonymous_id, (SELECT count(*) FROM device_segments t WHERE t.anonymous_id = s.anonymous_id)"
                " FROM device_segments s JOIN contacts c ON c.id = s.contact_id"
                " WHERE c.email = ? AND s.start_ts = '' AND s.end_ts IS NULL", (cli["contact"]["email"],)) if n == 1]
            for aid in owned:
                session_rows = [i for i, r in enumerate(shown) if r[0] == 0 and r[3] == labels[aid][1]
                                and "Session · " in r[2]]
                on_page = []
                for i in session_rows:
                    n = 0
                    while i + 1 + n < len(shown) and shown[i + 1 + n][0] == 1:
                        n += 1
                    on_page.append((shown[i][1], n, shown[i][2].split("Session · ", 1)[1]))
                table = [(ctx.time(start), pages_n, " / ".join([source, medium] + ([campaign] if campaign else [])))
                         for start, pages_n, source, medium, campaign in reader.conn.execute(
                             "SELECT start_ts, pages, source, medium, campaign FROM sessions WHERE anonymous_id = ? "
                             "ORDER BY start_ts, first_event_id", (aid,))]
                assert on_page == table
                sessions_seen += len(table)

            devices = tree_rows(view.devices)
            assert [r[1].split("  (shared)")[0] for r in devices] == [d["anonymous_id"] for d in cli["devices"]]
            assert [r[7] for r in devices] == ["; ".join(core.evidence.get(d["anonymous_id"], []))
                                               for d in cli["devices"]]
    finally:
        reader.close()
    assert sessions_seen >= CONTACTS  # the comparison above had sessions to compare
