"""`segdesk relay deploy ssh://user@host`: install or update the relay on a
Linux server with the system's own ssh, in two steps.

1. A read-only check (Python 3.10+, root or passwordless sudo, systemd). When
   anything is missing it says what in one line and has changed nothing.
2. One install script, uploaded and run as root: a venv under the prefix, the
   relay-only wheel, `init` only when no data folder exists (so an update keeps
   the buffered events and the keys), a systemd unit, Caddy for HTTPS when a
   domain is given, a restart, and a wait for /healthz.

``deploy(..., without_systemd=True)`` (tests only: a loopback sshd has no systemd)
runs the relay with nohup as the SSH user instead, in a venv that reuses the
server's site-packages. No option or environment variable of the command reaches it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit

from segdesk.collector_relay import deploy_scripts
from segdesk.collector_relay.config import ConfigError, check_database_url
from segdesk.collector_relay.wheel import build_wheel
from segdesk.errors import DeployError

SNIPPET = ('<script>window.segdesk=window.segdesk||function(){(segdesk.q=segdesk.q||[]).push(arguments)};'
           '</script>\n<script async src="{url}/p.js" data-write-key="{key}"></script>')


@dataclass
class Target:
    user: str | None
    host: str
    port: int | None

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host


# Every value below ends up on ssh's command line or in the script run as root
# on the server, so each is checked against what it can legitimately be.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}")
_ORIGIN = re.compile(r"https?://(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?/?")
_PREFIX = re.compile(r"(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)+")


def parse_target(text: str) -> Target:
    # ssh would read a leading "-" as an option (-oProxyCommand=...); urlsplit
    # silently drops line breaks and tabs, so they are refused before it sees them.
    if text.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise DeployError(f"target must look like ssh://user@host[:port], not {text[:80]!r}")
    if "://" not in text:
        text = "ssh://" + text
    parts = urlsplit(text)
    if (parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.password is not None):
        raise DeployError(f"target must look like ssh://user@host[:port], not {text[:80]!r}")
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("[") or host.count(":") == 1:
        host = re.sub(r":[0-9]*$", "", host)
    if not _HOST.fullmatch(host) or (parts.username is not None and not _USER.fullmatch(parts.username)):
        raise DeployError(f"target has an invalid user or host name: {text[:80]!r}")
    try:
        port = parts.port
    except ValueError:
        raise DeployError(f"bad port in {text[:80]!r}") from None
    if port == 0:
        raise DeployError(f"bad port in {text[:80]!r}")
    return Target(parts.username, parts.hostname, port)


def check_origin(origin: str) -> str:
    """A site origin: http(s), a host (optionally `*.` for its subdomains), an optional port."""
    port = re.search(r":([0-9]+)/?$", origin)
    if not _ORIGIN.fullmatch(origin) or ".." in origin or (port and not 1 <= int(port[1]) <= 65535):
        raise DeployError(f"--origin must be a site origin like https://example.com "
                          f"(scheme and host only), not {origin[:80]!r}")
    return origin.rstrip("/")


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise DeployError(f"--prefix must be an absolute path of plain characters, not {prefix[:80]!r}")
    return prefix


def check_identity(identity: str | None) -> str | None:
    if identity is None:
        return None
    if identity.startswith("-") or not os.path.isfile(identity):
        raise DeployError(f"--identity must be an existing private key file, not {identity[:80]!r}")
    return os.path.abspath(identity)


class Remote:
    def __init__(self, target: Target, identity: str | None, options: list[str]) -> None:
        self.args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
                     "-o", "ConnectTimeout=15"]
        if target.port:
            self.args += ["-p", str(target.port)]
        if identity:
            self.args += ["-i", identity]
        for option in options:
            self.args += ["-o", option]
        # "--": whatever the destination looks like, it is not an option.
        self.args += ["--", target.destination]
        self.host = target.host

    def run(self, script: str, sudo: bool = False, timeout: float = 900) -> str:
        """Upload `script` and run it with sh; return its output.

        The script goes to a file before it runs: fed to `sh -s`, any command
        in it that reads stdin (pip, apt) would swallow the rest of it.
        """
        runner = "sudo -n sh" if sudo else "sh"
        command = ('f=$(mktemp) && cat > "$f" && ' + runner + ' "$f" </dev/null; '
                   'rc=$?; rm -f "$f"; exit $rc')
        try:
            done = subprocess.run(self.args + [command], input=script.encode(), timeout=timeout,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise DeployError("the ssh program is not installed on this computer") from None
        except subprocess.TimeoutExpired:
            raise DeployError(f"{self.host} did not finish within {timeout:.0f} s") from None
        if done.returncode == 255:
            raise DeployError(f"cannot connect to {self.host}: {_last_line(done.stderr)}")
        if done.returncode != 0:
            reason = _last_line(done.stderr) or _last_line(done.stdout) or f"exit {done.returncode}"
            raise DeployError(f"on {self.host}: {reason}")
        return done.stdout.decode("utf-8", "replace")


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _values(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z_]+", key):
            found[key] = value.strip()
    return found


def missing_requirements(facts: dict[str, str], domain: str | None, test_mode: bool) -> list[str]:
    missing = []
    if not facts.get("PYTHON"):
        missing.append("Python 3.10 or newer (apt-get install python3)")
    if not test_mode:
        if facts.get("SUDO") == "no":
            missing.append("root or passwordless sudo for this user")
        if facts.get("SYSTEMD") != "yes":
            missing.append("systemd")
    can_apt = facts.get("APT") == "yes" and (test_mode or facts.get("SUDO") != "no")
    if facts.get("PYTHON") and facts.get("VENV") != "yes" and not can_apt:
        missing.append("the Python venv module (python3-venv)")
    if domain and facts.get("CADDY") != "yes" and not can_apt:
        missing.append("caddy (and apt-get to install it)")
    return missing


def cookie_domain_for(domain: str) -> str | None:
    """t.example.com -> example.com: the relay's cookie covers the whole site."""
    labels = domain.split(".")
    return ".".join(labels[1:]) if len(labels) >= 3 else None


