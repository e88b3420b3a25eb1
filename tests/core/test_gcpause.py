"""The one garbage-collector pause: nested and overlapping pauses give the collector back once."""

from __future__ import annotations

import gc

from segdesk.core.gcpause import gc_paused


def test_overlapping_pauses_end_with_the_collector_on():
    # The app's writer pauses around a job; a pause on another thread may begin inside
    # it and end after it. The collector must come back when the last one ends.
    was = gc.isenabled()  # off once a chart exists in this process (ui/qtfix.py collects on the GUI thread)
    gc.enable()
    try:
        job, other = gc_paused(), gc_paused()
        job.__enter__()
        other.__enter__()
        job.__exit__(None, None, None)
        assert not gc.isenabled(), "one pause is still running"
        other.__exit__(None, None, None)
        assert gc.isenabled()
    finally:
        if not was:
            gc.disable()


def test_a_pause_keeps_the_collector_off_when_it_was_off():
    was = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            with gc_paused():
                pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
