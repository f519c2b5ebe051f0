"""Brute-force protection for sign-in: failures counted per account and per IP in Redis.

After ACCOUNT_LIMIT failures for one email (or IP_LIMIT from one address) within WINDOW seconds,
sign-in is refused until the window of the oldest counted failure has passed; the message says
how long to wait. A successful sign-in clears the account's counter.
"""

from __future__ import annotations

import hashlib
import math

from slrt.platform.errors import Msg
from slrt.platform.redis_client import get_redis

WINDOW = 15 * 60
ACCOUNT_LIMIT = 5
IP_LIMIT = 30


def _keys(email: str, ip: str | None) -> tuple[str, str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"slrt:signin:fail:acct:{digest}", f"slrt:signin:fail:ip:{ip or '-'}"


def wait_seconds(email: str, ip: str | None) -> int:
    """Seconds until sign-in may be tried again (0: allowed now)."""
    redis = get_redis()
    acct_key, ip_key = _keys(email, ip)
    wait = 0
    for key, limit in ((acct_key, ACCOUNT_LIMIT), (ip_key, IP_LIMIT)):
        count = int(redis.get(key) or 0)
        if count >= limit:
            wait = max(wait, int(redis.ttl(key)), 1)
    return wait


def record_failure(email: str, ip: str | None) -> None:
    redis = get_redis()
    pipe = redis.pipeline()
    for key in _keys(email, ip):
        # The window starts at the first failure (SET NX EX works on every Redis version).
        pipe.set(key, 0, ex=WINDOW, nx=True)
        pipe.incr(key)
    pipe.execute()


def record_success(email: str) -> None:
    get_redis().delete(_keys(email, None)[0])


def throttled_message(seconds: int) -> Msg:
    minutes = max(1, math.ceil(seconds / 60))
    return Msg(
        f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {minutes} menit.",
        f"Too many failed sign-in attempts. Try again in {minutes} minute(s).",
    )
