"""A stand-in for the user's browser in sign-in tests.

It does what a person's browser does with the authorize URL SegDesk opens:
loads the vendor's consent page (the fake on loopback, through its transport),
where the user agrees, and follows the page's redirect to SegDesk's own
loopback listener, which then has the code and the state.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx


class Browser:
    """``Browser(transport)`` is an ``open_browser`` callable; ``tamper`` may rewrite the redirect first."""

    def __init__(self, transport: httpx.BaseTransport, tamper: Callable[[str], str] | None = None):
        self.transport, self.tamper = transport, tamper
        self.opened: list[str] = []
        self.landed: httpx.Response | None = None

    def __call__(self, url: str) -> None:
        self.opened.append(url)
        with httpx.Client(transport=self.transport) as vendor:
            consent = vendor.get(url)
        assert consent.status_code == 302, consent.text
        back = consent.headers["location"]
        self.landed = httpx.get(self.tamper(back) if self.tamper else back)
