"""Small in-process caches that never outlive a change made through the app.

A request should not read the same few rows from PostgreSQL every time (the district a URL
names, the caller's account, grants, membership and role, the plan in force, a district's
village names). `LocalCache` keeps such answers in the process, each entry bounded twice:

- by the *epoch*: one random token in Redis (`slrt:epoch`), replaced after every commit that
  wrote a table declared with `watch(...)` (accounts, grants, memberships, roles, clients,
  districts, plans, villages) and announced on the channel `slrt:changes`. Each process
  listens on that channel and takes what arrived at the start of each request (a look at its
  socket, no round trip), so a change made through the app is seen by every process on its
  next request. Once a second a process also reads the epoch itself: a message lost with a
  dropped connection holds back a change for that long at most. An entry made under another
  epoch is ignored.
- by time: `SLRT_LOCAL_CACHE_SECONDS` (default 5). This bounds what the epoch cannot see: a
  change made straight in the database, or made while Redis was out of reach. While the
  process cannot listen (Redis out of reach) the epoch is unknown and the caches are bypassed
  (every read goes to PostgreSQL).

Other modules announce their own news on the channel (`follow`, `announce`): a revoked token
is known to every process by its next request without asking Redis per request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from slrt.platform.config import setting

log = logging.getLogger(__name__)

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


CHANNEL = "slrt:changes"
# How often a listening process reads the epoch itself, in case a message was lost.
CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class _Follower:
    load: Callable[[], None]
    apply: Callable[[str], None]


_followers: dict[str, _Follower] = {}


def follow(kind: str, load: Callable[[], None], apply: Callable[[str], None]) -> None:
    """Keep a process's copy of some shared state: `load()` reads all of it (when the
    process starts listening, and again whenever it may have missed news), `apply(payload)`
    takes one piece of news of `kind` announced by any process (`announce`)."""
    _followers[kind] = _Follower(load, apply)


def announce(pipe: redis.client.Pipeline, kind: str, payload: str) -> None:
    """Add news of `kind` to `pipe` (sent with the change it tells of, in one transaction),
    and a new epoch after it: a process that missed the news finds the epoch changed and loads
    the whole state again."""
    pipe.publish(CHANNEL, f"{kind} {payload}")
    _new_epoch_in(pipe)


def _new_epoch_in(pipe: redis.client.Pipeline) -> str:
    token = secrets.token_hex(8)
    pipe.set(EPOCH_KEY, token)
    pipe.publish(CHANNEL, f"epoch {token}")
    return token


class _Listener:
    """This process's subscription to the channel and what it learnt: the epoch (None while
    the process cannot listen) and, through the followers, the rest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pubsub: redis.client.PubSub | None = None
        self._client: redis.Redis | None = None
        self._pid = 0
        self.epoch: str | None = None
        self._checked = 0.0

    def current(self) -> str | None:
        """The epoch, after taking whatever news reached this process (None: unknown)."""
        from slrt.platform.redis_client import get_redis, note_outage, redis_available

        with self._lock:
            try:
                if (
                    self._pubsub is None
                    or self._client is not get_redis()
                    or (self._pid != os.getpid())
                ):
                    self._stop()
                    if not redis_available():
                        return None
                    self._start(get_redis())
                else:
                    self._take_news()
                    if time.monotonic() - self._checked > CHECK_SECONDS:
                        self._check()
            except redis.RedisError as exc:
                self._stop()
                note_outage("cache epoch", exc)
            except Exception:
                # A follower could not load its state: not listening is the safe answer.
                self._stop()
                log.exception("shared state not loaded; caches bypassed until it is")
            return self.epoch

    def adopt(self, epoch: str) -> None:
        """This process made the change: it knows the new epoch without waiting for news."""
        with self._lock:
            if self._pubsub is not None:
                self.epoch = epoch

    def _start(self, conn: redis.Redis) -> None:
        pubsub = conn.pubsub()
        self._pubsub, self._client, self._pid = pubsub, conn, os.getpid()
        pubsub.subscribe(CHANNEL)
        # News sent before the server confirmed would be lost: the state is read after it.
        deadline = time.monotonic() + 2
        while True:
            message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message is not None and message["type"] == "subscribe":
                break
            if time.monotonic() >= deadline:
                raise redis.TimeoutError("no confirmation of the subscription")
        self.epoch = None
        self._check()

    def _stop(self) -> None:
        pubsub, self._pubsub, self.epoch = self._pubsub, None, None
        if pubsub is not None and self._pid == os.getpid():
            # After a fork the socket is the parent's: dropped unclosed.
            with contextlib.suppress(redis.RedisError, OSError):
                pubsub.close()

    def _take_news(self) -> None:
        assert self._pubsub is not None
        while (message := self._pubsub.get_message(timeout=0)) is not None:
            if message["type"] != "message":
                continue
            kind, _, payload = message["data"].decode().partition(" ")
            if kind == "epoch":
                self.epoch = payload
            elif kind in _followers:
                _followers[kind].apply(payload)

    def _check(self) -> None:
        assert self._client is not None
        # News that arrives after the read below is newer than it, and is taken after it.
        self._take_news()
        value = self._client.get(EPOCH_KEY)
        if value is None:  # a fresh or flushed Redis: start an epoch (another process may win)
            self._client.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
            value = self._client.get(EPOCH_KEY)
        epoch = value.decode() if value is not None else None
        if epoch != self.epoch:
            for follower in _followers.values():
                follower.load()
            self.epoch = epoch
        self._checked = time.monotonic()


_listener = _Listener()


def _read_epoch() -> str | None:
    return _listener.current()


def listening() -> bool:
    """Whether this process is taking the channel's news (so followers' copies are current)."""
    return current_epoch() is not None


_UNREAD = object()


def current_epoch() -> str | None:
    """The epoch this request works under (taken once per request); None when the process
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
        pipe = get_redis().pipeline(transaction=True)
        epoch = _new_epoch_in(pipe)
        pipe.execute()
        _listener.adopt(epoch)
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
