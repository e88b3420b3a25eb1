"""How a file is cut for the parsing processes: at line starts, covering every byte once,
each chunk knowing the number of its first line (error messages and ids depend on it)."""

from __future__ import annotations

import io
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from segdesk.core.importing.parallel_import import plan

line = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n")


@given(st.lists(line, max_size=60), st.booleans(), st.integers(1, 10), st.integers(0, 3))
def test_chunks_cover_the_file_at_line_starts(lines, trailing_newline, parts, skip):
    data = b"".join(lines)
    if not trailing_newline and data:
        data = data[:-1]
    start = len(b"".join(lines[:skip]))  # the reader may already stand a few lines in
    start = min(start, len(data))
    starts = {0}
    pos = 0
    for ln in lines:
        pos += len(ln)
        starts.add(pos)
    chunks = list(plan(io.BytesIO(data), start, len(data), parts))
    assert chunks[0].start == start and chunks[-1].end == len(data)
    assert len(chunks) <= parts
    for a, b in pairwise(chunks):
        assert a.end == b.start and a.start < a.end
        assert b.start in starts
    for c in chunks:
        # The first line's number is one more than the lines before it (counted from ``start``).
        assert c.first_line == data[start:c.start].count(b"\n") + 1
