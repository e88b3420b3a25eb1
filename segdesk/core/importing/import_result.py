"""What an import of events did: counts, and the first rejected lines with their reasons.

Its own module because both the importer (``events.py``) and the parsing
processes (``parallel_import.py``) fill one in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .rejects import Reject

MAX_ERRORS_KEPT = 200


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[Reject] = field(default_factory=list)
    first_new_id: int | None = None

    def reject(self, lineno: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(Reject(lineno, reason))

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
        }
