"""Report filters: tag, product, source, campaign, country, device type (docs/SPEC.md, "Filters").

A filter narrows *who* a report is about, then, for ``product``, *which orders*:

- ``tag``: contacts carrying the tag (any spelling, tags compare without case);
- ``source`` / ``campaign``: contacts whose first touch has that source /
  campaign (``(not set)`` matches a first touch without one), the key LTV groups by;
- ``country``: contacts with a device whose events say ``context.location.country``
  (ISO code or name, compared without case); a workspace without any has no
  country filter (:func:`facets` leaves it out and asking for it is an error);
- ``device``: contacts with a ``phone``, ``tablet`` or ``desktop`` device
  (``core.traffic.useragent.device_type`` of the device's latest user agent);
- ``product``: only orders of that product count (revenue, customers,
  attribution); an order that lists several (``Course; Workbook``) counts
  whole under each of them; contacts are not narrowed by it.

Filters resolve once per report to a :class:`Scope`: the contact ids as a JSON
literal read by ``json_each`` (reports run on read-only connections, which
cannot make temporary tables) and the product as a quoted literal. Every
report reads contacts and orders through :func:`cohort_clause` and
``data.orders_source``, so all of them honour it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import orjson

from ...errors import InvalidInput
from ..traffic.useragent import DEVICE_TYPES
from .device_facts import device_facts, fresh
from .model import NOT_SET
from .tagged import tags_source
from .touches import first_touch_sql

NO_COUNTRY = "this workspace has no country data (no event carries context.location.country)"
FILTERS = ("tag", "product", "source", "campaign", "country", "device")
@dataclass(frozen=True)
class Filters:
    tag: str | None = None
    product: str | None = None
    source: str | None = None
    campaign: str | None = None
    country: str | None = None
    device: str | None = None

    @classmethod
    def of(cls, value) -> "Filters":
        """From a Filters, a dict (a saved view's, a report's parameters) or None; blanks mean "any"."""
        if isinstance(value, Filters):
            return value
        value = value or {}
        unknown = sorted(set(value) - set(FILTERS))
        if unknown:
            raise InvalidInput(f"unknown filter {unknown[0]!r} (one of: {', '.join(FILTERS)})")
        clean = {k: str(v).strip() for k, v in value.items() if v not in (None, "") and str(v).strip()}
        if "device" in clean:
            clean["device"] = clean["device"].lower()
            if clean["device"] not in DEVICE_TYPES:
                raise InvalidInput(f"unknown device type {clean['device']!r} (one of: {', '.join(DEVICE_TYPES)})")
        return cls(**clean)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def text(self) -> str:
        """'tag: vip · device: phone', for titles and the PDF's subtitle."""
        return " · ".join(f"{k}: {v}" for k, v in self.as_dict().items())


@dataclass(frozen=True)
class Scope:
    """Filters resolved to SQL: ``contacts`` a subquery of contact ids (None: everyone), ``product`` a literal."""

    contacts: str | None = None
    product: str | None = None
    filters: Filters = Filters()  # as chosen: ROAS keeps only the spend of the chosen source / campaign


def quote(text: str) -> str:
    """A SQL string literal (quotes doubled): the only way values reach the SQL text."""
    return "'" + text.replace("'", "''") + "'"


def _contacts_of_devices(conn, devices: set[str]) -> set[int]:
    ids = set()
    wanted = orjson.dumps(sorted(devices)).decode()
    for (cid,) in conn.execute("SELECT DISTINCT contact_id FROM device_segments WHERE anonymous_id IN "
                               "(SELECT value FROM json_each(?))", (wanted,)):
        ids.add(cid)
    return ids


