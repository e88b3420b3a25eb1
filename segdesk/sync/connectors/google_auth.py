"""Google Ads credentials: the OAuth 2.0 installed-app flow, and access tokens from the refresh token.

The secret kept in the keychain is the JSON ``{"developer_token", "client_id",
"client_secret", "refresh_token"}``. ``segdesk sources add google-ads`` and the
app's Add-source dialog run the installed-app flow once to get the refresh
token (https://developers.google.com/identity/protocols/oauth2/native-app;
the loopback redirect and PKCE are oauth_loopback.py's). Google wants the
desktop client's secret at the token endpoint too, and ``access_type=offline``
with ``prompt=consent`` for a refresh token on every sign-in.

Every sync exchanges the refresh token for an access token (an hour long).
A revoked or expired refresh token is ``invalid_grant``: one line saying so.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from ..http import ApiError, AuthError, HttpOptions
from . import oauth_loopback
from .oauth_loopback import WAIT_SECONDS, Provider, exchange

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/adwords"
GRANT_KEYS = ("developer_token", "client_id", "client_secret")
GOOGLE = Provider("Google", "google-ads", AUTH_URL, TOKEN_URL, SCOPE,
                  extra=(("access_type", "offline"), ("prompt", "consent")))
PROVIDER = GOOGLE  # what the app's Sign in button runs (ui/sign_in.py)


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


def sign_in(grant: dict, *, open_browser: Callable[[str], object] | None = None,
            options: HttpOptions | None = None, auth_url: str = AUTH_URL, token_url: str = TOKEN_URL,
            wait: float = WAIT_SECONDS, say: Callable[[str], None] = print,
            cancelled: Callable[[], bool] = lambda: False) -> dict:
    """Run the installed-app flow; returns ``grant`` with its ``refresh_token``."""
    tokens = oauth_loopback.sign_in(GOOGLE, grant["client_id"], grant["client_secret"], open_browser=open_browser,
                                    options=options, auth_url=auth_url, token_url=token_url, wait=wait, say=say,
                                    cancelled=cancelled)
    return {**grant, "refresh_token": tokens["refresh_token"]}


def access_token(grant: dict, options: HttpOptions | None, token_url: str = TOKEN_URL) -> str:
    tokens = exchange(GOOGLE, options, token_url, {
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": grant["client_id"], "client_secret": grant["client_secret"]})
    if not tokens.get("access_token"):
        raise ApiError("Google's token endpoint answered without an access token")
    return tokens["access_token"]


def client_of(secret: str | None) -> dict:
    """The grant the sign-in starts from: the developer token and the OAuth desktop client, checked."""
    return oauth_loopback.read_client(secret, GRANT_KEYS, 'the Google Ads secret must be the JSON {"developer_token", '
                                                          '"client_id", "client_secret"} of your OAuth desktop client')


def prepare_secret(secret: str | None, **sign_in_options) -> str:
    """The JSON to keep in the keychain: as given when it has a refresh token, else after signing in."""
    grant = client_of(secret)
    if not grant.get("refresh_token"):
        grant = sign_in(grant, **sign_in_options)
    return orjson.dumps(grant).decode()
