"""`segdesk-relay` / `python -m segdesk.collector_relay` / `segdesk relay ...`.

main(argv) returns the exit status (0 done, 1 error, 2 wrong usage) and prints
errors as one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from segdesk.collector_relay import config as relay_config
from segdesk.errors import SegDeskError

DEFAULT_PORT = 8787


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535 (a wrong one is wrong usage)."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segdesk-relay", description="The SegDesk collector relay.")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create a data folder and print its new keys once")
    init.add_argument("--data", required=True, help="the relay's data folder")
    init.add_argument("--json", action="store_true", help="print the keys as JSON")
    init.add_argument("--rotate", action="store_true", help="replace the keys of an existing folder")

    serve = sub.add_parser("serve", help="run the relay")
    serve.add_argument("--host", default=os.environ.get("SEGDESK_RELAY_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=_port,
                       default=os.environ.get("SEGDESK_RELAY_PORT", str(DEFAULT_PORT)))
    serve.add_argument("--data", default=None,
                       help=f"the data folder (default: ${relay_config.ENV_DATA})")

    deploy = sub.add_parser("deploy", help="install or update the relay on a server over SSH")
    deploy.add_argument("target", help="ssh://user@host[:port]")
    deploy.add_argument("--domain", help="serve HTTPS for this name through Caddy, e.g. t.example.com")
    deploy.add_argument("--origin", action="append", default=[],
                        help="a site origin allowed to send, e.g. https://example.com (repeatable)")
    deploy.add_argument("--identity", help="SSH private key file")
    deploy.add_argument("--port", type=_port, default=DEFAULT_PORT, help="the relay's port on the server")
    deploy.add_argument("--prefix", default="/opt/segdesk-relay", help="install folder on the server")
    deploy.add_argument("--database-url-env", metavar="NAME",
                        help="buffer on PostgreSQL: the environment variable holding its "
                             "postgresql:// URL (kept out of the command line)")
    deploy.add_argument("--ssh-option", action="append", default=[], metavar="OPT",
                        help="extra `ssh -o` option, e.g. UserKnownHostsFile=... (repeatable)")
    from segdesk.collector_relay import hooks_cli

    hooks_cli.register(sub)
    return parser


def _warn_if_open(data) -> None:
    from pathlib import Path

    if data and Path(data).is_dir():
        warning = relay_config.private_data_dir(Path(data))
        if warning:
            print(f"segdesk-relay: {warning}", file=sys.stderr)


def _init(args) -> int:
    _warn_if_open(args.data)
    keys = relay_config.init(args.data, rotate=args.rotate)
    if args.json:
        print(json.dumps(keys))
    else:
        print(f"write key:  {keys['write_key']}")
        print(f"pull token: {keys['pull_token']}")
        print(f"Keys are shown only this once; {args.data} keeps only their hashes.")
    return 0


def _serve(args) -> int:
    import uvicorn  # the server dependencies load only for serving

    from segdesk.collector_relay.app import create_app

    config = relay_config.load(args.data)
    _warn_if_open(config.data_dir)
    app = create_app(config)
    # proxy_headers off: uvicorn would otherwise trust X-Forwarded-For from
    # 127.0.0.1 on its own; the relay decides that itself (trust_proxy).
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False,
                access_log=False, log_level="warning", server_header=False)
    return 0


def _deploy(args) -> int:
    from segdesk.collector_relay.deploy import DeployError, deploy

    database_url = None
    if args.database_url_env:
        database_url = os.environ.get(args.database_url_env)
        if not database_url:
            print(f"segdesk-relay deploy: ${args.database_url_env} is not set", file=sys.stderr)
            return 1
    try:
        deploy(args.target, domain=args.domain, origins=args.origin, identity=args.identity,
               port=args.port, prefix=args.prefix, ssh_options=args.ssh_option,
               database_url=database_url)
    except DeployError as exc:
        print(f"segdesk-relay deploy: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage already
        return 0 if exc.code in (0, None) else 2
    try:
        if args.command == "hooks":
            from segdesk.collector_relay import hooks_cli

            return hooks_cli.run(args)
        return {"init": _init, "serve": _serve, "deploy": _deploy}[args.command](args)
    except SegDeskError as exc:  # ConfigError and the rest of segdesk/errors.py: the relay's one line
        print(f"segdesk-relay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"segdesk-relay: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
