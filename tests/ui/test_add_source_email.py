"""The Add-source dialog offers Mailchimp (with its audience id) and Klaviyo."""

from __future__ import annotations

from segdesk.ui.source_dialog import SourceDialog


def test_mailchimp_asks_for_the_audience_and_klaviyo_does_not(app, qtbot, tmp_path):
    dialog = SourceDialog(tmp_path, kind="mailchimp")
    qtbot.addWidget(dialog)
    assert dialog.form.isRowVisible(dialog.list_id)
    dialog.list_id.setText(" a1b2c3d4e5 ")
    dialog.secret.setText("0123-us6")
    assert dialog.values() == ("mailchimp", None, {"list_id": "a1b2c3d4e5"}, "0123-us6")
    dialog.kind.setCurrentIndex(dialog.kind.findData("klaviyo"))
    assert not dialog.form.isRowVisible(dialog.list_id)
    assert dialog.form.labelForField(dialog.secret).text() == "Private API key (pk_...)"
    dialog.secret.setText("pk_x")
    assert dialog.values() == ("klaviyo", None, {}, "pk_x")
