"""Microsoft Advertising sign-in: the installed-app flow against the Microsoft identity platform.

Microsoft Advertising authenticates through the Microsoft identity platform
(https://learn.microsoft.com/en-us/advertising/guides/authentication-oauth-identity-platform,
https://learn.microsoft.com/en-us/advertising/guides/authentication-oauth-get-tokens):
``https://login.microsoftonline.com/common/oauth2/v2.0/authorize`` for consent,
``.../token`` to redeem the code, scope ``https://ads.microsoft.com/msads.manage
offline_access`` (offline_access brings the refresh token). A desktop app is a
public client: it sends no secret, proves the code with PKCE
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow)
and registers ``http://localhost`` as a "Mobile and desktop applications"
redirect URI, whose port the platform ignores for loopback addresses
(https://learn.microsoft.com/en-us/entra/identity-platform/reply-url). A web app
registration adds its ``client_secret``. The loopback listener and PKCE are
oauth_loopback.py's; refreshing and rotating the token is microsoft_ads.py's.

The secret kept in the keychain is ``{"developer_token", "client_id",
"refresh_token"[, "client_secret"]}``.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from ..http import HttpOptions
from . import oauth_loopback
from .oauth_loopback import WAIT_SECONDS, Provider

AUTH_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
SCOPE = "https://ads.microsoft.com/msads.manage offline_access"
GRANT_KEYS = ("developer_token", "client_id")
MICROSOFT = Provider("Microsoft", "microsoft-ads", AUTH_URL, TOKEN_URL, SCOPE, redirect_host="localhost",
                     extra=(("response_mode", "query"), ("prompt", "select_account")), scope_on_exchange=True)
PROVIDER = MICROSOFT  # what the app's Sign in button runs (ui/sign_in.py)


def client_of(secret: str | None) -> dict:
    """The grant the sign-in starts from: the developer token and the app registration, checked."""
    return oauth_loopback.read_client(secret, GRANT_KEYS, 'the Microsoft Advertising secret must be the JSON '
                                                          '{"developer_token", "client_id"[, "client_secret"]} of '
                                                          'your app registration')


def sign_in(grant: dict, *, open_browser: Callable[[str], object] | None = None,
            options: HttpOptions | None = None, auth_url: str = AUTH_URL, token_url: str = TOKEN_URL,
            wait: float = WAIT_SECONDS, say: Callable[[str], None] = print,
            cancelled: Callable[[], bool] = lambda: False) -> dict:
    """Run the installed-app flow; returns ``grant`` with its ``refresh_token``."""
    tokens = oauth_loopback.sign_in(MICROSOFT, grant["client_id"], grant.get("client_secret"),
                                    open_browser=open_browser, options=options, auth_url=auth_url,
                                    token_url=token_url, wait=wait, say=say, cancelled=cancelled)
    return {**grant, "refresh_token": tokens["refresh_token"]}


def prepare_secret(secret: str | None, **sign_in_options) -> str:
    """The JSON to keep in the keychain: as given when it has a refresh token, else after signing in."""
    grant = client_of(secret)
    if not grant.get("refresh_token"):
        grant = sign_in(grant, **sign_in_options)
    return orjson.dumps(grant).decode()
