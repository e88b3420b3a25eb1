"""segdesk app: open the desktop app on the workspace."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser("app", help="open the desktop app", parents=[common])
    p.set_defaults(run=run)


def run(args, ws) -> int:
    from ..ui.app import main  # Qt loads only for the app, never for other commands

    return main(getattr(args, "workspace", None))
