"""Owner-only files and folders for what holds personal data or secrets.

The workspace folder, its database, backups, exports and the secrets file are
created 0700 (folders) and 0600 (files), whatever the process umask is: modes
are set explicitly, not left to the umask. A folder that already exists with
wider modes is left as the user set it, with a one-line warning. On Windows,
where POSIX modes do not apply, these are no-ops (the user profile's ACL is
what protects the data there).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

POSIX = os.name == "posix"


def make_private_dir(folder: Path) -> str | None:
    """Create `folder` (and missing parents) owner-only; return a warning when
    an existing folder is open to others."""
    folder = Path(folder)
    if folder.is_dir():
        return open_warning(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if POSIX:
        os.chmod(folder, 0o700)
    return None


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only if it does not exist (before SQLite
    or a writer opens it: SQLite gives its -wal and -shm files the same mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if POSIX and os.fstat(fd).st_size == 0:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_private(path: Path, mode: str = "w", **kwargs):
    """open() for an export or a secret: a new file is owner-only."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    if POSIX:
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode, **kwargs)


def restrict(path: Path) -> None:
    """Make a file another library wrote (a PDF) owner-only."""
    if POSIX:
        os.chmod(path, 0o600)


def open_warning(folder: Path) -> str | None:
    if not POSIX:
        return None
    mode = stat.S_IMODE(os.stat(folder).st_mode)
    if mode & 0o077:
        return (f"warning: {folder} can be read by other users of this computer "
                f"(mode {mode:04o}); run: chmod 700 '{folder}'")
    return None
