"""Bringing data in: events (wire format to rows, bulk loads, parsing processes) and CSV files."""
