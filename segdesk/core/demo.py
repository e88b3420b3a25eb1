"""A realistic, deterministic workspace for the demo and the benchmarks.

Visitors browse on several devices from ad, email, organic, social, referral and
direct traffic; most stay anonymous, some opt in by form, others click email
links on new devices (by email or by CRM contact id); a few computers are
shared. Some contacts buy (two currencies), some orders are refunded in part or
in full; the CRM knows contacts with ids and tags; ad spend is imported per day.

The same seed gives the same data. ``scenario()`` yields plain data (events as
wire-format dicts, and CSV-shaped rows) so a benchmark can write files and time
the real import; ``generate()`` puts it all into a workspace.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .timeutil import format_ts

SITE = "https://shop.example.com"
PAGES = [("/", "Home"), ("/pricing", "Pricing"), ("/blog/ltv-guide", "The LTV guide"),
         ("/blog/attribution", "Attribution, explained"), ("/features", "Features"),
         ("/courses/analytics", "Analytics course"), ("/about", "About us"), ("/checkout", "Checkout")]
UAS = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
       "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"]
FIRST = "ann bob cara dan eve finn gia hugo ida jon kim leo mia ned ola pia quin rosa sam tia uma vic wes xena yan zoe".split()
LAST = "smith jones brown lee garcia miller davis lopez wilson moore taylor clark lewis walker young king".split()
DOMAINS = ["example.com", "mail.example.org", "inbox.example.net", "corp.example.io"]
PRODUCTS = [("Starter course", 4900), ("Pro course", 9900), ("Coaching", 19900), ("Templates", 2900)]

# (weight, kind, source, medium, campaign, referrer, conversion multiplier)
CHANNELS = [
    (18, "utm", "facebook", "cpc", "spring_sale", "https://l.facebook.com/", 1.3),
    (8, "utm", "facebook", "cpc", "retargeting", "https://l.facebook.com/", 1.6),
    (12, "gclid", "google", "cpc", None, "https://www.google.com/", 1.4),
    (6, "utm", "google", "cpc", "brand", "https://www.google.com/", 1.8),
    (10, "utm", "newsletter", "email", "weekly_digest", "", 1.5),
    (8, "utm", "instagram", "social", "reels", "https://l.instagram.com/", 0.8),
    (14, "ref", "google.com", "organic", None, "https://www.google.com/search", 1.0),
    (4, "ref", "bing.com", "organic", None, "https://www.bing.com/search", 1.0),
    (4, "ref", "t.co", "social", None, "https://t.co/abc", 0.6),
    (4, "ref", "partnerblog.example.net", "referral", None, "https://partnerblog.example.net/review", 1.7),
    (12, "direct", "(direct)", "(none)", None, "", 0.9),
]
SPEND_PER_DAY = {("facebook", "cpc", "spring_sale"): 12000, ("facebook", "cpc", "retargeting"): 5000,
                 ("google", "cpc", "brand"): 3000, ("google", "cpc", ""): 9000, ("instagram", "social", "reels"): 4000}


@dataclass
class Scenario:
    """What a generated workspace holds besides the events."""

    events: int = 0
    contacts: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    spend: list[dict] = field(default_factory=list)


def _ts(t: float) -> str:
    return format_ts(datetime.fromtimestamp(t, timezone.utc))


class _Gen:
    def __init__(self, seed: int, contacts: int, devices: int, events: int, days: int, now: datetime):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_contacts, self.n_devices, self.n_events, self.days = contacts, devices, events, days
        self.end = now.timestamp()
        self.start = self.end - days * 86400
        self.weights = [c[0] for c in CHANNELS]
        self.mid = 0
        self.scenario = Scenario()

    def message_id(self) -> str:
        # Random like the pixel's and Segment's (UUIDs), but repeatable from the seed.
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def page(self, aid: str, t: float, channel, ua: str, landing: bool, path_title=None, email_link: bool = False):
        path, title = path_title or self.rng.choice(PAGES)
        url, ctx = SITE + path, {"userAgent": ua, "library": {"name": "segdesk-pixel", "version": "1"}}
        referrer = ""
        if landing:
            kind, source, medium, campaign, ref, _ = channel[1:]
            referrer = ref
            if kind == "utm":
                url += f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
                ctx["campaign"] = {"source": source, "medium": medium, "name": campaign}
            elif kind == "gclid":
                url += f"?gclid=Cj0K{self.rng.randrange(10**9)}"
        else:
            referrer = SITE + "/"
        ctx["page"] = {"url": url, "referrer": referrer, "path": path, "title": title}
        return {"type": "page", "anonymousId": aid, "messageId": self.message_id(), "timestamp": _ts(t),
                "context": ctx, "properties": {"url": url, "path": path, "title": title}}

    def identify(self, aid: str, t: float, method: str, email: str | None = None, contact_id: str | None = None):
        traits = {k: v for k, v in (("email", email), ("contact_id", contact_id)) if v}
        return {"type": "identify", "anonymousId": aid, "messageId": self.message_id(), "timestamp": _ts(t),
                "traits": traits, "context": {"segdesk": {"method": method}}}

    def session(self, aid: str, t: float, channel, ua: str, pages: int) -> tuple[list[dict], float]:
        out = []
        for i in range(pages):
            out.append(self.page(aid, t, channel, ua, landing=(i == 0)))
            t += self.rng.uniform(20, 600)
        return out, t

    def device_events(self, aid: str, budget: int, first_t: float, channel) -> tuple[list[dict], list[float]]:
        """A device's anonymous browsing: sessions until the event budget is used."""
        ua = self.rng.choice(UAS)
        out, session_starts, t = [], [], first_t
        while len(out) < budget and t < self.end:
            pages = min(budget - len(out), self.rng.randint(1, 6))
            session_starts.append(t)
            events, t = self.session(aid, t, channel, ua, pages)
            out.extend(events)
            t += self.rng.expovariate(1 / (86400 * 6))
            channel = channel if self.rng.random() < 0.3 else self.rng.choices(CHANNELS, self.weights)[0]
        return out, session_starts


