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
    "csv": ("CSV", False, ""),
}
CSV_KINDS = ("contacts", "orders", "spend")
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


def check_config(kind: str, config: dict) -> None:
    """Refuse a configuration that cannot work, before any secret is stored."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown source kind '{kind}' (one of: {', '.join(KINDS)})")
    check_base_url(config)
    if kind == "relay" and not config.get("base_url"):
        raise InvalidInput("a relay source needs --base-url (the relay's address)")
    if kind == "activecampaign" and not config.get("base_url"):
        raise InvalidInput("an ActiveCampaign source needs --base-url https://ACCOUNT.api-us1.com")
    if kind == "paypal" and not config.get("client_id"):
        raise InvalidInput("a PayPal source needs --client-id")
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
        ref = secrets.store_secret(ws.path, name, secret, store)  # SecretError: its own line
    source = Source(name, kind, config, ref, now_ts())
    with ws.conn:
        ws.conn.execute(
            "INSERT INTO sources(name, kind, config, secret_ref, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, kind, orjson.dumps(config).decode(), ref, source.created_at),
        )
    return source


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

