"""Per-person rate limits for chat: a token bucket per key, on an injectable clock.

Pure logic with no I/O: the chat service asks :meth:`RateLimiter.check` before it
runs the assistant and answers with the wait when the bucket is empty.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate_per_min`` requests a minute per key, with bursts up to ``burst`` (default:
    one minute's worth). A rate of 0 (or less) disables the limit.

    ``clock`` returns seconds on a monotonic scale (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        rate_per_min: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rate_per_s = max(rate_per_min, 0.0) / 60.0
        self.capacity = float(burst if burst is not None else max(rate_per_min, 0.0))
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[Hashable, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0 and self.capacity >= 1

    def check(self, key: Hashable) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(tokens=self.capacity, updated=now)
        else:
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no state worth keeping)."""
        full_after = self.capacity / self.rate_per_s
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]


def wait_text(wait_s: float) -> str:
    """The reply to a person who is over their limit."""
    seconds = max(1, math.ceil(wait_s))
    return f"You are sending requests faster than I can answer; try again in {seconds} s."