def scenario(*, contacts: int = 300, devices: int | None = None, events: int | None = None,
             orders_per_contact: float = 2.0, seed: int = 7, days: int = 365,
             now: datetime | None = None) -> tuple[Scenario, Iterator[dict]]:
    """The scenario's rows and a lazy stream of its events (generated as it is read)."""
    devices = devices or contacts * 4
    events = events or contacts * 20
    now = now or datetime(2026, 11, 1, tzinfo=timezone.utc)
    g = _Gen(seed, contacts, devices, events, days, now)
    return g.scenario, _interleaved(_events(g, orders_per_contact), random.Random(seed + 1))


def _interleaved(stream: Iterator[dict], rng: random.Random, window: int = 20_000) -> Iterator[dict]:
    """Visitors' events mixed as a relay delivers them (concurrent visitors), with bounded memory."""
    pool: list[dict] = []
    for ev in stream:
        if len(pool) < window:
            pool.append(ev)
            continue
        i = rng.randrange(window)
        yield pool[i]
        pool[i] = ev
    rng.shuffle(pool)
    yield from pool


def _events(g: _Gen, orders_per_contact: float) -> Iterator[dict]:
    rng, sc = g.rng, g.scenario
    per_device = max(2, g.n_events // g.n_devices)
    identified = min(g.n_devices, int(g.n_contacts * 1.6))
    device_no = 0
    for c in range(g.n_contacts):
        email = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{c}@{rng.choice(DOMAINS)}"
        contact_id = f"ac:{1000 + c}"
        channel = rng.choices(CHANNELS, g.weights)[0]
        first_t = rng.uniform(g.start, g.end - 86400 * 3)
        n_dev = 1 if device_no + 1 >= identified else rng.choice((1, 1, 1, 2, 2, 3))
        opt_in_t = None
        for d in range(n_dev):
            aid = f"d{g.seed}-{device_no}"
            device_no += 1
            budget = max(2, int(rng.expovariate(1 / per_device)) + 1)
            evs, starts = g.device_events(aid, budget, first_t + d * rng.uniform(0, 86400 * 20), channel)
            yield from evs
            if not starts:
                continue
            when = rng.choice(starts) + 30
            if d == 0:
                opt_in_t = when
                yield g.identify(aid, when, "form", email=email)
            elif rng.random() < 0.25:
                yield g.identify(aid, when, "link", contact_id=contact_id.split(":")[1])
            else:
                yield g.identify(aid, when, "link", email=email.upper() if rng.random() < 0.1 else email)
            if device_no % 61 == 0 and c > 2:  # a shared family or office computer
                for k in range(rng.choice((1, 2, 2))):
                    other = sc.contacts[rng.randrange(len(sc.contacts))]["email"]
                    yield g.identify(aid, when + 86400 * (2 + k), "form", email=other)
        created = _ts(opt_in_t or first_t)
        first_name, last_name = email.split("@")[0].rstrip("0123456789").split(".")
        tags = ["lead"] + (["webinar"] if rng.random() < 0.3 else [])
        sc.contacts.append({"email": email, "contact_id": contact_id, "first_name": first_name.title(),
                            "last_name": last_name.title(),
                            "tags": ";".join(tags), "created_at": created})
        _orders(g, email, opt_in_t or first_t, channel[6], orders_per_contact)
    for d in range(device_no, g.n_devices):  # visitors who never say who they are
        aid = f"d{g.seed}-{d}"
        channel = rng.choices(CHANNELS, g.weights)[0]
        budget = max(1, int(rng.expovariate(1 / per_device)))
        yield from g.device_events(aid, budget, rng.uniform(g.start, g.end), channel)[0]
    _spend(g)


def _orders(g: _Gen, email: str, after: float, boost: float, per_contact: float) -> None:
    rng, sc = g.rng, g.scenario
    if rng.random() > min(0.95, 0.4 * boost):
        return
    currency = "eur" if email.endswith(".org") else "usd"
    t = after + rng.expovariate(1 / (86400 * 10))
    for _ in range(max(1, int(rng.expovariate(1 / (per_contact / 0.4))) + (0 if rng.random() < 0.5 else 1))):
        if t > g.end:
            break
        product, price = rng.choice(PRODUCTS)
        amount = price if currency == "usd" else price - 900
        refunded = amount if rng.random() < 0.05 else (amount // 2 if rng.random() < 0.05 else 0)
        sc.orders.append({"order_id": f"ord-{g.seed}-{len(sc.orders) + 1}", "email": email,
                          "amount": f"{amount / 100:.2f}", "currency": currency, "created_at": _ts(t),
                          "refunded_amount": f"{refunded / 100:.2f}" if refunded else "", "product": product})
        t += rng.expovariate(1 / (86400 * 45))


def _spend(g: _Gen) -> None:
    day = datetime.fromtimestamp(g.start, timezone.utc).date()
    last = datetime.fromtimestamp(g.end, timezone.utc).date()
    while day <= last:
        for (source, medium, campaign), cents in SPEND_PER_DAY.items():
            amount = int(cents * g.rng.uniform(0.7, 1.3))
            g.scenario.spend.append({"date": day.isoformat(), "source": source, "medium": medium,
                                     "campaign": campaign, "spend": f"{amount / 100:.2f}", "currency": "usd"})
        day += timedelta(days=1)


CONTACT_COLUMNS = ["email", "contact_id", "first_name", "last_name", "tags", "created_at"]
ORDER_COLUMNS = ["order_id", "email", "amount", "currency", "created_at", "refunded_amount", "product"]
SPEND_COLUMNS = ["date", "source", "medium", "campaign", "spend", "currency"]


def to_csv(rows: list[dict], columns: list[str]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def generate(ws, *, contacts: int = 300, devices: int | None = None, events: int | None = None,
             orders_per_contact: float = 2.0, seed: int = 7, now: datetime | None = None,
             progress=None) -> dict:
    """Fill a workspace with a scenario: events, CRM contacts, orders, ad spend; then stitch."""
    from .importing.csv_import import import_contacts, import_orders, import_spend
    from .importing.events import import_events
    from .identity.stitch import stitch

    sc, stream = scenario(contacts=contacts, devices=devices, events=events,
                          orders_per_contact=orders_per_contact, seed=seed, now=now)
    if progress:
        progress.update("Generating visits", 0.0)
    result = import_events(ws, stream, origin="demo", progress=progress)
    if progress:
        progress.update("Importing CRM contacts, orders and ad spend", 0.9)
    import_contacts(ws, to_csv(sc.contacts, CONTACT_COLUMNS), origin="demo-crm")
    import_orders(ws, to_csv(sc.orders, ORDER_COLUMNS), origin="demo-shop")
    import_spend(ws, to_csv(sc.spend, SPEND_COLUMNS), origin="demo-ads")
    _demo_rates(ws, [o["created_at"][:10] for o in sc.orders] + [s["date"][:10] for s in sc.spend], seed)
    identity = stitch(ws, progress)
    return {"events": result.imported, "contacts": identity.contacts, "orders": len(sc.orders),
            "spend_rows": len(sc.spend), "shared_devices": identity.shared_devices}


def _demo_rates(ws, days: list[str], seed: int) -> None:
    """A made-up daily USD rate (about 1.08 per euro) for the demo's days, in the manual rate table, so
    the demo's reports convert without a network; a real workspace gets the ECB's rates by sync."""
    from datetime import date, timedelta

    from .fx import store_rates

    if not days:
        return
    rng = random.Random(seed)
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    rate, rows = 1.08, []
    for n in range((last - first).days + 1):
        rate = min(1.2, max(0.95, rate + rng.uniform(-0.004, 0.004)))
        rows.append(("usd", (first + timedelta(days=n)).isoformat(), round(rate, 4)))
    with ws.conn:
        store_rates(ws.conn, rows, "manual")
