"""No usable keychain: the add form offers the encrypted file with its passphrase, keeps what was typed on
error, and the app asks for the passphrase before syncing; the Sources page shows every origin of data."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.store import open_workspace
from segdesk.sync import secrets
from segdesk.sync.http import HttpOptions
from segdesk.sync.sources import list_sources
from tests.sync.fakes import FakeStripe

ORDERS = ("order_id,email,amount,currency,created_at\n"
          "o-1,ann@example.com,49.00,USD,2026-01-05T10:00:00Z\n"
          "o-2,bob@example.com,19.50,EUR,2026-01-06T11:00:00Z\n")


@pytest.fixture
def no_keychain(memory_keyring, monkeypatch):
    """keyring's own 'fail' backend: what a headless Linux without Secret Service gets."""
    keyring.set_keyring(fail.Keyring())
    monkeypatch.delenv(secrets.PASSPHRASE_ENV, raising=False)  # the in-process demo sets its own
    yield


def test_adding_a_source_without_a_keychain_uses_the_encrypted_file(tmp_path, qtbot, open_window, no_keychain):
    folder = tmp_path / "ws"
    window = open_window(folder)
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("stripe")
    assert dialog.windowTitle() == "Add a source"
    assert dialog.store_choice() == "encrypted-file"
    assert not dialog.store.model().item(0).isEnabled()  # the keychain cannot be chosen
    assert "No system keychain is usable" in dialog.note.text()
    assert dialog.form.isRowVisible(dialog.passphrase) and dialog.form.isRowVisible(dialog.passphrase_again)

    qtbot.keyClicks(dialog.secret, "sk_test_file")
    qtbot.keyClicks(dialog.passphrase, "correct horse")
    qtbot.keyClicks(dialog.passphrase_again, "correct hose")
    dialog.accept()
    assert "differ" in dialog.error.text() and dialog.isVisible()
    assert dialog.secret.text() == "sk_test_file"  # nothing typed is lost

    dialog.passphrase_again.clear()
    qtbot.keyClicks(dialog.passphrase_again, "correct horse")
    with qtbot.waitSignal(view.changed, timeout=10000):
        dialog.accept()
    assert not dialog.isVisible()
    ws = open_workspace(folder)
    [source] = list_sources(ws.conn)
    ws.close()
    assert source.secret_ref.startswith("file:")
    assert (folder / secrets.FILE_NAME).exists() and "sk_test_file" not in (folder / secrets.FILE_NAME).read_text()

    # A later session: the file is locked. A wrong passphrase is refused in the form, which keeps its fields.
    secrets.forget(folder)
    dialog = view.ask_add("kit")
    assert dialog.form.isRowVisible(dialog.passphrase) and not dialog.form.isRowVisible(dialog.passphrase_again)
    qtbot.keyClicks(dialog.secret, "kit-key")
    qtbot.keyClicks(dialog.passphrase, "wrong")
    dialog.accept()
    qtbot.waitUntil(lambda: "Wrong passphrase" in dialog.error.text(), timeout=10000)
    assert dialog.isVisible() and dialog.secret.text() == "kit-key" and dialog.ok_button.isEnabled()
    dialog.reject()

    # Sync Now asks for the passphrase first, then syncs the source whose key is in the file.
    fake = FakeStripe()
    fake.charge(4900, customer=fake.customer("a@example.com", "A")["id"], email="a@example.com")
    window.sync_status.http_options = HttpOptions(transports={"stripe": fake.transport()}, sleep=lambda _s: None)
    window.sync_action.trigger()
    unlock = window._passphrase_dialog
    assert unlock.isVisible() and unlock.windowTitle() == "Unlock the secrets file"
    qtbot.keyClicks(unlock.passphrase, "nope")
    unlock.accept()
    assert "Wrong passphrase" in unlock.error.text() and not window.sync_status.running
    unlock.passphrase.clear()
    qtbot.keyClicks(unlock.passphrase, "correct horse")
    with qtbot.waitSignal(window.sync_status.finished, timeout=30000) as done:
        unlock.accept()
    assert done.args[0].ok and [s.name for s in done.args[0].sources] == ["stripe"]


def test_sources_page_lists_every_origin_with_counts(tmp_path, qtbot, open_window):
    folder = tmp_path / "ws"
    ws = open_workspace(folder)
    import_orders(ws, ORDERS, origin="csv")
    ws.close()
    window = open_window(folder)
    window.show_page("sources")
    view = window.page("sources")
    qtbot.waitUntil(lambda: bool(view.rows), timeout=5000)
    [row] = view.rows
    assert row["name"] == "CSV import" and not row["configured"] and row["counts"] == {"orders": 2}
    item = view.tree.topLevelItem(0)
    assert item.text(4) == "2 orders" and item.text(3) == "imported"
    item.setSelected(True)
    assert not view.remove_btn.isEnabled()  # data without a connection: nothing to remove or test
