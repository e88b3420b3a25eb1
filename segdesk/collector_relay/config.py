"""The relay's settings and secrets: one JSON file in the data folder, overridable
from the environment for container hosts.

Secrets are random 32-byte tokens, so a plain sha256 is enough to store them:
there is nothing to brute-force that a slow password hash would protect.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from segdesk.errors import InvalidInput

CONFIG_NAME = "relay.json"
BUFFER_NAME = "buffer.db"
ENV_WRITE_KEY = "SEGDESK_RELAY_WRITE_KEY"
ENV_PULL_TOKEN = "SEGDESK_RELAY_PULL_TOKEN"
ENV_DATA = "SEGDESK_RELAY_DATA"
ENV_DATABASE_URL = "SEGDESK_RELAY_DATABASE_URL"
# What a database URL may contain: a URL's own characters minus the shell's
# quoting and expansion ones ($ ` ' " \ and spaces), so it travels safely
# through an env file; anything else in a password is written %-encoded.
_DATABASE_URL = re.compile(r"postgres(ql)?://[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]+")


class ConfigError(InvalidInput):
    """The relay's settings are missing or wrong (data folder, relay.json, environment); the operator fixes them."""


def private_data_dir(data_dir: Path) -> str | None:
    """Create the data folder owner-only (0700, whatever the umask): it holds
    visitors' events and the key hashes. An existing folder keeps its modes;
    the answer is a one-line warning when others can read it."""
    if not data_dir.is_dir():
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(data_dir, 0o700)
        return None
    mode = data_dir.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o077:
        return (f"warning: {data_dir} can be read by other users (mode {mode:04o}); "
                f"run: chmod 700 '{data_dir}'")
    return None


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def secret_matches(candidate: str | None, stored_hash: str) -> bool:
    if not candidate or not stored_hash:
        return False
    return hmac.compare_digest(hash_secret(candidate), stored_hash)


@dataclass
class RelayConfig:
    write_key_hash: str = ""
    pull_token_hash: str = ""
    # Site origins allowed to send and to make credentialed calls; empty means
    # any origin may send (answered with `*`, never with credentials).
    allowed_origins: list[str] = field(default_factory=list)
    # Domain attribute of the sd_vid cookie, e.g. "example.com" for a relay on
    # t.example.com; None sets a host-only cookie.
    cookie_domain: str | None = None
    anonymize_ip: bool = True
    # Only behind a proxy we run (Caddy) is X-Forwarded-For the client's address.
    trust_proxy: bool = False
    filter_bots: bool = True
    rate_per_second: float = 100.0  # 0 disables the limit
    rate_burst: int = 1000
    max_body_bytes: int = 512 * 1024
    max_batch_events: int = 500
    # A webhook carries one order with all its lines; Shopify's can pass 512 KiB.
    max_hook_body_bytes: int = 2 * 1024 * 1024
    ack_grace_days: float = 7.0
    retention_days: float = 90.0
    retention_warning_days: float = 7.0
    purge_interval_seconds: float = 600.0
    # NORMAL: a commit is in the OS's hands when it returns, so a killed or
    # crashed relay loses nothing after a 2xx; the WAL reaches the platter at
    # the checkpoint every second, so power loss may cost about a second.
    # FULL fsyncs every group commit (power-safe too) but makes every answer
    # wait for the disk, which on shared or network disks is erratic.
    # docs/relay.md "Durability" has the measurements behind the choice.
    synchronous: str = "NORMAL"
    data_dir: Path | None = field(default=None, compare=False)
    # The PostgreSQL buffer instead of SQLite in the data folder. A secret
    # (it holds the database password): from the environment only, never
    # written to relay.json.
    database_url: str = field(default="", compare=False, repr=False)

    @property
    def buffer_path(self) -> Path:
        if self.data_dir is None:
            raise ConfigError("the relay has no data folder")
        return self.data_dir / BUFFER_NAME

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("data_dir")
        data.pop("database_url")
        return data


