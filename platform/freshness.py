"""Small in-process caches that never outlive a change made through the app.

A request should not read the same few rows from PostgreSQL every time (the district a URL
names, the caller's account, grants, membership and role, the plan in force, a district's
village names). `LocalCache` keeps such answers in the process, each entry bounded twice:

- by the *epoch*: one random token in Redis (`slrt:epoch`), replaced after every commit that
  wrote a table declared with `watch(...)` (accounts, grants, memberships, roles, clients,
  districts, plans, villages). Every request reads the epoch once (`current_epoch`, kept on
  flask.g); an entry made under another epoch is ignored. A change made through the app is
  therefore seen by every process on the next request.
- by time: `SLRT_LOCAL_CACHE_SECONDS` (default 5). This bounds what the epoch cannot see: a
  change made straight in the database, or made while Redis was out of reach. Without Redis
  the epoch is unknown and the caches are bypassed (every read goes to PostgreSQL).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import redis
import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from slrt.platform.config import setting

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EPOCH_KEY = "slrt:epoch"
_CHANGED = "slrt_watched_change"
_watched: set[str] = set()
_caches: list[LocalCache[Any, Any]] = []


def ttl_seconds() -> float:
    return float(setting("SLRT_LOCAL_CACHE_SECONDS") or 5)


def watch(*tables: str) -> None:
    """Replace the epoch after any commit that wrote one of these tables (by name)."""
    _watched.update(tables)


# Other questions a request puts to Redis anyway, asked in the same round trip as the epoch: a
# rider returns its commands and what to do with their answers, or None when it has none.
Rider = Callable[[], tuple[list[tuple[Any, ...]], Callable[[list[Any]], None]] | None]
_riders: list[Rider] = []


def ride_along(rider: Rider) -> None:
    """Ask `rider`'s questions together with the request's epoch read (one round trip)."""
    _riders.append(rider)


def _read_epoch() -> str | None:
    from slrt.platform.redis_client import get_redis

    try:
        conn = get_redis()
        asked = [a for a in (rider() for rider in _riders) if a is not None]
        if asked:
            pipe = conn.pipeline(transaction=False)
            pipe.get(EPOCH_KEY)
            for commands, _ in asked:
                for command in commands:
                    pipe.execute_command(*command)
            value, *answers = pipe.execute()
            for commands, use in asked:
                use(answers[: len(commands)])
                answers = answers[len(commands) :]
        else:
            value = conn.get(EPOCH_KEY)
        if value is None:  # a fresh or flushed Redis: start an epoch (another process may win)
            conn.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
            value = conn.get(EPOCH_KEY)
    except redis.RedisError:
        return None
    return value.decode() if value is not None else None


_UNREAD = object()


def current_epoch() -> str | None:
    """The epoch this request works under (read from Redis once per request); None when Redis
    cannot say, which makes every cache read through."""
    if not has_app_context():
        return _read_epoch()
    # The request's globals resolved once: a page's cached names ask for the epoch many times.
    store = g._get_current_object()
    epoch = store.get("slrt_epoch", _UNREAD)
    if epoch is _UNREAD:
        epoch = store.slrt_epoch = _read_epoch()
    return epoch


def new_epoch() -> None:
    """Make every process's cached entries stale, and this process's at once."""
    from slrt.platform.redis_client import get_redis

    clear_local()
    # Without Redis the entries elsewhere still expire within ttl_seconds().
    with contextlib.suppress(redis.RedisError):
        get_redis().set(EPOCH_KEY, secrets.token_hex(8))
    if has_app_context():
        g.pop("slrt_epoch", None)


def clear_local() -> None:
    """Empty this process's caches (a new epoch; the tests, after emptying the tables)."""
    for cache in _caches:
        cache.clear()


class LocalCache(Generic[K, V]):
    """A bounded least-recently-used map whose entries hold for one epoch and ttl_seconds() (or
    the cache's own `ttl`, for answers that only a watched change can alter)."""

    def __init__(self, name: str, max_entries: int = 4096, ttl: float | None = None) -> None:
        self.name = name
        self.max_entries = max_entries
        self.ttl = ttl  # seconds; None: ttl_seconds()
        self._data: OrderedDict[K, tuple[str, float, V]] = OrderedDict()
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: K, load: Callable[[], V], ttl: float | None = None) -> V:
        """The cached value for `key`, else `load()` (cached when the epoch is known, for `ttl`
        seconds if given)."""
        epoch = current_epoch()
        if epoch is None:
            return load()
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] == epoch and hit[1] > now:
                self._data.move_to_end(key)
                return hit[2]
        value = load()
        with self._lock:
            self._data[key] = (epoch, now + (ttl or self.ttl or ttl_seconds()), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def peek(self, key: K) -> V | None:
        """The value held for `key` however old, without asking for the epoch: a guess, for
        work that checks it against the fresh answer later."""
        with self._lock:
            hit = self._data.get(key)
        return None if hit is None else hit[2]

    def forget(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# --- noticing writes to watched tables ----------------------------------------------------------


def _table_names(mapper_or_table: Any) -> set[str]:
    table = getattr(mapper_or_table, "local_table", mapper_or_table)
    name = getattr(table, "name", None)
    return {name} if name else set()


@event.listens_for(Session, "before_flush")
def _note_flush(sess: Session, flush_context, instances) -> None:
    if not _watched:
        return
    for obj in (*sess.new, *sess.dirty, *sess.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table in _watched:
            sess.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (_watched and (state.is_insert or state.is_update or state.is_delete)):
        return
    table = getattr(state.statement, "table", None)
    if isinstance(table, sa.Table) and table.name in _watched:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(sess: Session) -> None:
    if sess.info.pop(_CHANGED, False):
        new_epoch()


@event.listens_for(Session, "after_rollback")
def _after_rollback(sess: Session) -> None:
    sess.info.pop(_CHANGED, None)
