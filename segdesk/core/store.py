"""Opening a workspace: one SQLite database in WAL mode, migrated safely.

The :class:`Workspace` owns the one writing connection (see STYLE.md, "one
writer"); readers in other threads call :meth:`Workspace.reader` for a
connection of their own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from ..errors import WorkspaceError  # noqa: F401  (re-exported: callers import it from here)
from . import paths
from .importing import packing
from .private import create_private_file, make_private_dir, open_warning
from .schema import migrations


def read_setting(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    """A workspace setting through any connection (a reader thread's included)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def is_empty(conn: sqlite3.Connection) -> bool:
    """No contacts, no events and no sources yet: the app shows its first-run page."""
    return not conn.execute(
        "SELECT EXISTS(SELECT 1 FROM contacts) OR EXISTS(SELECT 1 FROM events) OR EXISTS(SELECT 1 FROM sources)"
    ).fetchone()[0]


def _tune(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    # A bulk import's transaction grows the WAL to the size of what it wrote;
    # once checkpointed, give the disk back down to this.
    conn.execute("PRAGMA journal_size_limit=67108864")
    packing.register(conn)  # event_json(): stored events read back as the JSON that came in


def _backup_before_migrating(db_file: Path, workspace: Path) -> Path | None:
    if not db_file.exists() or db_file.stat().st_size == 0:
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target_dir = paths.backups_dir(workspace)
    make_private_dir(target_dir)
    target = target_dir / f"{db_file.stem}-before-migration-{stamp}.sqlite"
    create_private_file(target)
    # The online backup API copies a consistent snapshot, WAL included.
    src = sqlite3.connect(db_file)
    try:
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        dst.close()
    finally:
        src.close()
    return target


@dataclass
class Workspace:
    """An open workspace folder and its writing connection."""

    path: Path
    db: sqlite_utils.Database
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)  # one line each, e.g. a folder open to others
    _closed: bool = field(default=False, repr=False)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @property
    def db_file(self) -> Path:
        return paths.database_path(self.path)

    def reader(self) -> sqlite3.Connection:
        """A new read connection for another thread (WAL lets it read while we write)."""
        conn = sqlite3.connect(self.db_file, check_same_thread=False)
        _tune(conn)
        conn.execute("PRAGMA query_only=ON")
        return conn

    def setting(self, key: str, default: str | None = None) -> str | None:
        return read_setting(self.conn, key, default)

    def set_setting(self, key: str, value: str) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def close(self) -> None:
        if not self._closed:
            self.conn.close()
            self._closed = True

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _migrate(conn: sqlite3.Connection, db: sqlite_utils.Database) -> None:
    """Apply pending migrations; give back the space a rebuilt table left behind.

    Rebuilding a table (0006 rewrites ``events``) sorts every index key: through
    temporary files, not memory, or a 5M-event workspace would need gigabytes.
    The old table's pages stay in the file as free pages, so when they are more
    than a quarter of it the file is vacuumed once.
    """
    conn.execute("PRAGMA temp_store=FILE")
    try:
        migrations.apply(db)
        free, pages = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
        if free * 4 > pages:
            conn.execute("VACUUM")
    finally:
        conn.execute("PRAGMA temp_store=MEMORY")


def ask_before_opening(folder: str | Path | None, question) -> bool:
    """``question(conn)`` on a read-only connection to an existing workspace, before opening it;
    False when there is none or it cannot be read (``open_workspace`` then reports it properly)."""
    db_file = paths.database_path(paths.resolve_workspace(folder))
    if not db_file.exists():
        return False
    try:
        conn = sqlite3.connect(f"{db_file.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return bool(question(conn))
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def upgrade_pending(folder: str | Path | None = None) -> bool:
    """Whether opening this existing workspace will migrate it first.

    A migration that rebuilds a table takes about half a minute per million
    events (plus the backup), so the CLI and the app say so before opening.
    """
    def pending(conn) -> bool:
        db = sqlite_utils.Database(conn)
        return bool(migrations.applied(db)) and bool(migrations.pending(db))

    return ask_before_opening(folder, pending)


UPGRADE_MESSAGE = ("upgrading the workspace at {path} to this version (a backup is made first); "
                   "a big workspace takes about half a minute per million events")


def open_workspace(folder: str | Path | None = None, *, create: bool = True) -> Workspace:
    """Open (and by default create) the workspace in ``folder``, migrating it if needed."""
    workspace = paths.resolve_workspace(folder)
    db_file = paths.database_path(workspace)
    warning = None
    if not db_file.exists():
        if not create:
            raise WorkspaceError(f"no workspace at {workspace} (run 'segdesk demo' or an import first)")
        try:
            warning = make_private_dir(workspace)
            create_private_file(db_file)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {workspace}: {exc.strerror}") from None
    else:
        warning = open_warning(workspace)
    try:
        conn = sqlite3.connect(db_file, isolation_level="DEFERRED")
        _tune(conn)
        db = sqlite_utils.Database(conn)
        backup = None
        if migrations.pending(db):
            if migrations.applied(db):
                backup = _backup_before_migrating(db_file, workspace)
            _migrate(conn, db)
    except sqlite3.DatabaseError as exc:
        raise WorkspaceError(f"cannot open workspace database {db_file}: {exc}") from None
    return Workspace(path=workspace, db=db, backup=backup, warnings=[warning] if warning else [])
