"""A workspace whose every stranger-controlled text looks like a formula or HTML.

A web visitor controls UTM values, traits and contact ids; a CRM or a CSV file
controls names, tags and products. The export and display tests feed these
through every view and check that they come out as the same text, inert.
"""

from __future__ import annotations

from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace

from .core.wire import at, identify, page

HTML = "<img src=x><a href=http://evil.example/>Click to verify</a>"
FORMULA = '=HYPERLINK("http://evil.example/","Click")'
CMD = "=cmd|' /C calc'!A0"
EMAIL = "victim@example.com"
# Channel values are trimmed and lower-cased when stored.
SOURCE = FORMULA.lower()
CAMPAIGN = "<b>spring</b>"
CONTACT_ID = HTML
FIRST_NAME = CMD
LAST_NAME = "<i>Doe</i>"
TAG = "@SUM(1+1)"
PRODUCT = "+1-2<br>"
TITLE = "<h1>Shop</h1>"


def build_hostile_workspace(folder) -> None:
    ws = open_workspace(folder)
    try:
        url = ("https://shop.example.com/?utm_source=%3DHYPERLINK(%22http%3A%2F%2Fevil.example%2F%22"
               "%2C%22Click%22)&utm_medium=cpc&utm_campaign=%3Cb%3Espring%3C%2Fb%3E")
        first = page("h1", at(-10), url, "https://l.facebook.com/")
        first["context"]["page"]["title"] = TITLE
        import_events(ws, [first, identify("h1", at(-10, minutes=1), email=EMAIL, contact_id=CONTACT_ID)],
                      origin="test")
        import_contacts(ws, "email,first_name,last_name,tags,created_at\n"
                            f"{EMAIL},\"{CMD}\",{LAST_NAME},\"{TAG}\",\n")
        import_orders(ws, "order_id,email,amount,currency,created_at,refunded_amount,product\n"
                          f"o1,{EMAIL},49.00,usd,{at(-9)},,{PRODUCT}\n")
        refresh_after_import(ws)
    finally:
        ws.close()
