"""Configured sources: the ``sources`` table (name, kind, config JSON, secret reference).

A source's ``origin`` tags every row it writes: the kind alone for the source
named after its kind (``stripe``), else ``kind:name`` (``stripe:eu``), so
``origin LIKE 'stripe%'`` (the order de-dup rule in core/orders.py) matches
every Stripe account. The relay's events use ``relay:<name>``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

from ..core.store import Workspace
from ..errors import InvalidInput, NotFound
from ..core.timeutil import now_ts
from . import secrets

# kind -> (vendor name for messages, needs a secret, what the secret is called)
KINDS: dict[str, tuple[str, bool, str]] = {
    "relay": ("The relay", True, "pull token"),
    "stripe": ("Stripe", True, "secret or restricted API key"),
    "paypal": ("PayPal", True, "client secret"),
    "activecampaign": ("ActiveCampaign", True, "API token"),
    "hubspot": ("HubSpot", True, "private app token"),
    "kit": ("Kit", True, "API key"),
    "keap": ("Keap", True, "API key (KeapAK-...), OAuth access token or OAuth grant (JSON)"),
    "shopify": ("Shopify", True, "Admin API access token"),
    "woocommerce": ("WooCommerce", True, "REST API consumer key and secret"),
    "samcart": ("SamCart", True, "API key (from SamCart Support)"),
    "mailchimp": ("Mailchimp", True, "API key (ending in its data center, e.g. -us6)"),
    "klaviyo": ("Klaviyo", True, "private API key (pk_...)"),
    "drip": ("Drip", True, "API token"),
    "ontraport": ("Ontraport", True, "API key"),
    "highlevel": ("HighLevel", True, "private integration token"),
    "csv": ("CSV", False, ""),
    "meta-ads": ("Meta", True, "access token (a system user's, with ads_read)"),
    "google-ads": ("Google Ads", True, 'OAuth client and developer token (JSON {"developer_token", "client_id", '
                   '"client_secret"[, "refresh_token"]})'),
    "microsoft-ads": ("Microsoft Advertising", True, 'app registration and developer token (JSON '
                      '{"developer_token", "client_id"[, "client_secret", "refresh_token"]})'),
    "ecb": ("The ECB", False, ""),  # daily euro reference rates, public: core/fx.py, connectors/ecb.py
}
CSV_KINDS = ("contacts", "orders", "spend")
WITH_DEALS = ("hubspot", "activecampaign")  # CRMs whose won deals can count as orders (config deals_as_orders)
# Their refresh token comes from a sign-in in the browser (connectors.SIGN_IN, the installed-app flow).
SIGN_IN_KINDS = ("google-ads", "microsoft-ads")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


@dataclass
class Source:
    name: str
    kind: str
    config: dict = field(default_factory=dict)
    secret_ref: str | None = None
    created_at: str = ""

    @property
    def vendor(self) -> str:
        return KINDS[self.kind][0]

    @property
    def origin(self) -> str:
        if self.kind == "relay":
            return f"relay:{self.name}"
        return self.kind if self.name == self.kind else f"{self.kind}:{self.name}"

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "origin": self.origin, "config": self.config,
                "secret": self.secret_ref.partition(":")[0] if self.secret_ref else None,
                "created_at": self.created_at}


def list_sources(conn) -> list[Source]:
    rows = conn.execute("SELECT name, kind, config, secret_ref, created_at FROM sources ORDER BY created_at, name")
    return [Source(n, k, orjson.loads(c or "{}"), s, t) for n, k, c, s, t in rows]


def get_source(conn, name: str) -> Source:
    for source in list_sources(conn):
        if source.name == name:
            return source
    raise NotFound(f"no source named '{name}' (see 'segdesk sources list')")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(config: dict) -> None:
    """https only: a source's address carries its token and, for a relay, every
    visitor's events (emails included). Plain http is for this computer
    (loopback) or, with `allow_insecure_http`, a private network the user
    names. Certificates are always verified (httpx's default, never turned off)."""
    url = config.get("base_url")
    if not url:
        return
    parts = urlsplit(url)
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(f"--base-url must be an https:// address, not {url[:100]!r}")
    if parts.scheme == "http" and not _is_loopback(host) and not config.get("allow_insecure_http"):
        raise InvalidInput(f"refusing plain http to {host}: the token and data would travel unencrypted; "
                           "use https:// (or --allow-insecure-http on a private network)")


SHOPIFY_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")


def check_shop(shop: str | None) -> str:
    """A Shopify source names its shop by the permanent NAME.myshopify.com address (its API host)."""
    shop = (shop or "").strip().lower()
    if not SHOPIFY_SHOP.match(shop):
        raise InvalidInput(f"--shop must be the shop's NAME.myshopify.com address, not {shop[:80]!r}")
    return shop


def check_config(kind: str, config: dict) -> None:
    """Refuse a configuration that cannot work, before any secret is stored."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown source kind '{kind}' (one of: {', '.join(KINDS)})")
    check_base_url(config)
    if kind == "relay" and not config.get("base_url"):
        raise InvalidInput("a relay source needs --base-url (the relay's address)")
    if kind == "activecampaign" and not config.get("base_url"):
        raise InvalidInput("an ActiveCampaign source needs --base-url https://ACCOUNT.api-us1.com")
    if config.get("deals_as_orders") and kind not in WITH_DEALS:
        raise InvalidInput("--deals-as-orders is for HubSpot and ActiveCampaign sources")
    if kind == "mailchimp" and not config.get("list_id"):
        raise InvalidInput("a Mailchimp source needs --list-id (the audience id, under Audience > Settings)")
    if kind == "drip" and not str(config.get("account_id") or "").isdigit():
        raise InvalidInput("a Drip source needs --account-id (the number in Settings > General > Account ID)")
    if kind == "ontraport" and not str(config.get("app_id") or "").strip():
        raise InvalidInput("an Ontraport source needs --app-id (Administration > Integrations > API keys: App ID)")
    if kind == "highlevel" and not str(config.get("location_id") or "").strip():
        raise InvalidInput("a HighLevel source needs --location-id (the sub-account's id, Settings > Business Profile)")
    if kind == "paypal" and not config.get("client_id"):
        raise InvalidInput("a PayPal source needs --client-id")
    if kind == "meta-ads" and not re.fullmatch(r"act_\d+", str(config.get("account_id") or "")):
        raise InvalidInput("a Meta Ads source needs --account-id act_NUMBER (the ad account's id)")
    for key in ("customer_id", "login_customer_id"):
        if kind == "google-ads" and (config.get(key) or key == "customer_id") \
                and not re.fullmatch(r"\d{10}", str(config.get(key) or "").replace("-", "")):
            raise InvalidInput(f"a Google Ads source needs --{key.replace('_', '-')} as the 10-digit "
                               "customer id (123-456-7890)")
    if kind == "microsoft-ads" and not str(config.get("account_id") or "").isdigit():
        raise InvalidInput("a Microsoft Advertising source needs --account-id (the account's number)")
    if kind == "microsoft-ads" and config.get("customer_id") and not str(config["customer_id"]).isdigit():
        raise InvalidInput("--customer-id of a Microsoft Advertising source is the manager account's number")
    if kind == "shopify":
        config["shop"] = check_shop(config.get("shop"))
    if kind == "woocommerce" and not config.get("base_url"):
        raise InvalidInput("a WooCommerce source needs --base-url https://SHOP (the WordPress site's address)")
    if kind == "csv":
        if not config.get("path"):
            raise InvalidInput("a CSV source needs --path FILE")
        if config.get("csv_kind") not in CSV_KINDS:
            raise InvalidInput(f"a CSV source needs --csv-kind ({', '.join(CSV_KINDS)})")


def add_source(ws: Workspace, kind: str, name: str | None, config: dict,
               secret: str | None, store: str = "keyring") -> Source:
    name = (name or kind).strip().lower()
    if not _NAME.match(name):
        raise InvalidInput(f"'{name}' is not a usable source name (letters, digits, . _ -; up to 40)")
    check_config(kind, config)
    if ws.conn.execute("SELECT 1 FROM sources WHERE name = ?", (name,)).fetchone():
        raise InvalidInput(f"a source named '{name}' exists already (remove it first or pick --name)")
    ref = None
    if KINDS[kind][1]:
        if not secret:
            raise InvalidInput(f"{KINDS[kind][0]} needs its {KINDS[kind][2]}")
        if kind in SIGN_IN_KINDS and not _has_refresh_token(secret):
            raise InvalidInput(f"{KINDS[kind][0]} needs a signed-in grant: press Sign in (in the app), sign in with "
                               f"'segdesk sources add {kind}', or give the JSON with its refresh_token")
        ref = secrets.store_secret(ws.path, name, secret, store)  # SecretError: its own line
    source = Source(name, kind, config, ref, now_ts())
    with ws.conn:
        ws.conn.execute(
            "INSERT INTO sources(name, kind, config, secret_ref, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, kind, orjson.dumps(config).decode(), ref, source.created_at),
        )
    return source


def _has_refresh_token(secret: str) -> bool:
    try:
        grant = orjson.loads(secret)
    except orjson.JSONDecodeError:
        return False
    return isinstance(grant, dict) and bool(grant.get("refresh_token"))


def update_source(ws: Workspace, name: str, config: dict, secret: str | None = None,
                  store: str = "keyring") -> Source:
    """Change a source's settings and, when ``secret`` is given, its secret (the cursor stays).

    A new secret goes into ``store`` under a new reference; the old one is
    deleted only after the workspace points at the new one.
    """
    source = get_source(ws.conn, name)
    check_config(source.kind, config)
    ref = source.secret_ref
    if secret:
        ref = secrets.store_secret(ws.path, name, secret, store)  # SecretError: its own line
    with ws.conn:
        ws.conn.execute("UPDATE sources SET config = ?, secret_ref = ? WHERE name = ?",
                        (orjson.dumps(config).decode(), ref, name))
    if ref != source.secret_ref and source.secret_ref:
        try:
            secrets.delete_secret(ws.path, source.secret_ref)
        except secrets.SecretError:
            pass  # the workspace no longer points at it
    return Source(name, source.kind, config, ref, source.created_at)


def remove_source(ws: Workspace, name: str) -> Source:
    """Forget a source, its cursor and its secret; the data it brought stays."""
    source = get_source(ws.conn, name)
    with ws.conn:
        ws.conn.execute("DELETE FROM sources WHERE name = ?", (name,))
        ws.conn.execute("DELETE FROM sync_state WHERE source = ?", (name,))
    if source.secret_ref:
        try:
            secrets.delete_secret(ws.path, source.secret_ref)
        except secrets.SecretError:
            pass  # the reference is gone from the workspace either way
    return source


def secret_of(ws: Workspace, source: Source) -> str | None:
    if not source.secret_ref:
        return None
    return secrets.load_secret(ws.path, source.secret_ref)



def choose_reporting_currency(ws: Workspace, code: str) -> tuple[str, bool]:
    """Set the workspace's reporting currency and add the built-in ECB source once (it needs no key).

    Returns (the currency, whether the ECB source was added now)."""
    from ..core.fx import set_reporting_currency
    from ..core.refresh import refresh_converted_caches

    currency = set_reporting_currency(ws.conn, code)
    with ws.conn:  # the converted caches in the new currency now, not after the next sync
        refresh_converted_caches(ws.conn)
    if any(s.kind == "ecb" for s in list_sources(ws.conn)):
        return currency, False
    add_source(ws, "ecb", "ecb", {}, None)
    return currency, True
