"""One Redis connection pool per process (re-created after fork by the job runner)."""

from __future__ import annotations

import redis

from slrt.platform.runtime import redis_url

_client: redis.Redis | None = None


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            redis_url(), socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
    return _client


def reset_redis(*, close: bool = True) -> None:
    """Forget the pool. After fork pass close=False: the sockets still belong to the parent."""
    global _client
    if _client is not None and close:
        _client.connection_pool.disconnect()
    _client = None
