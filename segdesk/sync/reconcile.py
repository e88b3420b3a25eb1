"""The reconciliation lives in core (core/reconcile.py): the refresh after an import of order events runs it too."""

from __future__ import annotations

from ..core.reconcile import WINDOW_HOURS, reconcile_orders

__all__ = ["WINDOW_HOURS", "reconcile_orders"]
