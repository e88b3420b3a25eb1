"""Adding or editing a source, where its secret is kept, and the secrets file's passphrase.

The dialog stays open until the source is saved: a refused key or a wrong
passphrase shows in the dialog, above what the user typed, instead of closing
it and losing the form. Where no OS keychain is usable the secret goes to the
workspace's encrypted file (sync/secrets.py), locked by a passphrase asked for
here; the app remembers it for the session (``secrets.unlock``), never on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from ..errors import SegDeskError
from ..sync import secrets
from ..sync import sources as sync_sources
from .banner import Banner
from .sign_in import SignInRow

# Ad platforms: the config key of the account field, and what it looks like.
AD_ACCOUNT = {"meta-ads": ("account_id", "act_1234567890"), "google-ads": ("customer_id", "123-456-7890"),
              "microsoft-ads": ("account_id", "the account's number, e.g. 149876543")}
# Email platforms and CRMs that name an account beside their key: its config key, label and hint.
CRM_ACCOUNT = {"drip": ("account_id", "Account id", "Settings > General > Account ID"),
               "ontraport": ("app_id", "App ID", "beside the API key (Administration > Integrations)"),
               "highlevel": ("location_id", "Location id", "the sub-account's id (Settings > Business Profile)")}
WITH_CURRENCY = ("ontraport", "highlevel")  # their money carries no currency: the account's, default usd
# Sources whose won deals can count as orders: the config key and the checkbox's words.
WON_AS_ORDERS = {**{kind: ("deals_as_orders", "Won deals count as orders") for kind in sync_sources.WITH_DEALS},
                 "highlevel": ("opportunities_as_orders", "Won opportunities count as orders")}
# Sign-in kinds: the config key of the manager field, and what it looks like.
AD_MANAGER = {"google-ads": ("login_customer_id", "optional: the manager's 123-456-7890"),
              "microsoft-ads": ("customer_id", "optional: the customer id (cid= in the web address)")}

STORE_LABELS = {"keyring": "System keychain", "encrypted-file": "Encrypted file in this workspace"}
WITH_ADDRESS = ("relay", "activecampaign", "stripe", "paypal", "hubspot", "kit", "keap", "woocommerce", "samcart")


def _password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


class SourceDialog(QDialog):
    """Kind, name, address and secret of a connection; with ``source`` given, edits that one."""

    submitted = Signal()  # OK pressed with a complete form; the page saves it and closes the dialog

    def __init__(self, workspace: Path, parent: QWidget | None = None, kind: str = "stripe",
                 source: sync_sources.Source | None = None, fetch=None):
        super().__init__(parent)
        self.workspace, self.source = Path(workspace), source
        self.setWindowTitle(f"Edit source “{source.name}”" if source else "Add a source")
        self.error = Banner()
        self.kind = QComboBox()
        for k, (vendor, _needs, _what) in sync_sources.KINDS.items():
            self.kind.addItem(vendor, k)
        self.name = QLineEdit()
        self.name.setPlaceholderText("default: the kind, e.g. stripe")
        self.base_url = QLineEdit()
        self.client_id = QLineEdit()
        self.account = QLineEdit()  # ad platforms: the account the spend is read from
        self.manager = QLineEdit()  # Google's login customer id, Microsoft's customer id
        self.developer_token = _password_field()
        self.sign_in = SignInRow(fetch)  # ``fetch``: AppContext.fetch, for the wait on the browser
        self.sign_in.button.clicked.connect(self._sign_in_clicked)
        self.sign_in.failed.connect(lambda reason: self.show_error(f"{reason[:1].upper()}{reason[1:]}"))
        self.shop = QLineEdit()
        self.shop.setPlaceholderText("NAME.myshopify.com")
        self.list_id = QLineEdit()
        self.list_id.setPlaceholderText("Audience > Settings > Unique id")
        self.crm_account = QLineEdit()
        self.currency = QLineEdit()
        self.currency.setPlaceholderText("usd")
        self.won_as_orders = QCheckBox()
        self.won_as_orders.setToolTip("A deal paid through Stripe or PayPal still counts once")
        self.consumer_key = QLineEdit()
        self.consumer_key.setPlaceholderText("ck_...")
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.csv_kind = QComboBox()
        self.csv_kind.addItems(sync_sources.CSV_KINDS)
        self.secret = _password_field()
        self.store = QComboBox()
        for key, label in STORE_LABELS.items():
            self.store.addItem(label, key)
        self.passphrase, self.passphrase_again = _password_field(), _password_field()
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.form = QFormLayout()
        for label, field in (("Kind", self.kind), ("Name", self.name), ("Address", self.base_url),
                             ("Ad account", self.account), ("Manager account", self.manager),
                             ("Developer token", self.developer_token), ("Client id", self.client_id),
                             ("Shop", self.shop), ("Audience id", self.list_id),
                             ("Account id", self.crm_account), ("Currency", self.currency), ("Deals", self.won_as_orders),
                             ("Consumer key", self.consumer_key), ("File", path_row), ("CSV holds", self.csv_kind),
                             ("Secret", self.secret), ("", self.sign_in), ("Keep it in", self.store),
                             ("Passphrase", self.passphrase),
                             ("Passphrase again", self.passphrase_again)):
            self.form.addRow(label, field)
        self._path_row = path_row
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save" if source else "Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.error)
        lay.addLayout(self.form)
        lay.addWidget(self.note)
        lay.addWidget(buttons)
        self.keyring_problem = secrets.keyring_problem()
        if self.keyring_problem:
            # No keychain here: offer the encrypted file instead of failing on Add.
            self.store.model().item(0).setEnabled(False)
            self.store.setItemData(0, "No system keychain is usable on this computer", Qt.ItemDataRole.ToolTipRole)
            self.store.setCurrentIndex(1)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.store.currentIndexChanged.connect(self._kind_changed)
        self.kind.setCurrentIndex(max(0, self.kind.findData(source.kind if source else kind)))
        if source:
            self._fill(source)
        self._kind_changed()
        self.resize(500, self.sizeHint().height())

    def _fill(self, source: sync_sources.Source) -> None:
        self.kind.setEnabled(False)
        self.name.setText(source.name)
        self.name.setReadOnly(True)
        self.base_url.setText(source.config.get("base_url", ""))
        self.client_id.setText(source.config.get("client_id", ""))
        self.shop.setText(source.config.get("shop", ""))
        self.list_id.setText(source.config.get("list_id", ""))
        if source.kind in CRM_ACCOUNT:
            self.crm_account.setText(str(source.config.get(CRM_ACCOUNT[source.kind][0], "")))
        self.currency.setText(source.config.get("currency", ""))
        if source.kind in WON_AS_ORDERS:
            self.won_as_orders.setChecked(bool(source.config.get(WON_AS_ORDERS[source.kind][0])))
        if source.kind in AD_ACCOUNT:
            self.account.setText(source.config.get(AD_ACCOUNT[source.kind][0], ""))
        if source.kind in AD_MANAGER:
            self.manager.setText(source.config.get(AD_MANAGER[source.kind][0], ""))
        self.path.setText(source.config.get("path", ""))
        self.csv_kind.setCurrentText(source.config.get("csv_kind", self.csv_kind.currentText()))
        self.secret.setPlaceholderText("leave empty to keep the current one")
        if source.secret_ref and source.secret_ref.startswith("file:"):
            self.store.setCurrentIndex(1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a CSV file", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.path.setText(path)

    def needs_passphrase(self) -> bool:
        return self.store_choice() == "encrypted-file" and not secrets.is_unlocked(self.workspace)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        _vendor, needs_secret, what = sync_sources.KINDS[kind]
        self.form.setRowVisible(self.base_url, kind in WITH_ADDRESS)
        signs_in = kind in sync_sources.SIGN_IN_KINDS
        self.sign_in.reset()
        self.form.setRowVisible(self.client_id, kind == "paypal" or signs_in)
        self.form.labelForField(self.client_id).setText("OAuth client id" if signs_in else "Client id")
        self.form.setRowVisible(self.account, kind in AD_ACCOUNT)
        for row in (self.manager, self.developer_token, self.sign_in):
            self.form.setRowVisible(row, signs_in)
        self.manager.setPlaceholderText(AD_MANAGER.get(kind, ("", ""))[1])
        if not self.source:
            self.secret.setPlaceholderText({"google-ads": "GOCSPX-...", "microsoft-ads": "only for a web app "
                                            "registration"}.get(kind, ""))
        self.form.setRowVisible(self.shop, kind == "shopify")
        self.form.setRowVisible(self.list_id, kind == "mailchimp")
        self.form.setRowVisible(self.crm_account, kind in CRM_ACCOUNT)
        if kind in CRM_ACCOUNT:
            self.form.labelForField(self.crm_account).setText(CRM_ACCOUNT[kind][1])
            self.crm_account.setPlaceholderText(CRM_ACCOUNT[kind][2])
        self.form.setRowVisible(self.currency, kind in WITH_CURRENCY)
        self.form.setRowVisible(self.won_as_orders, kind in WON_AS_ORDERS)
        self.won_as_orders.setText(WON_AS_ORDERS.get(kind, ("", ""))[1])
        self.form.setRowVisible(self.consumer_key, kind == "woocommerce")
        self.account.setPlaceholderText(AD_ACCOUNT.get(kind, ("", ""))[1])
        self.form.setRowVisible(self._path_row, kind == "csv")
        self.form.setRowVisible(self.csv_kind, kind == "csv")
        for row in (self.secret, self.store):
            self.form.setRowVisible(row, needs_secret)
        asking = needs_secret and self.needs_passphrase()
        self.form.setRowVisible(self.passphrase, asking)
        self.form.setRowVisible(self.passphrase_again, asking and not secrets.has_file(self.workspace))
        if needs_secret:
            label = {"woocommerce": "Consumer secret", "google-ads": "OAuth client secret",
                     "microsoft-ads": "Client secret"}.get(kind, what[:1].upper() + what[1:])
            self.form.labelForField(self.secret).setText(label)
        placeholders = {"relay": "https://t.example.com", "activecampaign": "https://ACCOUNT.api-us1.com",
                        "woocommerce": "https://shop.example (the WordPress site)"}
        self.base_url.setPlaceholderText(placeholders.get(kind, "optional: another API host (regional, test)"))
        self.note.setText(self._note(kind, needs_secret, what))

    def _note(self, kind: str, needs_secret: bool, what: str) -> str:
        if kind == "csv":
            return "The file is read again on every sync; rows already imported are skipped."
        if kind == "google-ads":
            return ("The developer token (API Center of a manager account) and an OAuth client of type "
                    "\"Desktop app\" (Google Cloud console); Sign in opens Google in your browser, and the refresh "
                    "token is kept where the secret goes.")
        if kind == "microsoft-ads":
            return ("The developer token (Microsoft Advertising > Developer settings) and an app registered in "
                    "Microsoft Entra with the redirect URI http://localhost (client secret only for a web app); "
                    "Sign in opens Microsoft in your browser, and the refresh token is kept where the secret goes.")
        lead = "The relay's address and the pull token that 'segdesk relay init' printed. " if kind == "relay" else ""
        if not needs_secret:
            return lead
        if self.store_choice() == "keyring":
            return lead + f"The {what} is kept in your system keychain."
        why = "No system keychain is usable on this computer, so the" if self.keyring_problem else "The"
        new = "" if secrets.has_file(self.workspace) else " Choose a passphrase for it; it cannot be recovered."
        return lead + f"{why} {what} is kept in an encrypted file in the workspace, locked by a passphrase.{new}"

    def store_choice(self) -> str:
        return self.store.currentData()

    def show_error(self, text: str) -> None:
        """A refusal from saving: shown here, the form kept as typed."""
        self.error.show_message(text, error=True)
        self.ok_button.setEnabled(True)

    def accept(self) -> None:
        problem = self._incomplete()
        if problem:
            self.show_error(problem)
            return
        self.ok_button.setEnabled(False)  # until the page reports the save
        self.submitted.emit()

    def _incomplete(self) -> str | None:
        if not self.form.isRowVisible(self.passphrase):
            return None
        if not self.passphrase.text():
            return "Type the secrets file's passphrase."
        if self.form.isRowVisible(self.passphrase_again) and self.passphrase.text() != self.passphrase_again.text():
            return "The two passphrases differ."
        return None

    def values(self) -> tuple[str, str | None, dict, str | None]:
        kind = self.kind.currentData()
        config: dict = dict(self.source.config) if self.source else {}
        for key in ("base_url", "client_id", "path", "csv_kind", "shop", "list_id", *(key for key, _ in WON_AS_ORDERS.values()),
                    *(field for field, _ in (*AD_ACCOUNT.values(), *AD_MANAGER.values()))):
            config.pop(key, None)
        if self.base_url.text().strip():
            config["base_url"] = self.base_url.text().strip().rstrip("/")
        if kind == "paypal" and self.client_id.text().strip():
            config["client_id"] = self.client_id.text().strip()
        if kind in AD_ACCOUNT and self.account.text().strip():
            config[AD_ACCOUNT[kind][0]] = self.account.text().strip()
        if kind in AD_MANAGER and self.manager.text().strip():
            config[AD_MANAGER[kind][0]] = self.manager.text().strip()
        if kind == "shopify":
            config["shop"] = self.shop.text().strip()
        if kind in WON_AS_ORDERS and self.won_as_orders.isChecked():
            config[WON_AS_ORDERS[kind][0]] = True
        if kind == "mailchimp" and self.list_id.text().strip():
            config["list_id"] = self.list_id.text().strip()
        if kind in CRM_ACCOUNT:
            self._crm_values(kind, config)
        if kind == "csv":
            config["path"] = self.path.text().strip()
            config["csv_kind"] = self.csv_kind.currentText()
        secret = self.secret.text().strip() or None if sync_sources.KINDS[kind][1] else None
        if kind in sync_sources.SIGN_IN_KINDS:
            secret = self._grant_json()
        if kind == "woocommerce":  # both parts or none: add_source then names what is missing
            key = self.consumer_key.text().strip()
            from ..sync.connectors import woocommerce  # httpx loads on first use, not at start

            secret = woocommerce.secret_of(key, secret) if key and secret else None
        return kind, self.name.text().strip() or None, config, secret

    def _crm_values(self, kind: str, config: dict) -> None:
        """Drip's account, Ontraport's App ID, HighLevel's location; their currency."""
        for key in ("app_id", "location_id", "currency"):
            config.pop(key, None)
        if self.crm_account.text().strip():
            config[CRM_ACCOUNT[kind][0]] = self.crm_account.text().strip()
        if kind in WITH_CURRENCY and self.currency.text().strip():
            config["currency"] = self.currency.text().strip().lower()

    # -- sign-in (Google Ads, Microsoft Advertising) ------------------------------------------------
    def _client_fields(self) -> dict:
        fields = {"developer_token": self.developer_token.text().strip(), "client_id": self.client_id.text().strip(),
                  "client_secret": self.secret.text().strip()}
        return {k: v for k, v in fields.items() if v}

    def _grant_json(self) -> str | None:
        """The secret to keep: a whole grant pasted as JSON, else the fields with the sign-in's refresh token."""
        if self.secret.text().strip().startswith("{"):
            return self.secret.text().strip()
        fields = self._client_fields()
        signed = self.sign_in.grant
        if signed and signed.get("client_id") == fields.get("client_id"):
            fields["refresh_token"] = signed["refresh_token"]
        return json.dumps(fields) if fields else None

    def _sign_in_clicked(self) -> None:
        if self.sign_in.running():
            self.sign_in.cancel()
            return
        kind = self.kind.currentData()
        from ..sync.connectors import SIGN_IN  # httpx and the connectors load on first use, not at start

        try:
            grant = SIGN_IN[kind].client_of(self._grant_json())
        except SegDeskError as exc:
            self.show_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return
        grant.pop("refresh_token", None)  # signing in again replaces it
        self.error.hide()
        self.sign_in.start(kind, grant)

    def done(self, result: int) -> None:
        self.sign_in.cancel()  # closing the dialog ends a sign-in still waiting on the browser
        super().done(result)

    def passphrase_given(self) -> str | None:
        return self.passphrase.text() if self.form.isRowVisible(self.passphrase) else None


