"""Identity resolution as a pure function of the evidence (docs/SPEC.md §4).

Given what the sources say — identify events, CRM records, payment customers,
manual merges — :func:`resolve` decides which identifiers are one person and
which spans of each device's life belong to whom. It reads no database, so the
rules are testable on their own and the result cannot depend on import order:
every choice below is made on timestamps and names, never on arrival.

Rules:
- Identifiers seen together (one identify event, one CRM record, one payment
  customer, one manual merge) are one person. A group with at least one email
  is a contact; a group without one (a CRM id whose record has not arrived)
  waits.
- A device's links, in time order, split its life into spans. The first span
  starts at the beginning of time: all earlier anonymous history (backfill).
  A link to another contact starts a new span; a shared computer never joins
  two people. Three or more contacts on one device flag it as shared.
- Evidence has strength. An email link is weak (emails get forwarded); a
  form, a server call, page code and a manual merge are strong. A weak link
  for someone else does not move a device whose current span is strongly
  tied to its contact; it stays in the events as evidence (the journey shows
  it as not followed). A weak span moves on any link, as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import NamedTuple

from .unionfind import UnionFind

BEGINNING = ""  # sorts before every timestamp


class DeviceLink(NamedTuple):
    anonymous_id: str
    node: str
    ts: str
    method: str
    event_id: int | None = None
    tiebreak: str = ""  # the event's messageId: same-time links order the same whatever the import order


@dataclass
class Evidence:
    # None: the links are not wanted (the full stitch resolves people first and reads links later).
    links: list[DeviceLink] | None = field(default_factory=list)
    same_person: list[tuple[str, str]] = field(default_factory=list)  # from sources
    manual: list[tuple[str, str]] = field(default_factory=list)  # email nodes joined by a person
    nodes: set[str] = field(default_factory=set)  # every identifier known, linked or not
    first_seen: dict[str, str] = field(default_factory=dict)  # email node -> earliest evidence time


class Segment(NamedTuple):
    anonymous_id: str
    start_ts: str
    end_ts: str | None
    contact: str  # the canonical email node
    linked_by: str
    linked_at: str
    event_id: int | None


def _bare_key_pairs(nodes: set[str]) -> list[tuple[str, str]]:
    """A link's bare contact id ('123') is the CRM's 'ac:123' when exactly one such key exists."""
    by_bare: dict[str, list[str]] = defaultdict(list)
    bare = []
    for node in nodes:
        if node.startswith("cid:"):
            _, prefixed, key = node[4:].partition(":")
            if prefixed:
                by_bare[key].append(node)
            else:
                bare.append(node)
    return [(node, by_bare[node[4:]][0]) for node in bare if len(by_bare.get(node[4:], ())) == 1]


def _canonical_of_groups(uf: UnionFind, nodes: set[str], first_seen: dict[str, str]) -> dict[str, str | None]:
    """Each node's contact: its group's earliest-seen email (the name breaks ties), None if it has none."""
    # A node joined to no other is a group of one: its own contact if it is an email.
    canonical = {n: (n if n.startswith("email:") else None) for n in nodes - uf.joined()}
    # Each group's lead by root, in one pass (no list of members per group: at 10M events
    # those lists cost more than the answer).
    find = uf.find
    lead: dict[str, str] = {}
    for n in uf.joined():
        if n.startswith("email:"):
            root = find(n)
            best = lead.get(root)
            if best is None or (first_seen.get(n, "~"), n) < (first_seen.get(best, "~"), best):
                lead[root] = n
    for n in uf.joined():
        canonical[n] = lead.get(find(n))
    return canonical


def _strong(link: DeviceLink, via_merge: set[str]) -> bool:
    """A form, server call, page code or manual merge; an email link is weak (it may be forwarded)."""
    return link.method != "link" or link.node in via_merge


def _spans(links: list[DeviceLink], canonical: dict[str, str | None], via_merge: set[str]) -> list[list]:
    """One device's links (of known contacts) as [start, end, contact, linked_by, linked_at, event_id, strong] spans.

    A weak link for someone else never moves a device away from a contact strongly tied to it
    in the current span: it is left out (kept as evidence in the events).
    """
    links.sort(key=lambda l: (l.ts, l.tiebreak, l.node))
    spans: list[list] = []
    for link in links:
        contact = canonical[link.node]
        strong = _strong(link, via_merge)
        if spans and spans[-1][2] == contact:
            spans[-1][6] = spans[-1][6] or strong
            continue
        if spans and spans[-1][6] and not strong:
            continue  # a forwarded email: not followed
        method = "merge" if link.node in via_merge else link.method
        start = BEGINNING if not spans else link.ts
        if spans and spans[-1][0] == start:
            # Two people identified at the same instant: the span between them
            # is empty, so the later one (by messageId) has that instant.
            spans.pop()
            if spans and spans[-1][2] == contact:
                spans[-1][6] = spans[-1][6] or strong
                continue
        spans.append([start, None, contact, method, link.ts, link.event_id, strong])
    for prev, nxt in zip(spans, spans[1:]):
        prev[1] = nxt[0]
    return spans


def resolve_people(ev: Evidence) -> tuple[dict[str, str | None], set[str]]:
    """Each node's contact (canonical email node, None: waiting), and the nodes joined only by a manual merge.

    ``ev.nodes`` grows into the set of every node (a copy would cost as much again at 10M events).
    """
    nodes = ev.nodes
    if ev.links is not None:  # (without links, their nodes are among ev.nodes: evidence.add_identity_row)
        nodes.update(link.node for link in ev.links)
    for pairs in (ev.same_person, ev.manual):
        nodes.update(chain.from_iterable(pairs))

    base = UnionFind()
    base.union_all(ev.same_person)
    base.union_all(_bare_key_pairs(nodes))
    if ev.manual:
        full = base.copy()
        full.union_all(ev.manual)
    else:
        full = base
    canonical = _canonical_of_groups(full, nodes, ev.first_seen)
    via_merge = set()
    if ev.manual:
        via_merge = {n for n, c in canonical.items() if c is not None and base.find(n) != base.find(c)}
    return canonical, via_merge


def device_spans(aid: str, links: list[DeviceLink], canonical: dict, via_merge: set[str]) -> list[Segment]:
    """One device's spans from its links, every one of them to a known contact."""
    if len(links) == 1:
        # The usual device, linked once: one span from the beginning.
        link = links[0]
        method = "merge" if link.node in via_merge else link.method
        return [Segment(aid, BEGINNING, None, canonical[link.node], method, link.ts, link.event_id)]
    return [Segment(aid, *s[:6]) for s in _spans(links, canonical, via_merge)]


def resolve_devices(links: Iterable[DeviceLink], canonical: dict[str, str | None],
                    via_merge: set[str]) -> tuple[list[Segment], dict[str, int]]:
    """Every device's spans, and how many contacts each device has (links of waiting nodes are left out)."""
    by_device: dict[str, list[DeviceLink]] = {}
    for link in links:
        if canonical.get(link.node) is not None:
            if link.anonymous_id in by_device:
                by_device[link.anonymous_id].append(link)
            else:
                by_device[link.anonymous_id] = [link]

    segments: list[Segment] = []
    device_contacts: dict[str, int] = {}
    for aid, device_links in by_device.items():
        spans = device_spans(aid, device_links, canonical, via_merge)
        segments += spans
        device_contacts[aid] = len({s.contact for s in spans})
    return segments, device_contacts