def deploy(target_text: str, *, domain: str | None = None, origins: list[str] | None = None,
           identity: str | None = None, port: int = 8787, prefix: str = "/opt/segdesk-relay",
           ssh_options: list[str] | None = None, database_url: str | None = None,
           echo=print, without_systemd: bool = False) -> dict:
    test_mode = without_systemd
    target = parse_target(target_text)
    if domain and not _DOMAIN.fullmatch(domain):
        raise DeployError(f"--domain must be a host name like t.example.com, not {domain[:80]!r}")
    prefix = check_prefix(prefix)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise DeployError(f"--port must be from 1 to 65535, not {port!r}")
    origins = [check_origin(o) for o in origins or []]
    identity = check_identity(identity)
    if database_url is not None:
        try:
            database_url = check_database_url(database_url)
        except ConfigError as exc:
            raise DeployError(str(exc)) from None
    remote = Remote(target, identity, ssh_options or [])

    facts = _values(remote.run(deploy_scripts.check_script(prefix)))
    missing = missing_requirements(facts, domain, test_mode)
    if missing:
        raise DeployError(f"{target.host} is missing {'; '.join(missing)}; nothing was changed")

    cookie_domain = cookie_domain_for(domain) if domain else None
    if domain and not origins and cookie_domain:
        origins = [f"https://{cookie_domain}", f"https://*.{cookie_domain}"]
    settings = {
        "SEGDESK_RELAY_DATA": f"{prefix}/data",
        # Behind Caddy the relay listens on loopback only and trusts Caddy's
        # X-Forwarded-For; without a domain it faces the network itself.
        "SEGDESK_RELAY_HOST": "127.0.0.1" if (domain or test_mode) else "0.0.0.0",
        "SEGDESK_RELAY_PORT": str(port),
        "SEGDESK_RELAY_TRUST_PROXY": "1" if domain else "0",
    }
    if origins:
        settings["SEGDESK_RELAY_ORIGINS"] = ",".join(origins)
    if cookie_domain:
        settings["SEGDESK_RELAY_COOKIE_DOMAIN"] = cookie_domain
    if database_url:
        # env_file() single-quotes it for both readers of relay.env (sh and
        # systemd's EnvironmentFile); check_database_url refused quotes, $, ` and \.
        settings["SEGDESK_RELAY_DATABASE_URL"] = database_url

    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(tmp)
        wheel_b64 = base64.encodebytes(wheel.read_bytes()).decode()
    script = deploy_scripts.install_script(
        prefix=prefix, python=facts["PYTHON"], wheel_name=wheel.name, wheel_b64=wheel_b64,
        settings=settings, domain=domain, port=port, test_mode=test_mode,
        need_venv=facts.get("VENV") != "yes", need_caddy=bool(domain) and facts.get("CADDY") != "yes")
    sudo = not test_mode and facts.get("SUDO") == "yes"
    result = _values(remote.run(script, sudo=sudo))
    if result.get("HEALTH") not in ("200", "401"):
        raise DeployError(f"the relay did not come up on {target.host}; see {prefix}/relay.log "
                          "or `journalctl -u segdesk-relay`")
    url = f"https://{domain}" if domain else f"http://{_url_host(target.host)}:{port}"
    keys = json.loads(result["KEYS"]) if result.get("KEYS") else None
    _report(echo, url, keys, target.host, domain)
    return {"url": url, "first_install": keys is not None, **(keys or {})}


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _report(echo, url: str, keys: dict | None, host: str, domain: str | None) -> None:
    if keys:
        echo(f"SegDesk relay installed on {host}.")
    else:
        echo(f"SegDesk relay on {host} updated; its buffered events and keys are unchanged.")
    echo(f"Relay URL: {url}")
    if not domain:
        echo("Note: without --domain the relay speaks plain HTTP; pages served over HTTPS "
             "need --domain (HTTPS through Caddy).")
    echo("")
    echo("Paste this into every page of your site:")
    echo(SNIPPET.replace("{url}", url).replace("{key}", keys["write_key"] if keys else "WRITE_KEY"))
    echo("")
    if keys:
        echo("Pull settings for the SegDesk app (shown only this once):")
        echo(f"  relay URL:  {url}")
        echo(f"  pull token: {keys['pull_token']}")
        echo(f"  e.g. SEGDESK_PULL_TOKEN=... segdesk sources add relay --base-url {shlex.quote(url)} "
             "--secret-env SEGDESK_PULL_TOKEN")
    else:
        echo("The write key and pull token are the ones shown at the first deploy "
             "(new ones: `segdesk-relay init --rotate` on the server, then restart it).")
