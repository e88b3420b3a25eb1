"""What a finished operation touched (Anki's ``OpChanges``).

Every operation below the UI (an import, a sync, a merge, an erase) returns
one of these beside its own result. The CLI may ignore it; the app hands it to
``AppContext.notify`` so each view refreshes only what the change touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Changes:
    """What a finished operation touched; views refresh only the parts that apply to them."""

    contacts: bool = False   # contacts added, renamed, merged, erased
    events: bool = False     # new page views / identifies / tracks
    orders: bool = False     # orders, refunds, subscriptions
    identity: bool = False   # device links, backfill, merges
    spend: bool = False      # ad spend
    sources: bool = False    # source configuration or sync state
    emails: frozenset[str] = field(default_factory=frozenset)  # contacts known to be touched (may be empty)

    @classmethod
    def everything(cls) -> "Changes":
        return cls(True, True, True, True, True, True)

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "emails")

    def __or__(self, other: "Changes") -> "Changes":
        kw = {f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self) if f.name != "emails"}
        return Changes(**kw, emails=self.emails | other.emails)

    @property
    def reports(self) -> bool:
        """True when report figures may have moved."""
        return self.contacts or self.events or self.orders or self.identity or self.spend


# What a source's ``changed`` counters mean for the views; anything else counts as everything.
_KNOWN = {"events", "contacts", "orders", "refunds", "subscriptions", "spend", "tags", "keys", "email_clicks"}


def changes_of_counts(changed: dict[str, int], changed_contacts: bool, changed_devices: bool) -> Changes:
    """A sync's or import's row counters (``{"events": 12, "orders": 3}``) as :class:`Changes`."""
    found = Changes(
        contacts=changed_contacts or bool(changed.get("contacts")),
        events=bool(changed.get("events") or changed.get("email_clicks")),  # clicks are touches, like page views
        orders=any(changed.get(k) for k in ("orders", "refunds", "subscriptions")),
        identity=changed_contacts or changed_devices,
        spend=bool(changed.get("spend")),
        sources=True,
    )
    return found | Changes.everything() if set(changed) - _KNOWN else found
