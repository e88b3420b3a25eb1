"""The app's one place for errors (ui/workers.py): a SegDeskError shows its own line, anything
else shows the generic "unexpected error" line and is logged with its traceback."""

from __future__ import annotations

import logging

import pytest

from segdesk.ui import journey_view


@pytest.fixture
def view(app, qtbot, tmp_path):
    from segdesk.core.store import open_workspace
    from segdesk.core.importing.csv_import import import_contacts
    from segdesk.ui.context import AppContext

    with open_workspace(tmp_path / "ws") as ws:
        import_contacts(ws, "email\nann@example.com\n")
    ctx = AppContext(tmp_path / "ws")
    widget = journey_view.JourneyView(ctx)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    ctx.close()


def _failed(qtbot, view, email):
    """Open ``email``'s journey; the blocker waits for its job's failure (delivered by the event loop, so none is missed)."""
    view.show_contact(email)
    return qtbot.waitSignal(view._job.failed, timeout=10000)


def test_a_segdesk_error_in_a_job_shows_its_own_line(view, qtbot, caplog):
    with _failed(qtbot, view, "nobody@example.com") as blocker:
        pass
    assert blocker.args == ["no contact with email nobody@example.com"]
    qtbot.waitUntil(view.banner.isVisible, timeout=5000)
    assert view.banner.text() == "no contact with email nobody@example.com"
    assert not [r for r in caplog.records if r.name == "segdesk"], "an error the user can act on is not a bug"


def test_an_unexpected_exception_in_a_job_shows_the_generic_line_and_logs_the_traceback(view, qtbot, caplog,
                                                                                       monkeypatch):
    def broken(conn, email, *args, **kwargs):  # main's journey also passes the model and lookback
        return {"contacts": []}["contact"]  # a bug: KeyError

    monkeypatch.setattr(journey_view, "load_journey", broken)
    caplog.set_level(logging.ERROR, logger="segdesk")
    with _failed(qtbot, view, "ann@example.com") as blocker:
        pass
    assert blocker.args == ["unexpected error (KeyError); the details are in the log"]
    qtbot.waitUntil(view.banner.isVisible, timeout=5000)
    assert view.banner.text() == "unexpected error (KeyError); the details are in the log"
    [record] = [r for r in caplog.records if r.name == "segdesk"]
    assert record.exc_info[0] is KeyError and "journey" in record.getMessage()
