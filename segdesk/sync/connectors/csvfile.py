"""CSV sources: a contacts, orders or ad-spend file re-imported on every sync.

The core importers check the whole file before writing and upsert by key,
so a re-import changes only what changed in the file; the file's hash in the
cursor skips an unchanged file without reading it into the database again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...core.importing import csv_import
from ...errors import FileError
from ..context import SyncContext

IMPORTERS = {"contacts": csv_import.import_contacts, "orders": csv_import.import_orders,
             "spend": csv_import.import_spend}


def sync(ctx: SyncContext) -> None:
    path = Path(ctx.source.config["path"]).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if ctx.cursor.get("sha256") == digest:
        ctx.count("unchanged", 1.0, rows=0)
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(f"{path} is not UTF-8 text") from None
    kind = ctx.source.config["csv_kind"]
    # The importer commits its rows in one transaction of its own; the hash is
    # stored after it, so a crash in between only means one more re-import.
    result = ctx.write(lambda ws: IMPORTERS[kind](ws, text, origin=ctx.origin))
    ctx.commit({"sha256": digest})
    ctx.add_changed(**{kind: result.inserted + result.updated})
    ctx.count(f"{result.rows} rows", 1.0, rows=result.rows, inserted=result.inserted, updated=result.updated)
