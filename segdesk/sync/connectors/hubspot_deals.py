"""HubSpot won deals as orders, when the marketer asks (``segdesk sources add hubspot --deals-as-orders``).

Deals are read like contacts (hubspot_search.py), incremental on
``hs_lastmodifieddate``: every deal changed since the last sync, won or not,
so a deal reopened or lost after it was won stops counting. A deal is won
when HubSpot's calculated ``hs_is_closed_won`` says so (the won stage of any
pipeline, not only the default pipeline's ``closedwon``). Its order is
``hubspot-deal:<id>``: ``amount`` in ``deal_currency_code`` (the source's
``--currency``, else usd, when the deal has none) at ``closedate``, for the
first contact associated with it (``POST
/crm/v4/associations/deals/contacts/batch/read``, which answers 207 with an
error per deal that has none:
https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations),
whose email the contacts read just before supply. A deal is usually money a
processor also reports: core/reconcile.py matches it to that charge (same
person, amount and currency, within 36 hours), so it counts once. Needs the
``crm.objects.deals.read`` scope; without it the sync fails with a line
naming it. Turning the option off removes the deal orders it brought.
"""

from __future__ import annotations

from ..context import SyncContext
from ..records import iso_ts, orders
from . import hubspot_search
from .toolkit import vendor_minor
from .crm import buyer, drop_orders, forget_orders

DEALS = hubspot_search.Search("deals", "hs_lastmodifieddate",
                              ("dealname", "amount", "deal_currency_code", "closedate", "dealstage",
                               "hs_is_closed_won", "hs_lastmodifieddate"))
PREFIX = "hubspot-deal:"


def sync_deals(ctx: SyncContext, client, *, page: int, cap: int) -> None:
    hubspot_search.read(ctx, client, DEALS, "deals", lambda conn, results: _store(ctx, conn, results),
                        page=page, cap=cap, prepare=lambda results: _with_contacts(client, results))


def forget_deals(ctx: SyncContext):
    """The write that removes the deal orders of a source whose option was turned off."""
    return forget_orders(ctx, PREFIX)


def _won(deal: dict) -> bool:
    props = deal.get("properties") or {}
    return str(props.get("hs_is_closed_won") or "").lower() == "true"


def _with_contacts(client, results: list[dict]) -> list[dict]:
    """Each won deal with ``contact``: the id of its first associated contact, if any."""
    won = [r["id"] for r in results if _won(r)]
    if not won:
        return results
    body = client.post_json("/crm/v4/associations/deals/contacts/batch/read",
                            json={"inputs": [{"id": str(i)} for i in won]})
    first = {str((a.get("from") or {}).get("id")): str(a["to"][0]["toObjectId"])
             for a in body.get("results") or [] if a.get("to") and a["to"][0].get("toObjectId") is not None}
    return [dict(r, contact=first.get(str(r["id"]))) for r in results]


def _store(ctx: SyncContext, conn, results: list[dict]) -> None:
    default = (ctx.source.config.get("currency") or "usd").lower()
    rows, gone = [], []
    for r in results:
        props, order_id = r.get("properties") or {}, f"{PREFIX}{r['id']}"
        currency = (props.get("deal_currency_code") or default).strip().lower()
        amount = vendor_minor(str(props.get("amount") or 0).strip(), currency, f"HubSpot deal {r['id']}")
        email, erased = buyer(conn, ctx.origin, f"hubspot:{r['contact']}") if r.get("contact") else (None, False)
        if not _won(r) or amount <= 0 or erased:
            gone.append(order_id)
            continue
        closed = iso_ts(props.get("closedate")) or iso_ts(props.get("hs_lastmodifieddate"))
        rows.append((ctx.origin, order_id, email, None, amount, currency, closed, None, "paid", None))
    ctx.add_changed(orders=orders(conn, rows) + drop_orders(conn, ctx.origin, gone))
