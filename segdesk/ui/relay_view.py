"""The Relay page: the relay's address and pull token, the pixel snippet, and the deploy command.

The relay is a source of kind ``relay`` (its pull token in the keychain); the
write key only goes into the snippet, so it is kept as a workspace setting.
Deploying runs ``segdesk relay deploy`` in a QProcess with its output shown live.
"""

from __future__ import annotations

import shlex
import sys

import httpx
from PySide6.QtCore import QProcess, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from ..core.store import read_setting
from ..errors import ApiError, AuthError, InvalidInput
from ..sync import secrets
from ..sync import sources as sync_sources
from .banner import Banner
from .context import AppContext, Changes
from .style import icon

SNIPPET = ('<script>window.segdesk=window.segdesk||function(){(segdesk.q=segdesk.q||[]).push(arguments)};</script>\n'
           '<script async src="{url}/p.js" data-write-key="{key}"></script>')
WRITE_KEY_SETTING = "relay.write_key"
# The relay's /healthz reasons (collector_relay/bots.py), in words.
FILTER_REASONS = {"bot_user_agent": "crawler browsers", "bot_request": "crawler requests"}
# Why the relay refused a webhook (collector_relay/hook_verify.py), in words.
WEBHOOK_REASONS = {"unknown_source": "unknown address", "missing_signature": "no signature or key",
                   "bad_signature": "wrong signature or key", "stale_timestamp": "signed too long ago"}


def snippet(url: str, write_key: str) -> str:
    """The two lines a marketer pastes into every page (docs/SPEC.md §2)."""
    return SNIPPET.replace("{url}", (url or "https://t.example.com").rstrip("/")).replace(
        "{key}", write_key or "WRITE_KEY")


def load_relay(conn) -> dict:
    relay = next((s for s in sync_sources.list_sources(conn) if s.kind == "relay"), None)
    return {"name": relay.name if relay else None, "url": relay.config.get("base_url", "") if relay else "",
            "write_key": read_setting(conn, WRITE_KEY_SETTING, "")}


def save_relay(ws, old_name: str | None, url: str, token: str | None, write_key: str) -> str:
    """Point the workspace at a relay: replace the relay source when the address or token changes."""
    ws.set_setting(WRITE_KEY_SETTING, write_key)
    if token:
        if old_name:
            sync_sources.remove_source(ws, old_name)
        sync_sources.add_source(ws, "relay", old_name or "relay", {"base_url": url}, token)
        return "Relay saved; its pull token is in your keychain."
    if not old_name:
        raise InvalidInput("the pull token is needed the first time (it was printed by 'segdesk relay init')")
    return "Write key saved (the relay connection is unchanged)."


