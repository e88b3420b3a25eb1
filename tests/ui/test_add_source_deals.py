"""The Add-source dialog offers "won deals count as orders" for HubSpot and ActiveCampaign only, off by default."""

from __future__ import annotations

from segdesk.sync.sources import Source
from segdesk.ui.source_dialog import SourceDialog


def test_deals_option_shows_for_crms_with_deals_and_is_kept(app, qtbot, tmp_path):
    dialog = SourceDialog(tmp_path, kind="hubspot")
    qtbot.addWidget(dialog)
    assert dialog.form.isRowVisible(dialog.won_as_orders) and not dialog.won_as_orders.isChecked()
    dialog.secret.setText("pat-na1-x")
    assert dialog.values() == ("hubspot", None, {}, "pat-na1-x")
    dialog.won_as_orders.setChecked(True)
    assert dialog.values() == ("hubspot", None, {"deals_as_orders": True}, "pat-na1-x")
    dialog.kind.setCurrentIndex(dialog.kind.findData("kit"))
    assert not dialog.form.isRowVisible(dialog.won_as_orders)
    assert dialog.values()[2] == {}  # a kind without deals never carries the option


def test_editing_a_source_shows_its_choice_and_can_turn_it_off(app, qtbot, tmp_path):
    source = Source("ac", "activecampaign", {"base_url": "https://acme.api-us1.com", "deals_as_orders": True})
    dialog = SourceDialog(tmp_path, source=source)
    qtbot.addWidget(dialog)
    assert dialog.won_as_orders.isChecked()
    dialog.won_as_orders.setChecked(False)
    assert dialog.values()[2] == {"base_url": "https://acme.api-us1.com"}
