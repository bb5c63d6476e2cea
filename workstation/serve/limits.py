"""Rate limits per API key and per address: a token bucket each, refilled continuously."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``rate`` requests per ``window_s`` for each key (bursts up to ``rate``)."""

    def __init__(self, rate: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per_s = rate / window_s
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request; returns 0 when allowed, else the seconds until one is allowed again."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - at) * self.per_s)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.per_s
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without end
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.rate}
            return 0.0
