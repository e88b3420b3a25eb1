"""The contacts and orders behind one report row (Reports page and dashboard), loaded off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout

from ..core.reports import drill_down
from .plaintext import plain_label
from .report_table_model import ReportTableModel, fit_columns, make_table_view, when_done

CONTACT_COLUMNS = [("email", "Email", "text"), ("first_touch", "First touch", "text"),
                   ("first_touch_at", "First touch at", "text"), ("revenue", "Revenue", "money")]
ORDER_COLUMNS = [("order_id", "Order", "text"), ("email", "Email", "text"), ("time", "Time", "text"),
                 ("amount", "Amount", "money"), ("refunded", "Refunded", "money"), ("revenue", "Revenue", "money"),
                 ("credit", "Credit share", "percent"), ("product", "Product", "text"), ("source", "From", "text")]


def _contact_row(c: dict) -> dict:
    """A drill-down contact, flat: its first touch as 'source / medium / campaign' and when."""
    touch = c.get("first_touch") or {}
    channel = " / ".join(str(touch[k]) for k in ("source", "medium", "campaign") if touch.get(k))
    return dict(c, key=c.get("email"), first_touch=channel or "(no visit seen)",
                first_touch_at=(touch.get("time") or "")[:16].replace("T", " "))


class DrillDownDialog(QDialog):
    """The contacts and orders behind one report row, loaded off the GUI thread."""

    loaded = Signal(object)
    contactActivated = Signal(str)

    def __init__(self, ctx, report: str, params: dict, key, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Behind “{key}”")
        self.resize(1000, 520)
        self.contacts, self.orders = ReportTableModel(self), ReportTableModel(self)
        self.result: dict | None = None
        tabs = QTabWidget()
        contacts_view, orders_view = make_table_view(self.contacts), make_table_view(self.orders)
        self._views = (contacts_view, orders_view)
        contacts_view.doubleClicked.connect(lambda idx: self._activate(self.contacts, idx.row()))
        orders_view.doubleClicked.connect(lambda idx: self._activate(self.orders, idx.row()))
        tabs.addTab(contacts_view, "Contacts")
        tabs.addTab(orders_view, "Orders")
        self.tabs = tabs
        self.summary = plain_label("Loading…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)
        job = ctx.read(lambda conn, progress: drill_down(conn, dict(params, name=report), key), "drill-down")
        self._job = job
        when_done(job, self._show, lambda reason: self.summary.setText(f"Could not load: {reason}"))

    def _activate(self, model: ReportTableModel, row: int) -> None:
        email = model.table.rows[model.source_row(row)].get("email") if model.table else None
        if email:
            self.contactActivated.emit(email)

    def _show(self, result) -> None:
        self.result = result
        contacts = list(result.get("contacts") or [])
        orders = list(result.get("orders") or [])
        self.contacts.set_report({"title": "Contacts", "rows": [_contact_row(c) for c in contacts],
                                  "columns": CONTACT_COLUMNS})
        orders = [dict(o, time=str(o.get("time") or "")[:16].replace("T", " ")) for o in orders]
        self.orders.set_report({"title": "Orders", "rows": orders,
                                "columns": [c for c in ORDER_COLUMNS if any(c[0] in o for o in orders)]})
        for view in self._views:
            fit_columns(view)
        self.tabs.setTabText(0, f"Contacts ({len(contacts)})")
        self.tabs.setTabText(1, f"Orders ({len(orders)})")
        self.summary.setText(f"{len(contacts)} contacts and {len(orders)} orders make up this row.")
        self.loaded.emit(result)
