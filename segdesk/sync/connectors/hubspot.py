"""HubSpot: contacts with their lifecycle stage, list memberships as tags, and won deals as orders on request.

- **Contacts** through the CRM search API, incremental on ``lastmodifieddate``
  (hubspot_search.py: the 10,000-result cap and the index lag). Each
  contact's ``lifecyclestage`` becomes the tag ``lifecycle:<stage>`` with the
  stage's internal value (``lifecycle:customer``,
  ``lifecycle:marketingqualifiedlead``; a custom stage's numeric id), the one
  HubSpot's filters and workflows use, so it never changes when a label is
  renamed. A contact holds one stage: moving on replaces the tag.
- **Lists** (Lists API v3, hubspot_lists.py): each contact list's name is a
  tag on its members, removed when they leave.
- **Won deals** as orders when the source says ``deals_as_orders``
  (hubspot_deals.py), off by default: a CRM's deal is often the same money a
  processor reports, and only the marketer knows whether their deals are.

A token without a scope gets a 403 naming it (category ``MISSING_SCOPES``),
reported as such; lists are skipped with a note instead, so a token made
before lists were read keeps syncing contacts. Search is limited to 5
requests/s per account, below the 100 per 10 s of private apps
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines),
so we keep to 4/s.
"""

from __future__ import annotations

import httpx
import orjson

from ..context import SyncContext
from ..http import RateLimit, error_text
from ..records import email_of, iso_ts
from . import hubspot_deals, hubspot_lists, hubspot_search
from .crm import Person, store_people, store_tags

API = "https://api.hubapi.com"
PAGE = 100
SEARCH_CAP = hubspot_search.SEARCH_CAP
RATE = RateLimit(4, 1.0)
WINDOW = 10.0
CONTACTS = hubspot_search.Search("contacts", "lastmodifieddate",
                                 ("email", "firstname", "lastname", "createdate", "lastmodifieddate", "lifecyclestage"))
LIFECYCLE = "lifecycle:"


def _forbidden(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    if isinstance(body, dict) and body.get("category") == "MISSING_SCOPES":
        scopes = sorted({s for e in body.get("errors") or [] for s in (e.get("context") or {}).get(
            "requiredGranularScopes") or []})
        if scopes:
            noun = "scope" if len(scopes) == 1 else "scopes"
            return f"HubSpot: the private app token lacks the {noun} {', '.join(scopes)}"
    return f"HubSpot refused {response.request.url.path}: {error_text(response)}"


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"Authorization": f"Bearer {ctx.secret}"}, rate=RATE,
                        auth_words="the private app token", window=WINDOW, forbidden=_forbidden)
    if "contacts" not in ctx.cursor:
        # A cursor from before lifecycle stages were read held the contacts' state alone: dropping it reads
        # every contact once more (upserted, nothing doubles), so the ones unchanged since get their stage.
        ctx.cursor = {}
    hubspot_search.read(ctx, client, CONTACTS, "contacts", lambda conn, page: _store_contacts(ctx, conn, page),
                        page=PAGE, cap=SEARCH_CAP)
    hubspot_lists.sync_lists(ctx, client)
    if ctx.source.config.get("deals_as_orders"):
        hubspot_deals.sync_deals(ctx, client, page=PAGE, cap=SEARCH_CAP)
    else:  # off (or turned off): no deal orders, and turned on again they are all read anew
        ctx.commit({k: v for k, v in ctx.cursor.items() if k != "deals"}, hubspot_deals.forget_deals(ctx))
    ctx.count("done", 1.0)


def _store_contacts(ctx: SyncContext, conn, results: list[dict]) -> None:
    people, stages = [], {}
    for r in results:
        props = r.get("properties") or {}
        key = f"hubspot:{r['id']}"
        people.append(Person(key, email_of(props.get("email")), props.get("firstname") or None,
                             props.get("lastname") or None, iso_ts(props.get("createdate") or r.get("createdAt")),
                             iso_ts(props.get("lastmodifieddate") or r.get("updatedAt"))))
        stages[key] = (props.get("lifecyclestage") or "").strip()
    store_people(ctx, conn, people)
    store_tags(ctx, conn, [(key, f"{LIFECYCLE}{stage}", None) for key, stage in stages.items() if stage])
    # One stage at a time: the tag of a stage the contact has left goes.
    dropped = 0
    for key, stage in stages.items():
        dropped += conn.execute("DELETE FROM tags WHERE origin = ? AND identifier = ? AND tag LIKE ? AND tag <> ?",
                                (ctx.origin, f"cid:{key}", f"{LIFECYCLE}%", f"{LIFECYCLE}{stage}")).rowcount
    ctx.add_changed(tags=dropped)
