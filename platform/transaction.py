"""Who owns a transaction: the action.

Every write a user can make is one function in its area's `actions.py`, decorated `@action`: it
validates, writes and audits, and the decorator commits when it returns or rolls everything back
when it raises, so nothing is ever half-written. The API, the web pages and the CLI only parse,
check permission, call the action and render; none of them commits (a test reads every such
module and fails on a write of its own).

An action called from inside another action, or inside `joined()` (a job handler's checkpointed
transaction), joins the transaction it is in instead of committing it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from slrt.platform import db

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_depth: ContextVar[int] = ContextVar("slrt_action_depth", default=0)


def action(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` as one transaction: commit on return, roll back on any exception."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = _depth.get()
        token = _depth.set(depth + 1)
        try:
            result = fn(*args, **kwargs)
            if depth == 0:
                db.session.commit()
            return result
        except BaseException:
            if depth == 0:
                db.session.rollback()
            raise
        finally:
            _depth.reset(token)

    run.__slrt_action__ = True  # type: ignore[attr-defined]
    return run


@contextmanager
def joined() -> Iterator[None]:
    """Actions called in this block write into the caller's open transaction (a job handler
    that commits its writes together with its checkpoint) instead of committing on their own."""
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)


def in_action() -> bool:
    return _depth.get() > 0


def action_depth() -> int:
    """How many actions are open around the caller (1: only the one it runs in)."""
    return _depth.get()


_AFTER_COMMIT = "slrt_after_commit"


def after_commit(fn: Callable[[], None]) -> None:
    """Run `fn` once the current transaction commits (at once if none is open) and never if it
    rolls back: side effects outside PostgreSQL (Redis counters, rq) follow only what was kept."""
    if db.session.registry.has():
        sess = db.session()
        if sess.in_transaction():
            sess.info.setdefault(_AFTER_COMMIT, []).append(fn)
            return
    fn()


@event.listens_for(Session, "after_commit")
def _run_after_commit(sess: Session) -> None:
    for fn in sess.info.pop(_AFTER_COMMIT, []):
        try:
            fn()
        except Exception:  # the commit stands; a failed side effect must not turn it into an error
            log.exception("after-commit hook failed")


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(sess: Session) -> None:
    sess.info.pop(_AFTER_COMMIT, None)
