"""A small union-find over string identifiers (path halving, union by size).

Most identifiers are never joined to another, so only those that take part in
a union are stored: any other is its own group and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            return x
        while (up := parent[x]) != x:
            grand = parent[up]
            parent[x] = grand
            x = grand
        return x

    def union_all(self, pairs: Iterable[tuple[str, str]]) -> None:
        parent, size, find = self.parent, self.size, self.find
        for a, b in pairs:
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            sa, sb = size.get(ra, 1), size.get(rb, 1)
            if sa < sb:
                ra, rb = rb, ra
            parent.setdefault(ra, ra)
            parent[rb] = ra
            size[ra] = sa + sb
            size.pop(rb, None)  # only a root's size is ever read again

    def copy(self) -> "UnionFind":
        other = UnionFind()
        other.parent = dict(self.parent)
        other.size = dict(self.size)
        return other

    def joined(self) -> KeysView[str]:
        """The identifiers ever joined to another."""
        return self.parent.keys()
