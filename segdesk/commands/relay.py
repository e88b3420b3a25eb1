"""segdesk relay init|serve|deploy: the relay's own command line, reached from the main one."""

from __future__ import annotations

import argparse


def register(sub, common) -> None:
    p = sub.add_parser("relay", help="create, run or deploy the collector relay", add_help=False)
    p.add_argument("relay_args", nargs=argparse.REMAINDER, help="init | serve | deploy (see 'segdesk relay --help')")
    p.set_defaults(run=run)


def run(args, ws) -> int:
    from ..collector_relay.__main__ import main as relay_main

    return relay_main(args.relay_args)
