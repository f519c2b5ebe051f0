"""One Redis connection pool per process (re-created after fork by the job runner), and what the
process does while Redis is out of reach.

- Web processes fail fast: a call to an unreachable Redis raises at once (no retries), and
  `note_outage` opens a short window (`OUTAGE_SECONDS`, logged once) during which the callers
  that can do without Redis skip it: the token-revocation check reads PostgreSQL, the API rate
  limit and the usage meter let requests through. What cannot do without it answers 503 with
  Retry-After (`slrt.platform.errors`), never 500.
- Workers and job processes are patient (`make_patient()`): every command is retried with
  backoff for about a minute, so a job rides out a Redis restart instead of failing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from slrt.platform.runtime import redis_url

log = logging.getLogger(__name__)

# How long callers that can degrade leave Redis alone after it failed (then they try it again).
OUTAGE_SECONDS = 5.0
# A patient process retries each command this many times, waiting 0.25 s, 0.5 s, ... up to 5 s
# between tries: about a minute in all.
PATIENT_RETRIES = 16
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_client: redis.Redis | None = None
_patient = False
_down_until = 0.0
_lock = threading.Lock()


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        kw = {}
        if _patient:
            kw = {
                "retry": Retry(ExponentialBackoff(cap=5.0, base=0.25), PATIENT_RETRIES),
                "retry_on_error": list(UNREACHABLE),
            }
        kw.update(socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
        url = redis_url()
        if url.startswith(SENTINEL_SCHEME):
            _client = sentinel_client(url, **kw)
        else:
            _client = redis.Redis.from_url(url, **kw)
    return _client


SENTINEL_SCHEME = "redis+sentinel://"


def sentinel_client(url: str, **kw) -> redis.Redis:
    """The current primary of a Redis Sentinel group, followed through failovers:
    `redis+sentinel://[:password@]host:26379[,host:26379...]/<service>[/<db>][?sentinel_password=]`
    (the password is the data nodes'; the sentinels' own, if any, is a query parameter). The
    pool asks the sentinels for the primary at each new connection, and a connection that finds
    a demoted primary (READONLY) is dropped, so the next command reaches the new one."""
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    password = unquote(credentials.partition(":")[2]) if credentials else None
    nodes = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        nodes.append((name, int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("REDIS_URL: a Sentinel URL names its service: redis+sentinel://h:p/name")
    service, db = path[0], int(path[1]) if len(path) > 1 else 0
    query = parse_qs(parts.query)
    sentinel_kwargs = {k: kw[k] for k in ("socket_timeout", "socket_connect_timeout") if k in kw}
    if query.get("sentinel_password"):
        sentinel_kwargs["password"] = query["sentinel_password"][0]
    sentinel = Sentinel(nodes, sentinel_kwargs=sentinel_kwargs)
    return sentinel.master_for(service, db=db, password=password, **kw)


# What a process keeps that is only true of the Redis it talked to (reservations of requests,
# counts not yet sent): forgotten with the pool, and in a forked child, which must not spend or
# send the parent's.
_forgetters: list[Callable[[], None]] = []


def forget_with_pool(forget: Callable[[], None]) -> None:
    """Call `forget()` whenever the process forgets its pool (`reset_redis`, a fork)."""
    _forgetters.append(forget)


def reset_redis(*, close: bool = True) -> None:
    """Forget the pool. After fork pass close=False: the sockets still belong to the parent."""
    global _client
    if _client is not None and close:
        _client.connection_pool.disconnect()
    _client = None
    for forget in _forgetters:
        forget()


os.register_at_fork(after_in_child=lambda: reset_redis(close=False))


def make_patient() -> None:
    """From now on this process's Redis commands retry through an outage (workers, jobs)."""
    global _patient
    _patient = True
    reset_redis(close=False)


def redis_available() -> bool:
    """False within OUTAGE_SECONDS of a failure noted by `note_outage`."""
    return time.monotonic() >= _down_until


def note_outage(what: str, exc: BaseException | None = None) -> None:
    """Redis failed for `what`: degrade for OUTAGE_SECONDS, logging once per window."""
    global _down_until
    with _lock:
        opening = time.monotonic() >= _down_until
        _down_until = time.monotonic() + OUTAGE_SECONDS
    if opening:
        log.warning(
            "Redis unreachable (%s: %s); degrading for %.0f s (rate limits open, revocations "
            "read from PostgreSQL, pages needing a session answer 503)",
            what,
            exc,
            OUTAGE_SECONDS,
        )
