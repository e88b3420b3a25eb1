"""The OAuth 2.0 installed-app flow: a loopback redirect and PKCE, for Google Ads and Microsoft Advertising.

RFC 8252 (OAuth for native apps) as both vendors document it for desktop
clients (Google: https://developers.google.com/identity/protocols/oauth2/native-app;
Microsoft: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
and https://learn.microsoft.com/en-us/entra/identity-platform/reply-url, "localhost
exceptions"): a one-shot HTTP server on 127.0.0.1 and a free port is the
redirect URI, the browser opens the provider's consent page with a PKCE
challenge (``code_challenge_method=S256``, RFC 7636) and a random ``state``,
the redirect brings the code back, and the code plus the verifier are
exchanged at the token endpoint. The verifier never leaves this process
before that exchange, so a code intercepted on its way back is useless to
anyone else; an answer without this request's ``state`` is refused.

:class:`LoopbackSignIn` is split in two so a GUI can open the browser itself
on its own thread: constructing it starts the listener and gives ``url``;
``finish()`` waits (checking ``cancelled`` a few times a second) and
exchanges the code. :func:`sign_in` does both for the command line.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from ...errors import Cancelled
from ..http import ApiClient, AuthError, HttpOptions

WAIT_SECONDS = 300.0  # how long the loopback server waits for the browser to come back
POLL_SECONDS = 0.2  # how often a waiting sign-in looks whether it was cancelled


@dataclass(frozen=True)
class Provider:
    name: str  # in messages: "Google", "Microsoft"
    kind: str  # the source kind: HttpOptions' transport key
    auth_url: str
    token_url: str
    scope: str
    redirect_host: str = "127.0.0.1"  # the host the redirect URI names; the listener is on 127.0.0.1 either way
    extra: tuple[tuple[str, str], ...] = ()  # the provider's own authorize parameters
    scope_on_exchange: bool = False  # Microsoft names the scope again when redeeming the code; Google does not


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 random bytes as base64url, and its SHA-256 as base64url, unpadded."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Catch(BaseHTTPRequestHandler):
    """The redirect target: keeps the query the provider sends back and tells the user to return."""

    answer: dict = {}
    done: threading.Event
    vendor = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        if not self.done.is_set():  # the first answer counts; a reload changes nothing
            self.answer.update({k: v[0] for k, v in query.items()})
        body = f"SegDesk received {self.vendor}'s answer. You can close this tab.".encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.done.set()

    def log_message(self, *args) -> None:
        pass


class LoopbackSignIn:
    """One sign-in: the listener runs from construction until :meth:`finish` or :meth:`close`."""

    def __init__(self, provider: Provider, client_id: str, client_secret: str | None = None, *,
                 auth_url: str | None = None, token_url: str | None = None):
        self.provider, self.client_id, self.client_secret = provider, client_id, client_secret
        self.token_url = token_url or provider.token_url
        self._verifier, challenge = pkce_pair()
        self.state = secrets.token_urlsafe(24)
        self._handler = type("Catch", (_Catch,), {"answer": {}, "done": threading.Event(), "vendor": provider.name})
        self._server = HTTPServer(("127.0.0.1", 0), self._handler)
        self.redirect_uri = f"http://{provider.redirect_host}:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._closed, self._closing = False, threading.Lock()  # closed by finish() or by a caller giving up
        self.url = (auth_url or provider.auth_url) + "?" + urlencode({
            "client_id": client_id, "redirect_uri": self.redirect_uri, "response_type": "code",
            "scope": provider.scope, "code_challenge": challenge, "code_challenge_method": "S256",
            "state": self.state, **dict(provider.extra)})

    def close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def finish(self, *, options: HttpOptions | None = None, wait: float = WAIT_SECONDS,
               cancelled: Callable[[], bool] = lambda: False) -> dict:
        """Wait for the redirect and exchange its code; the token endpoint's answer (with ``refresh_token``)."""
        name = self.provider.name
        deadline = time.monotonic() + wait
        try:
            while not self._handler.done.wait(min(POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
                if cancelled():
                    raise Cancelled(f"{name} sign-in cancelled")
                if time.monotonic() >= deadline:
                    raise AuthError(f"no answer from the {name} sign-in within {int(wait)} s; try again")
        finally:
            self.close()
        answer = self._handler.answer
        if answer.get("state") != self.state:
            raise AuthError(f"the {name} sign-in answer did not carry this request's state; nothing was stored")
        if answer.get("error"):
            reason = (answer.get("error_description") or "").splitlines()[0:1]
            raise AuthError(f"{name} sign-in refused: {answer['error']}" + (f" ({reason[0]})" if reason else ""))
        tokens = exchange(self.provider, options, self.token_url, {
            "grant_type": "authorization_code", "code": answer.get("code", ""), "code_verifier": self._verifier,
            "redirect_uri": self.redirect_uri, "client_id": self.client_id,
            **({"scope": self.provider.scope} if self.provider.scope_on_exchange else {}),
            **({"client_secret": self.client_secret} if self.client_secret else {})})
        if not tokens.get("refresh_token"):
            raise AuthError(f"{name} sent no refresh token (remove SegDesk's access in your {name} account, "
                            f"then sign in again)")
        return tokens


def sign_in(provider: Provider, client_id: str, client_secret: str | None = None, *,
            open_browser: Callable[[str], object] | None = None, options: HttpOptions | None = None,
            auth_url: str | None = None, token_url: str | None = None, wait: float = WAIT_SECONDS,
            say: Callable[[str], None] = print, cancelled: Callable[[], bool] = lambda: False) -> dict:
    """The whole flow for the command line: print and open the URL, wait, exchange."""
    flow = LoopbackSignIn(provider, client_id, client_secret, auth_url=auth_url, token_url=token_url)
    try:
        say(f"Sign in to {provider.name} in your browser (if it did not open, visit):\n{flow.url}")
        (open_browser or webbrowser.open)(flow.url)  # looked up now: a test's browser stands in for it
    except BaseException:
        flow.close()
        raise
    return flow.finish(options=options, wait=wait, cancelled=cancelled)


def exchange(provider: Provider, options: HttpOptions | None, token_url: str, form: dict) -> dict:
    """POST ``form`` to the token endpoint; a refused grant is one line naming what was refused."""
    parts = urlsplit(token_url)
    with ApiClient(provider.name, f"{parts.scheme}://{parts.netloc}", kind=provider.kind, options=options,
                   auth_words="the OAuth client") as client:
        response = client.request("POST", parts.path, data=form, allow=(400,))
        body = client.json(response)
    if response.status_code == 400:
        what = "refresh token" if form["grant_type"] == "refresh_token" else "sign-in code"
        # Microsoft's descriptions carry "\r\nTrace ID: ..." lines: the first line is the reason.
        reason = str(body.get("error_description") or body.get("error") or "no reason given").splitlines()[0]
        if body.get("error") == "invalid_grant":
            raise AuthError(f"{provider.name} rejected the {what}: {reason}")
        raise AuthError(f"{provider.name} refused the token request: {reason}")
    return body


def read_client(secret: str | None, keys: tuple[str, ...], shape: str) -> dict:
    """The JSON a sign-in starts from (developer token, OAuth client), or one line naming what it lacks."""
    try:
        grant = orjson.loads(secret or "")
    except orjson.JSONDecodeError:
        grant = None
    missing = [k for k in keys if not isinstance(grant, dict) or not grant.get(k)]
    if missing:
        raise AuthError(f"{shape} (missing: {', '.join(missing)})")
    return grant
