"""Connectors and the sync engine: httpx clients, cursors, retries. No Qt."""
