"""Fixed-window rate limits in Redis for public endpoints: `check(key, limit, window)` raises 429
with Retry-After once `limit` hits fall in the current window; `over` looks without counting."""

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


def over(key: str, limit: int) -> int | None:
    """The seconds left while `key` is over `limit` (as counted by `hit`), else None; counts
    nothing. For limits on failures only: look before the attempt, `hit` after a failure."""
    redis = get_redis()
    full = f"slrt:throttle:{key}"
    pipe = redis.pipeline()
    pipe.get(full)
    pipe.ttl(full)
    count, ttl = pipe.execute()
    if count is not None and int(count) >= limit:
        return max(int(ttl), 1)
    return None


def too_many(wait: int) -> Problem:
    return Problem(
        429,
        Msg(
            f"Terlalu banyak percobaan; coba lagi dalam {wait} detik.",
            f"Too many attempts; try again in {wait} seconds.",
        ),
        headers={"Retry-After": str(wait)},
    )


def check(key: str, limit: int, window: int) -> None:
    wait = hit(key, limit, window)
    if wait is not None:
        raise too_many(wait)
