"""Fixed-window rate limits in Redis for public endpoints: `check(key, limit, window)` raises 429
with Retry-After once `limit` hits fall in the current window."""

from __future__ import annotations

from slrt.platform.errors import Msg, Problem
from slrt.platform.redis_client import get_redis


def hit(key: str, limit: int, window: int) -> int | None:
    """Count one hit; return the seconds to wait when over the limit, else None."""
    redis = get_redis()
    full = f"slrt:throttle:{key}"
    pipe = redis.pipeline()
    pipe.set(full, 0, ex=window, nx=True)  # the window starts with the first hit
    pipe.incr(full)
    pipe.ttl(full)
    _, count, ttl = pipe.execute()
    if count > limit:
        return max(int(ttl), 1)
    return None


def check(key: str, limit: int, window: int) -> None:
    wait = hit(key, limit, window)
    if wait is not None:
        raise Problem(
            429,
            Msg(
                f"Terlalu banyak percobaan; coba lagi dalam {wait} detik.",
                f"Too many attempts; try again in {wait} seconds.",
            ),
            headers={"Retry-After": str(wait)},
        )
