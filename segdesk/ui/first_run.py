"""The first-run guide an empty workspace shows instead of the dashboard: three steps to data."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .context import AppContext

STEPS = (
    ("Deploy the relay",
     "The relay is a tiny server that receives your visitors' page views and keeps them until SegDesk "
     "pulls them. Deploy it to any small server with one command, or run it on this computer to try things out.",
     "Set up the relay", "relay"),
    ("Paste the snippet",
     "Two lines of HTML in every page of your site: anonymous visits are recorded from then on and credited "
     "to each person as soon as they opt in or click an email link.",
     "Get the snippet", "relay"),
    ("Connect CRM and payments",
     "Add Stripe, PayPal, your CRM (ActiveCampaign, HubSpot, Kit, Keap) or CSV files. Keys go to your "
     "system keychain, never into the workspace.",
     "Add a source", "sources"),
)


class FirstRunView(QWidget):
    pageRequested = Signal(str)
    syncRequested = Signal()

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        hero = QLabel("Welcome to SegDesk")
        hero.setObjectName("hero")
        intro = QLabel("See which campaigns bring the customers who pay — on your own computer. "
                       f"This workspace ({ctx.workspace_path}) is empty; three steps fill it.")
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(12)
        self.buttons: dict[str, QPushButton] = {}
        for i, (title, text, action, page) in enumerate(STEPS):
            grid.addWidget(self._card(i + 1, title, text, action, page), 0, i)
        tail = QLabel("Then press <b>Sync Now</b> (Ctrl+R). Just looking? Run <code>segdesk demo</code> for a "
                      "workspace full of realistic data with a live relay.")
        tail.setObjectName("muted")
        tail.setWordWrap(True)
        tail.setTextFormat(Qt.TextFormat.RichText)
        sync = QPushButton("Sync Now")
        sync.setObjectName("primary")
        sync.clicked.connect(self.syncRequested)
        bottom = QHBoxLayout()
        bottom.addWidget(tail, 1)
        bottom.addWidget(sync)

        inner = QWidget()
        inner.setMaximumWidth(1040)
        v = QVBoxLayout(inner)
        v.setSpacing(14)
        v.addWidget(hero)
        v.addWidget(intro)
        v.addSpacing(8)
        v.addLayout(grid)
        v.addSpacing(6)
        v.addLayout(bottom)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(36, 36, 36, 36)
        outer.addWidget(inner, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)

    def _card(self, number: int, title: str, text: str, action: str, page: str) -> QFrame:
        card = QFrame()
        card.setObjectName("card")
        num = QLabel(str(number))
        num.setObjectName("stepNumber")
        head = QLabel(title)
        head.setObjectName("sectionTitle")
        body = QLabel(text)
        body.setWordWrap(True)
        body.setObjectName("muted")
        body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        button = QPushButton(action)
        button.clicked.connect(lambda: self.pageRequested.emit(page))
        self.buttons[title] = button
        top = QHBoxLayout()
        top.addWidget(num)
        top.addWidget(head, 1)
        v = QVBoxLayout(card)
        v.setContentsMargins(18, 18, 18, 18)
        v.setSpacing(10)
        v.addLayout(top)
        v.addWidget(body, 1)
        v.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return card