class PassphraseDialog(QDialog):
    """Unlocks the workspace's secrets file for this session; a wrong passphrase keeps the dialog open."""

    def __init__(self, workspace: Path, parent: QWidget | None = None, why: str = ""):
        super().__init__(parent)
        self.workspace = Path(workspace)
        self.setWindowTitle("Unlock the secrets file")
        self.error = Banner()
        text = QLabel(why or "Some sources keep their keys in this workspace's encrypted file. "
                             "Type its passphrase to sync them.")
        text.setWordWrap(True)
        self.passphrase = _password_field()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Unlock")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        lay = QVBoxLayout(self)
        for w in (self.error, text):
            lay.addWidget(w)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def accept(self) -> None:
        try:
            secrets.unlock(self.workspace, self.passphrase.text())
        except secrets.SecretError as exc:
            self.error.show_message(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", error=True)
            self.passphrase.selectAll()
            return
        super().accept()


def locked_file_sources(ctx) -> list[str]:
    """Configured sources whose key is in a secrets file this session has not unlocked."""
    if secrets.is_unlocked(ctx.workspace_path):
        return []
    conn = ctx.reader()
    try:
        return [s.name for s in sync_sources.list_sources(conn) if (s.secret_ref or "").startswith("file:")]
    finally:
        conn.close()


def ensure_unlocked(ctx, parent: QWidget, then) -> None:
    """Run ``then()`` now, or after the passphrase dialog when a source's key is in the locked file."""
    if not locked_file_sources(ctx):
        then()
        return
    dialog = PassphraseDialog(ctx.workspace_path, parent)
    dialog.accepted.connect(then)
    dialog.open()
    parent._passphrase_dialog = dialog  # kept alive while open
