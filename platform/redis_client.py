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
import threading
import time

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

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
        _client = redis.Redis.from_url(
            redis_url(), socket_timeout=5, socket_connect_timeout=2, health_check_interval=30, **kw
        )
    return _client


def reset_redis(*, close: bool = True) -> None:
    """Forget the pool. After fork pass close=False: the sockets still belong to the parent."""
    global _client
    if _client is not None and close:
        _client.connection_pool.disconnect()
    _client = None


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
