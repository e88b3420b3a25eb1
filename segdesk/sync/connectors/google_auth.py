"""Google Ads credentials: the OAuth 2.0 installed-app flow, and access tokens from the refresh token.

The secret kept in the keychain is the JSON ``{"developer_token", "client_id",
"client_secret", "refresh_token"}``. ``segdesk sources add google-ads`` runs
the installed-app flow once to get the refresh token
(https://developers.google.com/identity/protocols/oauth2/native-app): a
one-shot HTTP server on 127.0.0.1 and a free port is the redirect URI (loopback
redirect), the browser opens Google's consent page with a PKCE challenge
(``code_challenge_method=S256``, RFC 7636) and a random ``state``, the redirect
brings the code back, and the code plus the verifier are exchanged at the
token endpoint. The verifier never leaves this process before that exchange,
so a code intercepted on its way back is useless to anyone else.

Every sync exchanges the refresh token for an access token (an hour long).
A revoked or expired refresh token is ``invalid_grant``: one line saying so.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from ..http import ApiClient, ApiError, AuthError, HttpOptions

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/adwords"
WAIT_SECONDS = 300.0  # how long the loopback server waits for the browser to come back
GRANT_KEYS = ("developer_token", "client_id", "client_secret")


def read_grant(secret: str | None) -> dict:
    """The stored JSON grant, or a one-line error saying what it lacks."""
    try:
        grant = orjson.loads(secret or "")
    except orjson.JSONDecodeError:
        raise AuthError('the Google Ads secret is not the JSON {"developer_token", "client_id", '
                        '"client_secret", "refresh_token"}') from None
    missing = [k for k in (*GRANT_KEYS, "refresh_token") if not isinstance(grant, dict) or not grant.get(k)]
    if missing:
        raise AuthError(f"the Google Ads secret lacks {', '.join(missing)} (add the source again to sign in)")
    return grant


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 random bytes as base64url, and its SHA-256 as base64url, unpadded."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Catch(BaseHTTPRequestHandler):
    """The redirect target: keeps the query Google sends back and tells the user to return."""

    answer: dict = {}
    done: threading.Event

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        self.answer.update({k: v[0] for k, v in query.items()})
        body = b"SegDesk received Google's answer. You can close this tab."
        self.send_response(200)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.done.set()

    def log_message(self, *args) -> None:
        pass


def sign_in(grant: dict, *, open_browser: Callable[[str], object] = webbrowser.open,
            options: HttpOptions | None = None, auth_url: str = AUTH_URL, token_url: str = TOKEN_URL,
            wait: float = WAIT_SECONDS, say: Callable[[str], None] = print) -> dict:
    """Run the installed-app flow; returns ``grant`` with its ``refresh_token``."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    handler = type("Catch", (_Catch,), {"answer": {}, "done": threading.Event()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = auth_url + "?" + urlencode({
            "client_id": grant["client_id"], "redirect_uri": redirect_uri, "response_type": "code",
            "scope": SCOPE, "code_challenge": challenge, "code_challenge_method": "S256", "state": state,
            "access_type": "offline", "prompt": "consent"})
        say(f"Sign in to Google Ads in your browser (if it did not open, visit):\n{url}")
        open_browser(url)
        if not handler.done.wait(wait):
            raise AuthError(f"no answer from the Google sign-in within {int(wait)} s; add the source again")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    answer = handler.answer
    if answer.get("state") != state:
        raise AuthError("the Google sign-in answer did not carry this request's state; nothing was stored")
    if answer.get("error"):
        raise AuthError(f"Google sign-in refused: {answer['error']}")
    tokens = _token(options, token_url, {
        "grant_type": "authorization_code", "code": answer["code"], "code_verifier": verifier,
        "redirect_uri": redirect_uri, "client_id": grant["client_id"], "client_secret": grant["client_secret"]})
    if not tokens.get("refresh_token"):
        raise AuthError("Google sent no refresh token (remove SegDesk's access in your Google account, then retry)")
    return {**grant, "refresh_token": tokens["refresh_token"]}


def access_token(grant: dict, options: HttpOptions | None, token_url: str = TOKEN_URL) -> str:
    tokens = _token(options, token_url, {
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": grant["client_id"], "client_secret": grant["client_secret"]})
    if not tokens.get("access_token"):
        raise ApiError("Google's token endpoint answered without an access token")
    return tokens["access_token"]


def _token(options: HttpOptions | None, token_url: str, form: dict) -> dict:
    parts = urlsplit(token_url)
    with ApiClient("Google", f"{parts.scheme}://{parts.netloc}", kind="google-ads", options=options,
                   auth_words="the OAuth client") as client:
        response = client.request("POST", parts.path, data=form, allow=(400,))
        body = client.json(response)
    if response.status_code == 400:
        what = "refresh token" if form["grant_type"] == "refresh_token" else "sign-in code"
        if body.get("error") == "invalid_grant":
            raise AuthError(f"Google rejected the {what}: {body.get('error_description') or 'invalid_grant'}")
        raise AuthError(f"Google refused the token request: {body.get('error_description') or body.get('error')}")
    return body


def prepare_secret(secret: str | None, **sign_in_options) -> str:
    """The JSON to keep in the keychain: as given when it has a refresh token, else after signing in."""
    try:
        grant = orjson.loads(secret or "")
    except orjson.JSONDecodeError:
        grant = None
    missing = [k for k in GRANT_KEYS if not isinstance(grant, dict) or not grant.get(k)]
    if missing:
        raise AuthError(f'the Google Ads secret must be the JSON {{"developer_token", "client_id", '
                        f'"client_secret"}} of your OAuth desktop client (missing: {", ".join(missing)})')
    if not grant.get("refresh_token"):
        grant = sign_in(grant, **sign_in_options)
    return orjson.dumps(grant).decode()