_ENV_SETTINGS = {
    "SEGDESK_RELAY_ORIGINS": ("allowed_origins", "list"),
    "SEGDESK_RELAY_COOKIE_DOMAIN": ("cookie_domain", "str"),
    "SEGDESK_RELAY_ANONYMIZE_IP": ("anonymize_ip", "bool"),
    "SEGDESK_RELAY_TRUST_PROXY": ("trust_proxy", "bool"),
    "SEGDESK_RELAY_FILTER_BOTS": ("filter_bots", "bool"),
    "SEGDESK_RELAY_RATE": ("rate_per_second", "float"),
    "SEGDESK_RELAY_BURST": ("rate_burst", "int"),
    "SEGDESK_RELAY_ACK_GRACE_DAYS": ("ack_grace_days", "float"),
    "SEGDESK_RELAY_RETENTION_DAYS": ("retention_days", "float"),
    "SEGDESK_RELAY_SYNCHRONOUS": ("synchronous", "str"),
}


def _parse_env(name: str, kind: str, raw: str):
    raw = raw.strip()
    try:
        if kind == "list":
            return [item.strip().rstrip("/") for item in raw.split(",") if item.strip()]
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        return raw or None
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind}") from None


def check_database_url(url: str) -> str:
    """The URL itself, or ConfigError naming what is wrong (never the password)."""
    url = url.strip()
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{ENV_DATABASE_URL} must start with postgresql:// or postgres:// "
                          f"(it starts with {scheme + '://' if scheme else 'no scheme'})")
    if not _DATABASE_URL.fullmatch(url):
        raise ConfigError(f"{ENV_DATABASE_URL} has a character that must be %-encoded "
                          "(spaces, quotes, $, ` and \\ are not allowed as they are)")
    return url


def load(data_dir: Path | str | None, environ: dict | None = None) -> RelayConfig:
    """Read the data folder's settings, then let the environment override them.

    A container host may run with no config file at all when both secrets come
    from the environment; the data folder is then created on the fly.
    """
    environ = os.environ if environ is None else environ
    if data_dir is None:
        data_dir = environ.get(ENV_DATA) or None
    if data_dir is None:
        raise ConfigError(f"no data folder: pass --data DIR or set {ENV_DATA}")
    data_dir = Path(data_dir)
    config = RelayConfig()
    path = data_dir / CONFIG_NAME
    if path.exists():
        try:
            stored = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        known = {f.name for f in dataclasses.fields(RelayConfig)} - {"data_dir", "database_url"}
        unknown = sorted(set(stored) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown setting {unknown[0]!r}")
        config = RelayConfig(**stored)
    for name, (attr, kind) in _ENV_SETTINGS.items():
        if name in environ:
            setattr(config, attr, _parse_env(name, kind, environ[name]))
    if environ.get(ENV_WRITE_KEY):
        config.write_key_hash = hash_secret(environ[ENV_WRITE_KEY])
    if environ.get(ENV_PULL_TOKEN):
        config.pull_token_hash = hash_secret(environ[ENV_PULL_TOKEN])
    if not config.write_key_hash or not config.pull_token_hash:
        raise ConfigError(
            f"{data_dir} has no keys: run `segdesk-relay init --data {data_dir}` "
            f"or set {ENV_WRITE_KEY} and {ENV_PULL_TOKEN}"
        )
    if environ.get(ENV_DATABASE_URL):
        config.database_url = check_database_url(environ[ENV_DATABASE_URL])
    if config.synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError(f"synchronous must be FULL, NORMAL or EXTRA, not {config.synchronous!r}")
    config.allowed_origins = [o.rstrip("/") for o in config.allowed_origins]
    private_data_dir(data_dir)
    config.data_dir = data_dir
    return config


def init(data_dir: Path | str, rotate: bool = False) -> dict[str, str]:
    """Create the data folder with fresh secrets; return them (shown once only)."""
    data_dir = Path(data_dir)
    path = data_dir / CONFIG_NAME
    if path.exists() and not rotate:
        raise ConfigError(f"{data_dir} is already set up; pass --rotate to replace its keys")
    if rotate and not path.exists():
        raise ConfigError(f"{data_dir} is not set up yet; run init without --rotate")
    config = RelayConfig()
    if path.exists():
        config = RelayConfig(**json.loads(path.read_text("utf-8")))
    keys = {"write_key": secrets.token_urlsafe(32), "pull_token": secrets.token_urlsafe(32)}
    config.write_key_hash = hash_secret(keys["write_key"])
    config.pull_token_hash = hash_secret(keys["pull_token"])
    private_data_dir(data_dir)
    # Write then rename, so a crash never leaves a half-written config behind;
    # created 0600, so the hashes are never readable by others, not even briefly.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(config.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    return keys
