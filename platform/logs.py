"""Logging: one JSON object per line (SLRT_LOG_FORMAT=json, the default) and the request id.

Every line carries the request id and the district code of the work it belongs to: a request's
id comes from nginx's `X-Request-ID` (or is made here), is sent back in the response header,
is stored with each job the request asks for, and is set again while a worker runs that job,
so one id finds the nginx line, the app's request line and every line of the jobs it started.

The request line replaces gunicorn's access log: it names the route (the URL rule, e.g.
`/api/v1/t/<tenant>/persons/<uuid:person_id>`), never the path with its query string, which
can hold a NIK.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from slrt.platform.config import setting

_request_id: ContextVar[str | None] = ContextVar("slrt_request_id", default=None)
# Only ids nginx (or another proxy) could have made: no spaces, quotes or control characters
# that would let a client forge log lines.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Fields a request or job line may add with `extra=`; they appear in this order after the rest.
EXTRA_FIELDS = ("method", "route", "status", "duration_ms", "job_id", "job_kind", "job_status")


def new_request_id(offered: str | None = None) -> str:
    """The proxy's id when it is well-formed, else a fresh one (32 hex digits, like nginx's)."""
    if offered and _VALID_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


@contextmanager
def request_id_context(value: str | None) -> Iterator[None]:
    """Log lines in the block carry `value` (a job runs under its request's id)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


class ContextFilter(logging.Filter):
    """Puts the request id and the current district's code on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slrt.platform.tenancy import current_tenant_or_none

        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        if not hasattr(record, "tenant"):
            tenant = current_tenant_or_none()
            record.tenant = tenant.code if tenant else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "tenant": getattr(record, "tenant", None),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"


def configure_logging() -> None:
    """Root logging for every slrt process: one handler on stderr (journald, container logs),
    JSON or text by SLRT_LOG_FORMAT, level SLRT_LOG_LEVEL. Idempotent. (rq adds a handler of
    its own only when none is in effect, so its lines come here too.)"""
    root = logging.getLogger()
    root.setLevel(setting("SLRT_LOG_LEVEL") or "INFO")
    # Ours: made here before, or by gunicorn from the same pieces (gunicorn_config).
    mine = [h for h in root.handlers if any(isinstance(f, ContextFilter) for f in h.filters)]
    handler = mine[0] if mine else logging.StreamHandler(sys.stderr)
    if setting("SLRT_LOG_FORMAT") == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        handler.setFormatter(JsonFormatter())
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())
    if not mine:
        root.addHandler(handler)
