"""Who is acting: a signed-in account, a machine client, or the system itself (jobs started by the
scheduler, the CLI). Set by authentication for requests and by the job runner for jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # "account", "client", "system" or "public" (a form anyone may send)
    label: str
    account_id: uuid.UUID | None = None
    client_id: str | None = None


SYSTEM = Actor(kind="system", label="system")
_actor: ContextVar[Actor] = ContextVar("slrt_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> None:
    _actor.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)
