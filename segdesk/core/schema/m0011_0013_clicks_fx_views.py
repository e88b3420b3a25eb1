"""Migrations 0011 to 0013 (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0011_email_clicks")
def m0011_email_clicks(db):
    """Clicks read from email platforms' reports, and triggers keeping their touches fresh."""
    from ..email_clicks import create_tables

    create_tables(db)


@migrations(name="0012_fx_rates")
def m0012_fx_rates(db):
    """Daily reference rates for the reporting currency (``core/fx.py``).

    A rate is units of ``currency`` per one euro on ``day`` (the ECB's
    convention, so its files store as they come); ``origin`` is ``ecb`` for the
    ECB's published rates and ``manual`` for the marketer's own table (a
    currency the ECB lacks, or a correction), which wins on the same day.
    """
    db.executescript(
        """
        CREATE TABLE fx_rates (
            currency TEXT NOT NULL,
            day TEXT NOT NULL,
            origin TEXT NOT NULL,
            rate REAL NOT NULL CHECK (rate > 0),
            PRIMARY KEY (currency, day, origin)
        ) WITHOUT ROWID;
        """
    )


# Numbered after 0012: it was written beside 0009-0012, and migrations apply in this file's order.
@migrations(name="0013_saved_views")
def m0013_saved_views(db):
    """Saved views: a report with its grouping, range, comparison and filters, under a name.

    ``params`` and ``filters`` are JSON objects (``core/views.py`` checks them before
    storing); names compare without case, so "VIP" and "vip" are one view.
    """
    db.executescript(
        """
        CREATE TABLE saved_views (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            report TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            filters TEXT NOT NULL DEFAULT '{}',
            saved_at TEXT NOT NULL
        );
        """
    )
