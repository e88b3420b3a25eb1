"""Keap credentials: API keys, OAuth access tokens, and OAuth grants that refresh themselves.

Keap documents two ways in (https://developer.infusionsoft.com/pat-and-sak,
https://developer.infusionsoft.com/getting-started-oauth-keys/):

- a Personal Access Token or Service Account Key (``KeapAK-...``), sent in
  ``X-Keap-API-Key``; 10 requests per second, 240 per minute;
- an OAuth access token, sent as ``Bearer``; 1500 requests per minute under the
  25 per second spike policy
  (https://developer.infusionsoft.com/api-token-quota-and-usage-measurements/).
  Access tokens expire after 24 hours, so the secret may instead be a grant, the
  JSON ``{"client_id", "client_secret", "refresh_token"}``: before a run whose
  access token is missing or about to expire, ``POST /token``
  (``grant_type=refresh_token``, the client id and secret as HTTP Basic) gives a
  new access token and a new refresh token, and the grant is written back to the
  keychain at once (the old refresh token stops working).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import orjson

from ...core.timeutil import format_ts, parse_ts
from ..context import SyncContext
from ..http import AuthError, RateLimit, VendorError
from ..secrets import update_secret

TOKEN_HOST = "https://api.infusionsoft.com"
KEY_LIMITS = (RateLimit(10, 1.0), RateLimit(240, 60.0))
OAUTH_LIMITS = (RateLimit(25, 1.0), RateLimit(1500, 60.0))
EARLY = timedelta(minutes=10)  # refresh this long before the token would expire


def is_api_key(secret: str) -> bool:
    return secret.startswith("KeapAK-")  # how Keap prefixes PATs and SAKs; OAuth tokens have no prefix


def limits(secret: str) -> tuple[RateLimit, ...]:
    """The documented limits of this credential kind (daily quotas are left to Keap's 429)."""
    return KEY_LIMITS if is_api_key(secret) else OAUTH_LIMITS


def credential(ctx: SyncContext) -> tuple[dict, str]:
    """(auth headers, what to call the credential in an error line), refreshing an OAuth grant when due."""
    secret = ctx.secret.strip()
    if is_api_key(secret):
        return {"X-Keap-API-Key": secret}, "the API key"
    grant = _grant(secret)
    if grant is None:
        return {"Authorization": f"Bearer {secret}"}, "the access token"
    expires = grant.get("expires_at")
    if not grant.get("access_token") or not expires or parse_ts(expires) - EARLY <= datetime.now(timezone.utc):
        grant = _refresh(ctx, grant)
    return {"Authorization": f"Bearer {grant['access_token']}"}, "the OAuth access token"


def _grant(secret: str) -> dict | None:
    if not secret.startswith("{"):
        return None
    try:
        grant = orjson.loads(secret)
    except orjson.JSONDecodeError:
        raise AuthError("Keap: the OAuth grant is not valid JSON") from None
    missing = [k for k in ("client_id", "client_secret", "refresh_token") if not grant.get(k)]
    if missing:
        raise AuthError(f"Keap: the OAuth grant lacks {', '.join(missing)}")
    return grant


def _refresh(ctx: SyncContext, grant: dict) -> dict:
    client = ctx.client(TOKEN_HOST, window=60.0, auth_words="the OAuth client or refresh token")
    body = client.post_json("/token", data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
                            auth=httpx.BasicAuth(grant["client_id"], grant["client_secret"]))
    if not body.get("access_token"):
        raise VendorError("Keap gave no access token for the refresh token")
    lifetime = timedelta(seconds=int(body.get("expires_in") or 86400))
    grant = {**grant, "access_token": body["access_token"],
             "refresh_token": body.get("refresh_token") or grant["refresh_token"],
             "expires_at": format_ts(datetime.now(timezone.utc) + lifetime)}
    update_secret(ctx.ws.path, ctx.source.secret_ref, orjson.dumps(grant).decode())
    return grant
