"""The POSIX shell scripts `deploy` runs on the server (kept apart from the
Python that drives them so each reads straight through)."""

from __future__ import annotations

from shlex import quote

from segdesk.errors import DeployError

SERVICE = "segdesk-relay"


def check_script(prefix: str) -> str:
    """Read-only: prints KEY=value facts about the server."""
    return f"""
PY=""
for c in python3 python3.13 python3.12 python3.11 python3.10; do
  p=$(command -v "$c" 2>/dev/null) || continue
  if "$p" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then PY=$p; break; fi
done
echo "PYTHON=$PY"
if [ -n "$PY" ] && "$PY" -c 'import venv, ensurepip' 2>/dev/null; then echo VENV=yes; else echo VENV=no; fi
if [ "$(id -u)" = 0 ]; then echo SUDO=root; elif sudo -n true 2>/dev/null; then echo SUDO=yes; else echo SUDO=no; fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo SYSTEMD=yes; else echo SYSTEMD=no; fi
if command -v caddy >/dev/null 2>&1; then echo CADDY=yes; else echo CADDY=no; fi
if command -v apt-get >/dev/null 2>&1; then echo APT=yes; else echo APT=no; fi
if [ -f {quote(prefix)}/data/relay.json ]; then echo INSTALLED=yes; else echo INSTALLED=no; fi
"""


def _unit(prefix: str) -> str:
    return f"""[Unit]
Description=SegDesk collector relay
After=network-online.target
Wants=network-online.target

[Service]
User={SERVICE}
EnvironmentFile={prefix}/relay.env
ExecStart={prefix}/venv/bin/segdesk-relay serve
Restart=always
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths={prefix}/data

[Install]
WantedBy=multi-user.target
"""


def _caddy(domain: str, port: int) -> str:
    # Caddy gets and renews the certificate itself and adds X-Forwarded-For.
    return f"{domain} {{\n\treverse_proxy 127.0.0.1:{port}\n}}\n"


def _health(port: int) -> str:
    probe = ("import urllib.request as u, urllib.error as e\n"
             "try:\n"
             f"    u.urlopen('http://127.0.0.1:{port}/healthz', timeout=2); print(200)\n"
             "except e.HTTPError as x:\n    print(x.code)\n"
             "except Exception:\n    print(0)\n")
    # Any HTTP answer proves the relay is serving; /healthz itself wants the token.
    return f"""
i=0; code=0
while [ $i -lt 60 ]; do
  code=$("$P/venv/bin/python" -c {quote(probe)})
  if [ "$code" = 200 ] || [ "$code" = 401 ]; then break; fi
  i=$((i + 1)); sleep 0.5
done
echo "HEALTH=$code"
"""


def env_file(settings: dict) -> str:
    """relay.env as both systemd's EnvironmentFile and `sh`'s `.` read it: each
    value single-quoted. A line break would end the here-document it is written
    with and run what follows as root, so one is refused, whoever passed it."""
    lines = []
    for key, value in settings.items():
        value = str(value)
        if not key.isidentifier() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or "'" in value:
            raise DeployError(f"setting {key} cannot be written safely: {value[:80]!r}")
        lines.append(f"{key}={quote(value)}\n")
    return "".join(lines)


def write_env_file(settings: dict) -> str:
    """The shell lines that write "$P/relay.env"."""
    return f"cat > \"$P/relay.env\" <<'ENV'\n{env_file(settings)}ENV"


def install_script(*, prefix: str, python: str, wheel_name: str, wheel_b64: str, settings: dict,
                   domain: str | None, port: int, test_mode: bool, need_venv: bool,
                   need_caddy: bool) -> str:
    apt = [pkg for pkg, needed in (("python3-venv", need_venv), ("caddy", need_caddy)) if needed]
    venv_flags = "--without-pip --system-site-packages" if test_mode else ""
    lines = [
        "set -eu",
        "umask 022",
        f"P={quote(prefix)}",
        'W=$(mktemp -d); trap \'rm -rf "$W"\' EXIT',
        f'base64 -d > "$W/{wheel_name}" <<\'WHEEL\'',
        wheel_b64.rstrip("\n"),
        "WHEEL",
    ]
    if apt:
        lines.append("DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                     + " ".join(apt) + " >/dev/null")
    lines += [
        'mkdir -p "$P"',
        f'[ -x "$P/venv/bin/python" ] || {quote(python)} -m venv {venv_flags} "$P/venv"',
    ]
    if test_mode:
        # Tests reuse the server's site-packages: no network, seconds not minutes.
        lines.append(f'"$P/venv/bin/python" -m pip install -q --no-deps --force-reinstall "$W/{wheel_name}"')
    else:
        # First the dependencies, then our code even when the version is unchanged.
        lines += [
            f'"$P/venv/bin/python" -m pip install -q --disable-pip-version-check "$W/{wheel_name}"',
            f'"$P/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps '
            f'--force-reinstall "$W/{wheel_name}"',
        ]
    lines += [
        write_env_file(settings),
        'chmod 600 "$P/relay.env"',  # it may hold the database password
        # init only for a new install: an update keeps the keys and the buffer.
        'if [ ! -f "$P/data/relay.json" ]; then',
        '  K=$("$P/venv/bin/segdesk-relay" init --data "$P/data" --json)',
        '  echo "KEYS=$K"',
        "fi",
    ]
    if test_mode:
        lines += [
            'if [ -f "$P/relay.pid" ] && kill -0 "$(cat "$P/relay.pid")" 2>/dev/null; then',
            '  kill "$(cat "$P/relay.pid")"',
            '  i=0; while kill -0 "$(cat "$P/relay.pid")" 2>/dev/null && [ $i -lt 100 ]; do'
            " sleep 0.1; i=$((i + 1)); done",
            "fi",
            'set -a; . "$P/relay.env"; set +a',
            'nohup setsid "$P/venv/bin/segdesk-relay" serve >> "$P/relay.log" 2>&1 < /dev/null &',
            'echo $! > "$P/relay.pid"',
        ]
    else:
        lines += [
            f"id -u {SERVICE} >/dev/null 2>&1 || useradd --system --home-dir \"$P\" "
            f"--shell /usr/sbin/nologin {SERVICE}",
            f'chown -R {SERVICE}: "$P/data"; chmod 700 "$P/data"',
            f"cat > /etc/systemd/system/{SERVICE}.service <<'UNIT'\n{_unit(prefix)}UNIT",
            "systemctl daemon-reload",
            f"systemctl enable {SERVICE} >/dev/null 2>&1",
            f"systemctl restart {SERVICE}",
        ]
        if domain:
            snippet = f"/etc/caddy/{SERVICE}.caddy"
            lines += [
                f"cat > {snippet} <<'CADDY'\n{_caddy(domain, port)}CADDY",
                "touch /etc/caddy/Caddyfile",
                f"grep -qxF 'import {snippet}' /etc/caddy/Caddyfile || "
                f"printf '\\nimport {snippet}\\n' >> /etc/caddy/Caddyfile",
                "systemctl enable caddy >/dev/null 2>&1",
                "systemctl reload caddy 2>/dev/null || systemctl restart caddy",
            ]
    lines.append(_health(port))
    return "\n".join(lines) + "\n"
