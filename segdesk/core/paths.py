"""Where a workspace lives: one place for every path the app uses.

platformdirs gives the user data folder; ``--workspace`` on the command line or
the ``SEGDESK_WORKSPACE`` environment variable overrides it (tests, portable
installs, several clients on one machine).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "SegDesk"
APP_AUTHOR = "SegDesk"
ENV_WORKSPACE = "SEGDESK_WORKSPACE"
DB_FILENAME = "segdesk.sqlite"


def default_workspace() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)) / "workspace"


def resolve_workspace(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: explicit argument, then the environment, then the default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return Path(env).expanduser().resolve()
    return default_workspace()


def database_path(workspace: Path) -> Path:
    return workspace / DB_FILENAME


def backups_dir(workspace: Path) -> Path:
    return workspace / "backups"

