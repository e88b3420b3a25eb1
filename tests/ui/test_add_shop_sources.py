"""The Add-source dialog knows the shops: Shopify by its shop address, WooCommerce by site, key and secret."""

from __future__ import annotations

import orjson

from segdesk.core.store import open_workspace
from segdesk.sync.sources import list_sources


def _add(view, qtbot, kind: str, **fields) -> None:
    dialog = view.ask_add(kind)
    for name, text in fields.items():
        qtbot.keyClicks(getattr(dialog, name), text)
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()


def test_shopify_and_woocommerce_are_added_from_the_dialog(tmp_path, qtbot, open_window, memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("woocommerce")
    assert dialog.form.labelForField(dialog.secret).text() == "Consumer secret"
    assert not dialog.form.isRowVisible(dialog.shop) and dialog.form.isRowVisible(dialog.consumer_key)
    dialog.reject()
    _add(view, qtbot, "shopify", shop="Demo.myshopify.com", secret="shpat_1")
    _add(view, qtbot, "woocommerce", base_url="https://shop.example", consumer_key="ck_1", secret="cs_1")
    qtbot.waitUntil(lambda: sorted(r["name"] for r in view.rows) == ["shopify", "woocommerce"], timeout=5000)
    with open_workspace(tmp_path / "ws") as ws:
        configs = {s.kind: s.config for s in list_sources(ws.conn)}
    assert configs == {"shopify": {"shop": "demo.myshopify.com"}, "woocommerce": {"base_url": "https://shop.example"}}
    assert sorted(memory_keyring.items.values(), key=len) == [
        "shpat_1", orjson.dumps({"consumer_key": "ck_1", "consumer_secret": "cs_1"}).decode()]

    # A WooCommerce source without its consumer key is refused with the reason; nothing stored.
    dialog = view.ask_add("woocommerce")
    qtbot.keyClicks(dialog.name, "other")
    qtbot.keyClicks(dialog.base_url, "https://other.example")
    qtbot.keyClicks(dialog.secret, "cs_2")
    dialog.accept()
    # The dialog stays open with what was typed and says why (ui/source_dialog.py).
    qtbot.waitUntil(lambda: "consumer key and secret" in dialog.error.text(), timeout=5000)
