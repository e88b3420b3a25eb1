"""``segdesk relay hooks add|list|remove``: the webhook sources of a relay's data folder.

A secret comes from the environment variable named by ``--secret-env`` or a
prompt, never from the command line (it would sit in the shell's history and
the process list). SamCart and Drip sign nothing: without a secret, a random URL
key is made and the address to paste is printed once with it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys

from segdesk.collector_relay import hook_sources
from segdesk.collector_relay.config import ConfigError

WHAT = {"shopify": "the app's client secret (Settings > Notifications > Webhooks shows the signing key)",
        "woocommerce": "the webhook's Secret (WooCommerce > Settings > Advanced > Webhooks)",
        "stripe": "the endpoint's signing secret (whsec_...)",
        "thrivecart": "the Secret word (Settings > API & Webhooks > ThriveCart API)",
        "samcart": "a URL key of your choice (leave empty to have one made)",
        "drip": "a URL key of your choice (leave empty to have one made)"}
WHERE = {"drip": "Drip (Settings > Webhooks > New Webhook, with the events you want)"}
NAMES = {"samcart": "SamCart", "drip": "Drip"}


def register(sub) -> None:
    hooks = sub.add_parser("hooks", help="webhook sources: add, list, remove")
    actions = hooks.add_subparsers(dest="hooks_command", required=True)
    add = actions.add_parser("add", help="accept one vendor's webhooks at /v1/hooks/NAME")
    add.add_argument("kind", choices=hook_sources.KINDS)
    add.add_argument("--name", help="the NAME in /v1/hooks/NAME (default: the kind)")
    add.add_argument("--data", required=True, help="the relay's data folder")
    add.add_argument("--secret-env", metavar="VAR", help="environment variable holding the secret")
    listing = actions.add_parser("list", help="the webhook sources (never their secrets)")
    listing.add_argument("--data", required=True)
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", help="stop accepting a source's webhooks")
    remove.add_argument("name")
    remove.add_argument("--data", required=True)


def _secret(args) -> str:
    if args.secret_env:
        value = os.environ.get(args.secret_env, "")
        if not value and args.kind not in hook_sources.URL_KEY_KINDS:
            raise ConfigError(f"${args.secret_env} is not set")
        return value
    if not sys.stdin.isatty():
        if args.kind in hook_sources.URL_KEY_KINDS:
            return ""
        raise ConfigError(f"give --secret-env VAR ({WHAT[args.kind]}); there is no terminal to ask on")
    return getpass.getpass(f"{WHAT[args.kind]}: ")


def run(args) -> int:
    if args.hooks_command == "add":
        source, made = hook_sources.add(args.data, args.kind, args.name, _secret(args))
        path = f"/v1/hooks/{source.name}"
        if source.kind in hook_sources.URL_KEY_KINDS:
            key, vendor = made or "YOUR-KEY", NAMES[source.kind]
            print(f"{vendor} key: {key}" if made else f"{vendor}: use the key you gave in the URL")
            path += f"?key={key}"
        print(f"paste this address into {WHERE.get(source.kind, source.kind)}: https://YOUR-RELAY-HOST{path}")
        print("restart the relay (or `segdesk relay serve` again) to accept it")
    elif args.hooks_command == "list":
        rows = [{"name": s.name, "kind": s.kind, "path": f"/v1/hooks/{s.name}"}
                for s in hook_sources.load(args.data).values()]
        if args.json:
            print(json.dumps(rows))
        for row in [] if args.json else rows:
            print(f"{row['name']:<20} {row['kind']:<12} {row['path']}")
    else:
        gone = hook_sources.remove(args.data, args.name)
        print(f"removed webhook source {gone.name} ({gone.kind}); restart the relay")
    return 0
