"""A vendor that does not answer is given up on within seconds; one that answers slowly is waited for.

Real sockets on loopback: one server accepts the connection and never
answers, another sends a big page in pieces, each gap shorter than the read
timeout and the whole page longer than it (issue 16 item 5).
"""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from segdesk.errors import ApiError
from segdesk.sync.http import DEFAULT_TIMEOUT, SILENT_LIMIT, ApiClient, HttpOptions

from .loopback import Hanging, ToLoopback, Trickling


def ask(server: Hanging, **options):
    """One GET through Stripe's client to ``server``, which is closed after."""
    try:
        with ApiClient("Stripe", "https://api.stripe.com", kind="stripe",
                       options=HttpOptions(transports={"stripe": ToLoopback(server.port)}, **options)) as c:
            return c.get_json("/v1/charges")
    finally:
        server.close()


def test_defaults_report_a_silent_vendor_within_seconds():
    assert DEFAULT_TIMEOUT.connect == 3 and DEFAULT_TIMEOUT.read == 5  # the read is per read, not per page
    options = HttpOptions()
    assert options.timeout_attempts == 2 and options.silent_limit == SILENT_LIMIT <= 12


def test_a_silent_vendor_is_asked_twice_then_named_in_one_line():
    server = Hanging()
    with pytest.raises(ApiError) as err:
        ask(server, timeout=httpx.Timeout(0.5, connect=0.5), backoff_base=0.01)
    assert str(err.value) == "Stripe did not answer within 0.5 seconds (tried twice)"
    assert server.requests == 2


def test_the_silent_limit_bounds_every_try_together():
    # A read timeout longer than the limit: the limit ends the wait, and no second try starts past it.
    server = Hanging()
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        ask(server, timeout=httpx.Timeout(30.0, connect=1.0), silent_limit=1.0)
    assert "did not answer" in str(err.value) and "tried once" in str(err.value)
    assert server.requests == 1 and time.monotonic() - started < 10  # not the 30 s read timeout


def test_a_big_page_arriving_slowly_is_read_whole():
    rows = [{"id": f"ch_{i}", "amount": i} for i in range(2000)]
    body = orjson.dumps({"data": rows, "has_more": False})
    # 6 pieces 0.3 s apart: 1.8 s in all, over a read timeout of 1 s that each gap stays under.
    server = Trickling(body, chunks=6, gap=0.3)
    page = ask(server, timeout=httpx.Timeout(1.0, connect=1.0))
    assert page["data"] == rows and server.requests == 1
