"""Brute-force protection for sign-in: failures counted per sign-in name and per IP in Redis.

The sign-in name is what was typed into "Email atau nomor HP" in its one stored form
(`phones.normalise_identifier`: "0812-3456-7890" and "+62 812 3456 7890" count as one). After
ACCOUNT_LIMIT failures for one name (or IP_LIMIT from one address) within WINDOW seconds,
sign-in is refused until the window of the oldest counted failure has passed; the message says
how long to wait. A successful sign-in clears that name's counter.
"""

from __future__ import annotations

import hashlib
import math

from slrt.platform.errors import Msg
from slrt.platform.redis_client import get_redis

WINDOW = 15 * 60
ACCOUNT_LIMIT = 5
IP_LIMIT = 30


def _keys(identifier: str, ip: str | None) -> tuple[str, str]:
    digest = hashlib.sha256(identifier.strip().lower().encode()).hexdigest()[:32]
    return f"slrt:signin:fail:acct:{digest}", f"slrt:signin:fail:ip:{ip or '-'}"


def wait_seconds(identifier: str, ip: str | None) -> int:
    """Seconds until sign-in may be tried again (0: allowed now)."""
    redis = get_redis()
    acct_key, ip_key = _keys(identifier, ip)
    wait = 0
    for key, limit in ((acct_key, ACCOUNT_LIMIT), (ip_key, IP_LIMIT)):
        count = int(redis.get(key) or 0)
        if count >= limit:
            wait = max(wait, int(redis.ttl(key)), 1)
    return wait


def record_failure(identifier: str, ip: str | None) -> None:
    redis = get_redis()
    pipe = redis.pipeline()
    for key in _keys(identifier, ip):
        # The window starts at the first failure (SET NX EX works on every Redis version).
        pipe.set(key, 0, ex=WINDOW, nx=True)
        pipe.incr(key)
    pipe.execute()


def record_success(identifier: str) -> None:
    get_redis().delete(_keys(identifier, None)[0])


def throttled_message(seconds: int) -> Msg:
    minutes = max(1, math.ceil(seconds / 60))
    return Msg(
        f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {minutes} menit.",
        f"Too many failed sign-in attempts. Try again in {minutes} minute(s).",
    )
