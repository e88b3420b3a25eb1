"""segdesk sources list | add KIND ... | remove NAME | truth [ORIGIN]"""

from __future__ import annotations

import sys

from ..core.orders import source_of_truth
from ..core.timeutil import normalise_ts
from ..errors import InvalidInput
from ..sync import secrets
from ..sync.connectors import woocommerce
from ..sync.sources import CSV_KINDS, KINDS, SIGN_IN_KINDS, add_source, check_config, list_sources, remove_source
from ..sync.state import source_states
from .output import print_json, print_table

TRUTH_KEY = "orders.source_of_truth"


def register(sub, common) -> None:
    p = sub.add_parser("sources", help="configure the relay and CRM / payment connections", parents=[common])
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    a = actions.add_parser("list", help="list configured sources", parents=[common])
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_list)

    a = actions.add_parser("add", help="add a source; its secret comes from --secret-env or a prompt",
                           parents=[common])
    a.add_argument("kind", choices=list(KINDS), metavar="KIND", help=", ".join(KINDS))
    a.add_argument("--name", help="a name for this source (default: the kind)")
    a.add_argument("--base-url", help="another host: a relay's address, https://ACCOUNT.api-us1.com, a test server")
    a.add_argument("--allow-insecure-http", action="store_true",
                   help="accept a plain http:// --base-url that is not this computer (a private network only)")
    a.add_argument("--secret-env", metavar="VAR", help="read the API key / token from this environment variable")
    a.add_argument("--secret-store", choices=secrets.STORES, default="keyring",
                   help="where the secret goes (default: the OS keychain)")
    a.add_argument("--path", help="csv: the file re-imported on every sync")
    a.add_argument("--csv-kind", choices=CSV_KINDS, help="csv: what the file holds")
    a.add_argument("--client-id", help="paypal: the REST app's client id (its secret is the secret)")
    a.add_argument("--list-id", help="mailchimp: the audience id (Audience > Settings > Unique id)")
    a.add_argument("--sandbox", action="store_true", help="paypal: use the sandbox")
    a.add_argument("--currency", help="keap, klaviyo, ontraport, highlevel: the account's currency; hubspot: deals without one (default usd)")
    a.add_argument("--deals-as-orders", action="store_true",
                   help="hubspot, activecampaign: won deals count as orders (a processor's same charge counts once)")
    a.add_argument("--since", help="paypal, ad platforms: first day to read (default: three years / one year back)")
    a.add_argument("--account-id", help="meta-ads: the ad account (act_NUMBER); microsoft-ads: the account id; "
                                        "drip: the account id (Settings > General)")
    a.add_argument("--app-id", help="ontraport: the App ID beside the API key (its key is the secret)")
    a.add_argument("--location-id", help="highlevel: the sub-account (location) id")
    a.add_argument("--opportunities-as-orders", action="store_true",
                   help="highlevel: count won opportunities as orders (their monetary value, in --currency)")
    a.add_argument("--customer-id", help="google-ads: the account's customer id (123-456-7890); microsoft-ads: the manager's customer id")
    a.add_argument("--login-customer-id", help="google-ads: the manager account's id, when reached through one")
    a.add_argument("--utm-source", help="ad platforms: the utm_source your ads carry (default facebook/google/bing)")
    a.add_argument("--utm-medium", help="ad platforms: the utm_medium your ads carry (default cpc)")
    a.add_argument("--shop", help="shopify: the shop's NAME.myshopify.com address")
    a.add_argument("--key-env", metavar="VAR",
                   help="woocommerce: read the consumer key from this variable (--secret-env: its secret)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_add)

    a = actions.add_parser("remove", help="forget a source, its cursor and its secret (its data stays)",
                           parents=[common])
    a.add_argument("name")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_remove)

    a = actions.add_parser("truth", help="which origin counts when two sources report one order",
                           parents=[common])
    a.add_argument("origin", nargs="?", help="an origin prefix such as stripe, paypal, keap (omit to show)")
    a.add_argument("--clear", action="store_true", help="back to the default (payment processors first)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_truth)


def _config(args) -> dict:
    config = {}
    if args.base_url:
        config["base_url"] = args.base_url.rstrip("/")
    if args.allow_insecure_http:
        config["allow_insecure_http"] = True
    if args.path:
        config["path"] = args.path
    if args.csv_kind:
        config["csv_kind"] = args.csv_kind
    if args.client_id:
        config["client_id"] = args.client_id
    if args.list_id:
        config["list_id"] = args.list_id.strip()
    if args.sandbox:
        config["sandbox"] = True
    if args.currency:
        config["currency"] = args.currency.strip().lower()
    if args.opportunities_as_orders:
        config["opportunities_as_orders"] = True
    if args.deals_as_orders:
        config["deals_as_orders"] = True
    for key in ("account_id", "customer_id", "login_customer_id", "utm_source", "utm_medium", "app_id", "location_id"):
        if getattr(args, key, None):
            config[key] = getattr(args, key).strip()
    if args.shop:
        config["shop"] = args.shop
    if args.since:
        try:
            config["since"] = normalise_ts(args.since)
        except ValueError:
            raise InvalidInput(f"--since '{args.since}' is not an ISO 8601 date") from None
    return config


def run_add(args, ws) -> int:
    config = _config(args)
    check_config(args.kind, config)
    vendor, needs_secret, what = KINDS[args.kind]
    secret = None
    if needs_secret:
        if args.secret_store == "keyring" and secrets.keyring_problem():
            raise secrets.SecretError(secrets.keyring_problem())
        if args.kind == "woocommerce":  # two parts, kept together as one secret
            secret = woocommerce.secret_of(secrets.read_secret(args.key_env, "WooCommerce consumer key: "),
                                           secrets.read_secret(args.secret_env, "WooCommerce consumer secret: "))
        else:
            secret = secrets.read_secret(args.secret_env, f"{vendor} {what}: ")  # SecretError: its own line
    if args.kind in SIGN_IN_KINDS:  # the installed-app sign-in, in the browser, unless a refresh token came along
        from ..sync.connectors import SIGN_IN

        secret = SIGN_IN[args.kind].prepare_secret(secret, say=lambda line: print(line, file=sys.stderr))
    source = add_source(ws, args.kind, args.name, config, secret, args.secret_store)
    if args.json:
        print_json(source.as_dict())
    else:
        where = {"keyring": " (secret in the OS keychain)", "file": " (secret in the encrypted file)"}
        kind = source.secret_ref.partition(":")[0] if source.secret_ref else ""
        print(f"added {source.name} ({source.kind}){where.get(kind, '')}; run 'segdesk sync {source.name}'")
    return 0


def run_list(args, ws) -> int:
    state = {s.name: s for s in source_states(ws.conn)}
    rows = []
    for s in list_sources(ws.conn):
        row = s.as_dict()
        row["last_success"], row["last_error"] = state[s.name].last_success, state[s.name].last_error
        rows.append(row)
    if args.json:
        print_json({"sources": rows, "source_of_truth": source_of_truth(ws.conn)})
        return 0
    if not rows:
        print("no sources yet: 'segdesk sources add KIND' (" + ", ".join(KINDS) + ")")
        return 0
    for row in rows:
        row["where"] = next((str(row["config"][k]) for k in ("base_url", "shop", "path", "account_id", "app_id",
                                                             "location_id") if row["config"].get(k)), "")
        row["status"] = ("failed: " + row["last_error"]) if row["last_error"] else (
            "ok " + row["last_success"] if row["last_success"] else "never synced")
    print_table(rows, ["name", "kind", "origin", "where", "status"])
    return 0


def run_remove(args, ws) -> int:
    source = remove_source(ws, args.name)
    if args.json:
        print_json({"removed": source.name})
    else:
        print(f"removed {source.name}; what it synced stays in the workspace")
    return 0


def run_truth(args, ws) -> int:
    if args.clear:
        with ws.conn:
            ws.conn.execute("DELETE FROM settings WHERE key = ?", (TRUTH_KEY,))
    elif args.origin:
        ws.set_setting(TRUTH_KEY, args.origin.strip().lower())
    truth = source_of_truth(ws.conn)
    if args.json:
        print_json({"source_of_truth": truth})
    else:
        print(f"source of truth for orders: {truth or 'default (payment processors first)'}")
    return 0
