"""The one migration set every schema module registers into, in import order."""

from __future__ import annotations

from sqlite_utils import Migrations

MIGRATION_SET = "segdesk"
migrations = Migrations(MIGRATION_SET)
