"""Webhook sources: which vendors may post to ``/v1/hooks/<name>`` and with what secret.

A source is a name, a kind (the vendor, which fixes the signature scheme) and
a secret. Two kinds of secret:

- An HMAC key (Shopify, WooCommerce, Stripe): the relay recomputes the
  vendor's signature over each body, so it must hold the key itself. These are
  kept in ``hooks.json`` in the data folder, created owner-only (0600) like
  ``relay.json``, or given through the environment.
- A shared word compared for equality (ThriveCart's secret word, SamCart's and
  Drip's URL key): only its sha256 is kept, like the write key.

The environment form, for container hosts without a lasting disk:
``SEGDESK_RELAY_HOOK_<NAME>=<kind>:<secret>`` (the name lower-cased), e.g.
``SEGDESK_RELAY_HOOK_SHOPIFY=shopify:shpss_...``; it overrides a stored source
of the same name.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from segdesk.collector_relay.config import ConfigError, hash_secret

HOOKS_NAME = "hooks.json"
ENV_PREFIX = "SEGDESK_RELAY_HOOK_"
HMAC_KINDS = ("shopify", "woocommerce", "stripe")
WORD_KINDS = ("thrivecart", "samcart", "drip")
URL_KEY_KINDS = ("samcart", "drip")  # vendors that sign nothing: the pasted address carries a key
KINDS = HMAC_KINDS + WORD_KINDS
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class HookSource:
    name: str
    kind: str
    key: str = ""          # the HMAC key itself (HMAC kinds)
    secret_hash: str = ""  # sha256 of the shared word (equality kinds)

    def as_json(self) -> dict:
        data = {"kind": self.kind}
        data.update({"key": self.key} if self.kind in HMAC_KINDS else {"secret_hash": self.secret_hash})
        return data


def make_source(name: str, kind: str, secret: str) -> HookSource:
    name = name.strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"unknown webhook kind {kind!r} (one of: {', '.join(KINDS)})")
    if not _NAME.match(name):
        raise ConfigError(f"{name!r} is not a usable webhook source name (a-z, 0-9 and _; up to 40)")
    secret = secret.strip()
    if not secret:
        raise ConfigError(f"a {kind} webhook source needs its secret")
    if kind in HMAC_KINDS:
        return HookSource(name, kind, key=secret)
    return HookSource(name, kind, secret_hash=hash_secret(secret))


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / HOOKS_NAME


def read_stored(data_dir: Path | None) -> dict[str, HookSource]:
    if data_dir is None or not _path(data_dir).exists():
        return {}
    try:
        stored = json.loads(_path(data_dir).read_text("utf-8"))
        return {name: HookSource(name, v["kind"], v.get("key", ""), v.get("secret_hash", ""))
                for name, v in stored.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"cannot read {_path(data_dir)}: {exc}") from None


def load(data_dir: Path | None, environ: dict | None = None) -> dict[str, HookSource]:
    """The stored sources, then the environment's (which win on the same name)."""
    environ = os.environ if environ is None else environ
    sources = read_stored(data_dir)
    for var, value in environ.items():
        if var.startswith(ENV_PREFIX) and value:
            kind, sep, secret = value.partition(":")
            if not sep:
                raise ConfigError(f"{var} must be KIND:SECRET, e.g. shopify:...")
            source = make_source(var[len(ENV_PREFIX):], kind.strip().lower(), secret)
            sources[source.name] = source
    return sources


def _write(data_dir: Path, sources: dict[str, HookSource]) -> None:
    # Owner-only from the first byte, then renamed into place: HMAC keys are secrets.
    path = _path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps({n: s.as_json() for n, s in sorted(sources.items())}, indent=2) + "\n")
    os.replace(tmp, path)


def add(data_dir: Path, kind: str, name: str | None, secret: str | None) -> tuple[HookSource, str | None]:
    """Store a new source. SamCart and Drip sign nothing, so without a secret a
    random URL key is made and returned (shown once); otherwise returns (source, None)."""
    data_dir = Path(data_dir)
    if not (data_dir / "relay.json").exists():
        raise ConfigError(f"{data_dir} is not set up yet; run `segdesk relay init --data {data_dir}` first")
    made = None
    if not secret and kind in URL_KEY_KINDS:
        made = secret = secrets.token_urlsafe(24)
    source = make_source(name or kind, kind, secret or "")
    sources = read_stored(data_dir)
    if source.name in sources:
        raise ConfigError(f"a webhook source named {source.name!r} exists already (remove it first)")
    sources[source.name] = source
    _write(data_dir, sources)
    return source, made


def remove(data_dir: Path, name: str) -> HookSource:
    sources = read_stored(data_dir)
    if name not in sources:
        raise ConfigError(f"no webhook source named {name!r}")
    gone = sources.pop(name)
    _write(Path(data_dir), sources)
    return gone