def _contacts_on_devices(conn, kind: str | None, country: str | None) -> set[int]:
    """Contacts with a device of this type and country (either None: any); from the cache when fresh."""
    if fresh(conn):
        countries = [c for (c,) in conn.execute("SELECT DISTINCT country FROM report_device_facts "
                                                "WHERE country IS NOT NULL")]
        if country and not countries:
            raise InvalidInput(NO_COUNTRY)
        # Countries compare in Python (str.lower), as below: SQLite's lower() knows ASCII only.
        wanted = orjson.dumps([c for c in countries if country and c.lower() == country.lower()]).decode()
        return {cid for (cid,) in conn.execute(
            "SELECT DISTINCT g.contact_id FROM report_device_facts f JOIN device_segments g ON g.anonymous_id = "
            "f.anonymous_id WHERE (:kind IS NULL OR f.kind = :kind) AND (:country IS NULL OR f.country IN "
            "(SELECT value FROM json_each(:wanted)))", {"kind": kind, "country": country, "wanted": wanted})}
    facts = device_facts(conn)
    if country and not any(c for _t, c in facts.values()):
        raise InvalidInput(NO_COUNTRY)
    chosen = {aid for aid, (k, c) in facts.items()
              if (not kind or k == kind) and (not country or (c or "").lower() == country.lower())}
    return _contacts_of_devices(conn, chosen)


def resolve(conn, filters: Filters) -> Scope | None:
    """The scope a report reads under these filters; None when nothing is filtered."""
    if not filters:
        return None
    sets: list[set[int]] = []
    if filters.tag:
        sets.append({cid for (cid,) in conn.execute(
            f"SELECT contact_id FROM {tags_source(conn)} WHERE tag = ? COLLATE NOCASE", (filters.tag,))})
    if filters.source or filters.campaign:
        where, params = [], []
        if filters.source:
            where.append("source = ? COLLATE NOCASE")
            params.append(filters.source)
        if filters.campaign:
            if filters.campaign == NOT_SET:
                where.append("coalesce(campaign, '') = ''")
            else:
                where.append("campaign = ? COLLATE NOCASE")
                params.append(filters.campaign)
        sets.append({cid for (cid,) in conn.execute(
            f"SELECT contact_id FROM ({first_touch_sql(conn)}) WHERE {' AND '.join(where)}", params)})
    if filters.country or filters.device:
        sets.append(_contacts_on_devices(conn, filters.device, filters.country))
    contacts = None
    if sets:
        ids = set.intersection(*sets)
        # Canonical ids only: a merged-away contact's id never reaches a report.
        contacts = (f"SELECT c.id FROM contacts c WHERE c.canonical_id = c.id AND c.id IN "
                    f"(SELECT value FROM json_each({quote(orjson.dumps(sorted(ids)).decode())}))")
    return Scope(contacts, quote(filters.product) if filters.product else None, filters)


def cohort_clause(rng, alias: str = "c") -> str:
    """`` AND alias.id IN (...)`` for a report's contacts under the range's filters, else ''."""
    scope = getattr(rng, "scope", None)
    if scope is None or scope.contacts is None:
        return ""
    return f" AND {alias}.id IN ({scope.contacts})"


def spend_wanted(rng, source: str, campaign: str | None) -> bool:
    """Whether a spend line counts under the range's source / campaign filters."""
    chosen = getattr(getattr(rng, "scope", None), "filters", None)
    if not chosen:
        return True
    if chosen.source and source.lower() != chosen.source.lower():
        return False
    if chosen.campaign:
        return (campaign or NOT_SET).lower() == chosen.campaign.lower()
    return True


def facets(conn) -> dict[str, list[str]]:
    """The values each filter can take in this workspace (the app's choices); ``country`` only when known."""
    out = {
        "tag": [t for (t,) in conn.execute("SELECT DISTINCT tag FROM tags ORDER BY tag COLLATE NOCASE")],
        "product": sorted({name.strip() for (p,) in conn.execute(
            "SELECT DISTINCT product FROM orders WHERE product IS NOT NULL AND product <> ''")
            for name in p.split("; ") if name.strip()}, key=str.casefold),
        "source": [s for (s,) in conn.execute(f"SELECT DISTINCT source FROM ({first_touch_sql(conn)}) ORDER BY 1")],
        "campaign": [c for (c,) in conn.execute(f"SELECT DISTINCT coalesce(nullif(campaign, ''), '{NOT_SET}') "
                                                f"FROM ({first_touch_sql(conn)}) ORDER BY 1")],
    }
    facts = device_facts(conn)
    out["device"] = [t for t in DEVICE_TYPES if any(kind == t for kind, _c in facts.values())]
    countries = sorted({c for _k, c in facts.values() if c}, key=str.lower)
    if countries:
        out["country"] = countries
    return out
