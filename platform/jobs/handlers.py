"""The job handler registry: which function runs each job kind.

A feature adds a job without touching the core:

    @job_handler("registry.import", timeout=3600)
    def import_registry(ctx: JobContext) -> dict | None: ...

in its area's `jobs.py`, listed in JOB_HANDLER_MODULES (the worker imports them before it runs
any job). Asking for a job is `actions.enqueue`.

Handler contract (a retry must never double data): a job may run more than once (a worker killed
mid-job is retried). Handlers therefore
- write with upserts keyed by natural keys (NIK, KK, file name), never blind inserts, and
- call `ctx.progress(...)` at checkpoints: it commits the handler's pending writes together with
  the progress, the counts and `state` (resume data, read back through `ctx.state`) in ONE
  transaction, so after a crash the next attempt resumes from the last checkpoint and the counts
  match what was really written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from slrt.platform.config import setting

# Modules defining job handlers; imported by the worker before it runs any job.
JOB_HANDLER_MODULES: list[str] = [
    "slrt.platform.jobs.jobs",
    "slrt.tenants.registry.jobs",
    "slrt.tenants.flow.jobs",
    "slrt.tenants.field.jobs",
    "slrt.tenants.reports.jobs",
    "slrt.platform.mail_jobs",
    "slrt.tenants.dtsen.jobs",
]


# --- handlers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    fn: Callable[[Any], dict[str, Any] | None]
    timeout: int  # seconds one attempt may run
    max_attempts: int


_HANDLERS: dict[str, HandlerSpec] = {}

_modules_loaded = False


def job_handler(
    kind: str, *, timeout: int = 600, max_attempts: int | None = None
) -> Callable[[Callable], Callable]:
    """Register `fn(ctx: JobContext) -> dict | None` as the handler of job `kind`."""

    def decorator(fn: Callable) -> Callable:
        if kind in _HANDLERS and _HANDLERS[kind].fn is not fn:
            raise ValueError(f"job kind {kind!r} is already registered")
        attempts = max_attempts or int(setting("SLRT_JOB_MAX_ATTEMPTS") or 3)
        _HANDLERS[kind] = HandlerSpec(kind, fn, timeout, attempts)
        return fn

    return decorator


def load_handlers() -> None:
    global _modules_loaded
    if not _modules_loaded:
        for module in JOB_HANDLER_MODULES:
            import_module(module)
        _modules_loaded = True


def handler_for(kind: str) -> HandlerSpec:
    load_handlers()
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no job handler registered for {kind!r}") from None
