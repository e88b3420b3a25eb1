"""Who is who: identifiers, the evidence the stitch gathers, its pure resolution, merges, erasure."""
