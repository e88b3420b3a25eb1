"""The workspace schema as numbered migrations.

Each migration runs in a transaction together with its record in
``_sqlite_migrations`` (sqlite-utils ``Migrations``); ``store.open_workspace``
copies the database file aside before it applies any pending one, so a user's
data survives every upgrade.

Layout in one sentence: ``events`` are immutable facts from the wire;
``contacts``, ``contact_keys``, ``manual_merges``, ``orders``, ``refunds``,
``subscriptions``, ``tags`` and ``ad_spend`` are facts from CRMs, payment
processors and people; ``identity_nodes``, ``device_segments`` and ``devices``
are derived by the identity stitch and can always be rebuilt from the facts.

Migrations apply in the order they register, which is the order of the
imports below: a new migration goes in a module of its own, imported last.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing a module registers its migrations)
    m0001_initial,
    m0002_0005_reports,
    m0006_0009_lean_orders_ads,
    m0011_0013_clicks_fx_views,
    m0014_webhooks,
    m0017_compact_events,
    m0018_identity_changes,
    m0019_report_caches,
    m0020_converted_caches,
    m0022_order_hours,
    m0023_contact_facts,
    m0021_attribution_shares,
)
from .registry import MIGRATION_SET, migrations

__all__ = ["MIGRATION_SET", "migrations"]
