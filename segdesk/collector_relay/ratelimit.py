"""A per-client token bucket: each address may burst, then send at a steady rate."""

from __future__ import annotations

import time

_MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, clock=time.monotonic) -> None:
        self.rate = float(rate_per_second)
        self.burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        if self.rate <= 0:
            return True
        now = self._clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if len(self._buckets) >= _MAX_CLIENTS and client not in self._buckets:
            self._forget_idle(now)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return False
        self._buckets[client] = (tokens - 1.0, now)
        return True

    def retry_after(self, client: str) -> int:
        tokens, _ = self._buckets.get(client, (self.burst, 0.0))
        return max(1, int((1.0 - tokens) / self.rate + 0.999)) if self.rate > 0 else 0

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled completely carries no information.
        full_after = self.burst / self.rate
        self._buckets = {
            client: state for client, state in self._buckets.items() if now - state[1] < full_after
        }
