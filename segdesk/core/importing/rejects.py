"""A line or row an import refused, and why: what imports report and commands print."""

from __future__ import annotations

from typing import NamedTuple


class Reject(NamedTuple):
    line: int  # 1-based: the file's line (JSON Lines) or row (CSV, the header is row 1)
    reason: str  # one line, for people