def check_health(conn, workspace, url: str, token: str | None) -> str:
    """Ask the relay's /healthz with the pull token (typed, else the one in the keychain)."""
    if not token:
        relay = next((s for s in sync_sources.list_sources(conn) if s.kind == "relay" and s.secret_ref), None)
        if relay is None:
            raise InvalidInput("enter the pull token to check the connection")
        token = secrets.load_secret(workspace, relay.secret_ref)
    try:
        response = httpx.get(url.rstrip("/") + "/healthz", timeout=5.0, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            raise AuthError("the relay answers, but refuses this pull token")
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # no answer, an error status, not JSON, a bad address
        raise ApiError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None
    return health_message(body)


def health_message(body: dict) -> str:
    """One line from /healthz: what waits, and what the relay chose not to keep, by reason."""
    text = f"The relay answers: {body.get('buffered', 0):,} events waiting to be pulled."
    filtered = {reason: n for reason, n in (body.get("filtered") or {}).items() if n}
    if filtered:
        reasons = ", ".join(f"{FILTER_REASONS.get(r, r)} {n:,}" for r, n in sorted(filtered.items()))
        text += f" Filtered as bots, not stored: {sum(filtered.values()):,} ({reasons})."
    hooks = body.get("webhooks")
    return text + webhook_message(hooks) if isinstance(hooks, dict) else text  # older relays take no webhooks


def webhook_message(hooks: dict) -> str:
    """The webhooks part of /healthz: whether a vendor's deliveries arrive, and why any were refused."""
    refused = {reason: n for reason, n in (hooks.get("rejected") or {}).items() if n}
    if not hooks.get("sources") and not refused:
        return " No webhook sources yet (segdesk relay hooks add)."
    since = str(hooks.get("rejected_since") or "")[:16].replace("T", " ")
    text = (f" Webhooks since {since} UTC: {hooks.get('kept', 0):,} kept, {hooks.get('duplicates', 0):,} repeats"
            f" not stored again, {hooks.get('buffered', 0):,} waiting to be pulled")
    if not refused:
        return text + ", none refused."
    reasons = ", ".join(f"{WEBHOOK_REASONS.get(r, r.replace('_', ' '))} {n:,}"
                        for r, n in sorted(refused.items(), key=lambda item: (-item[1], item[0])))
    return text + f"; {sum(refused.values()):,} refused ({reasons})."


class RelayView(QWidget):
    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.state: dict = {"name": None, "url": "", "write_key": ""}
        self.process: QProcess | None = None
        title = QLabel("Relay")
        title.setObjectName("pageTitle")
        self.banner = Banner()
        body = QWidget()
        v = QVBoxLayout(body)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(14)
        v.addWidget(title)
        v.addWidget(self.banner)
        v.addWidget(self._connection_box())
        v.addWidget(self._snippet_box())
        v.addWidget(self._deploy_box())
        v.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 16)
        lay.addWidget(scroll)
        ctx.dataChanged.connect(lambda c: c.sources and self.refresh())
        self.refresh()

    # -- building ------------------------------------------------------------------
    def _connection_box(self) -> QGroupBox:
        box = QGroupBox("Connection")
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://t.example.com")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("printed once by 'segdesk relay init' (kept in your keychain)")
        self.write_key = QLineEdit()
        self.write_key.setPlaceholderText("the public write key for the snippet")
        self.url.textChanged.connect(self._update_snippet)
        self.write_key.textChanged.connect(self._update_snippet)
        save = QPushButton("Save")
        save.setObjectName("primary")
        save.clicked.connect(self.save)
        check = QPushButton("Check connection")
        check.clicked.connect(self.check)
        row = QHBoxLayout()
        row.addWidget(check)
        row.addStretch(1)
        row.addWidget(save)
        form = QFormLayout(box)
        form.addRow("Address", self.url)
        form.addRow("Pull token", self.token)
        form.addRow("Write key", self.write_key)
        form.addRow(row)
        return box

    def _snippet_box(self) -> QGroupBox:
        box = QGroupBox("Pixel snippet")
        hint = QLabel("Paste these two lines into the <head> of every page of your site.")
        hint.setObjectName("muted")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        self.snippet = QPlainTextEdit()
        self.snippet.setObjectName("console")
        self.snippet.setReadOnly(True)
        self.snippet.setFixedHeight(64)
        self.copy_btn = QPushButton(icon("copy"), "Copy")
        self.copy_btn.clicked.connect(self.copy_snippet)
        row = QHBoxLayout()
        row.addWidget(hint, 1)
        row.addWidget(self.copy_btn)
        v = QVBoxLayout(box)
        v.addLayout(row)
        v.addWidget(self.snippet)
        return box

    def _deploy_box(self) -> QGroupBox:
        box = QGroupBox("Deploy the relay")
        self.target = QLineEdit()
        self.target.setPlaceholderText("ssh://user@server.example.com")
        self.domain = QLineEdit()
        self.domain.setPlaceholderText("optional: t.example.com (HTTPS through Caddy)")
        self.origin = QLineEdit()
        self.origin.setPlaceholderText("optional: https://example.com (the site allowed to send)")
        self.command = QLabel()
        self.command.setObjectName("muted")
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setWordWrap(True)
        for w in (self.target, self.domain, self.origin):
            w.textChanged.connect(self._update_command)
        self.deploy_btn = QPushButton("Deploy")
        self.deploy_btn.setObjectName("primary")
        self.deploy_btn.clicked.connect(self.deploy)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.clicked.connect(self.stop_deploy)
        self.stop_btn.setEnabled(False)
        self.output = QPlainTextEdit()
        self.output.setObjectName("console")
        self.output.setReadOnly(True)
        self.output.setMinimumHeight(150)
        self.output.setPlaceholderText("The deploy command's output appears here.")
        row = QHBoxLayout()
        row.addWidget(self.command, 1)
        row.addWidget(self.stop_btn)
        row.addWidget(self.deploy_btn)
        form = QFormLayout(box)
        form.addRow("Server", self.target)
        form.addRow("Domain", self.domain)
        form.addRow("Site origin", self.origin)
        form.addRow(row)
        form.addRow(self.output)
        self._update_command()
        return box

    # -- state -----------------------------------------------------------------------
    def refresh(self) -> None:
        job = self.ctx.read(lambda conn, _p: load_relay(conn), "relay")
        job.finished.connect(self._show)

    def _show(self, state: dict) -> None:
        self.state = state
        if not self.url.hasFocus():
            self.url.setText(state["url"])
        if not self.write_key.hasFocus():
            self.write_key.setText(state["write_key"])
        self.token.setPlaceholderText("stored in your keychain; type a new one to replace it" if state["name"]
                                      else "printed once by 'segdesk relay init' (kept in your keychain)")
        self._update_snippet()

    def _update_snippet(self) -> None:
        self.snippet.setPlainText(snippet(self.url.text().strip(), self.write_key.text().strip()))

    def copy_snippet(self) -> None:
        QGuiApplication.clipboard().setText(self.snippet.toPlainText())
        self.show_banner("Snippet copied to the clipboard.")

    def show_banner(self, text: str, error: bool = False) -> None:
        self.banner.show_message(text, error)

    def save(self) -> None:
        url, token, key, old = (self.url.text().strip().rstrip("/"), self.token.text().strip(),
                                self.write_key.text().strip(), self.state["name"])
        if not url:
            self.show_banner("The relay's address is needed.", error=True)
            return
        if url != self.state["url"] and not token and old:
            self.show_banner("A new address needs the pull token again.", error=True)
            return
        job = self.ctx.write(lambda ws, _p: save_relay(ws, old, url, token or None, key), "save relay")
        job.finished.connect(self._saved)
        job.failed.connect(lambda reason: self.show_banner(reason, error=True))

    def _saved(self, message: str) -> None:
        self.token.clear()
        self.show_banner(message)
        self.ctx.notify(Changes(sources=True))

    def check(self) -> None:
        url = self.url.text().strip()
        if not url:
            self.show_banner("Enter the relay's address first.", error=True)
            return
        self.show_banner(f"Checking {url}…")
        token, folder = self.token.text().strip(), self.ctx.workspace_path
        job = self.ctx.read(lambda conn, _p: check_health(conn, folder, url, token), "relay health")
        job.finished.connect(self.show_banner)
        job.failed.connect(lambda reason: self.show_banner(f"The relay does not answer: {reason}", error=True))

    # -- deploy ------------------------------------------------------------------------
    def deploy_args(self) -> list[str]:
        args = ["deploy", self.target.text().strip() or "ssh://user@server"]
        if self.domain.text().strip():
            args += ["--domain", self.domain.text().strip()]
        if self.origin.text().strip():
            args += ["--origin", self.origin.text().strip()]
        return args

    def _update_command(self) -> None:
        self.command.setText("segdesk relay " + " ".join(shlex.quote(a) for a in self.deploy_args()))

    def deploy(self) -> None:
        if not self.target.text().strip():
            self.show_banner("Enter the server to deploy to (ssh://user@host).", error=True)
            return
        self.run_relay_command(self.deploy_args())

    def run_relay_command(self, args: list[str]) -> QProcess:
        """Run ``segdesk relay ARGS`` in a QProcess, streaming its output into the console."""
        self.output.clear()
        self.output.appendPlainText("$ segdesk relay " + " ".join(shlex.quote(a) for a in args))
        proc = self.process = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(
            lambda: self.output.insertPlainText(bytes(proc.readAllStandardOutput()).decode(errors="replace")))
        proc.finished.connect(self._deploy_finished)
        proc.errorOccurred.connect(lambda _e: self.output.appendPlainText(proc.errorString()))
        self.deploy_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        proc.start(sys.executable, ["-m", "segdesk.collector_relay", *args])
        return proc

    def stop_deploy(self) -> None:
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()

    def _deploy_finished(self, code: int, _status) -> None:
        self.deploy_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        self.output.appendPlainText(f"\n[finished with exit status {code}]")
        self.show_banner("Deployed." if code == 0 else f"The deploy command failed (exit status {code}); "
                         "see its output below.", error=code != 0)
