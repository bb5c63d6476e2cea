"""Rate limits per API key and per address: a token bucket each, refilled continuously.

``RateLimiter`` keeps its buckets in the process; ``SharedRateLimiter`` keeps them in memory shared
by the server's worker processes (made before they are forked), so a client spreading its requests
over the workers' connections is still held to one limit.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any


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


class SharedRateLimiter:
    """``RateLimiter``'s buckets in shared memory: one limit across the processes forked after it was made.

    A fixed table of ``slots`` buckets, found by a 63-bit digest of the key with a short linear
    probe. A bucket that has refilled to full is as good as absent and is reused for another key, so
    the table forgets idle keys by itself; only when every bucket of a probe is in use (tens of
    thousands of clients limited at once) does the one idle longest give way. ``time.monotonic`` is
    the system's clock, the same in every process.
    """

    PROBE = 16

    def __init__(
        self, rate: int, window_s: float, clock: Callable[[], float] = time.monotonic, slots: int = 1 << 16
    ) -> None:
        self.rate = rate
        self.per_s = rate / window_s
        self.clock = clock
        self.slots = slots
        ctx = multiprocessing.get_context("fork")
        self._keys: Any = ctx.RawArray("q", slots)  # 0: free
        self._tokens: Any = ctx.RawArray("d", slots)
        self._at: Any = ctx.RawArray("d", slots)
        self._lock: Any = ctx.Lock()

    def take(self, key: str) -> float:
        """Spend one request; returns 0 when allowed, else the seconds until one is allowed again."""
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest(), "big")
        h = (digest >> 1) or 1
        start = h % self.slots
        now = self.clock()
        keys, tokens_of, at_of = self._keys, self._tokens, self._at
        with self._lock:
            found = spare = oldest = -1
            for step in range(self.PROBE):
                i = (start + step) % self.slots
                k = keys[i]
                if k == h:
                    found = i
                    break
                if spare < 0 and (k == 0 or tokens_of[i] + (now - at_of[i]) * self.per_s >= self.rate):
                    spare = i
                if oldest < 0 or at_of[i] < at_of[oldest]:
                    oldest = i
            if found >= 0:
                tokens = min(float(self.rate), tokens_of[found] + (now - at_of[found]) * self.per_s)
            else:
                found = spare if spare >= 0 else oldest
                keys[found] = h
                tokens = float(self.rate)
            at_of[found] = now
            if tokens < 1.0:
                tokens_of[found] = tokens
                return (1.0 - tokens) / self.per_s
            tokens_of[found] = tokens - 1.0
            return 0.0
