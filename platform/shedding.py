"""Load shedding: a bounded wait and a deadline per request, so an overloaded process answers
503 with Retry-After at once instead of serving clients that gave up long ago.

`slrt serve` runs gunicorn's threaded workers (`DeadlineWorker`, below): SLRT_WEB_THREADS
threads per process, and up to SLRT_WEB_QUEUE accepted connections waiting for a thread (the
bounded queue; beyond it connections wait in a short listen backlog, SLRT_WEB_BACKLOG). The
worker notes when each request was queued. Of the threads at most SLRT_WEB_ACTIVE run the app
at once; others wait for a slot, each until its deadline. A request is answered 503
(problem+json, Retry-After) without running any of the app when:

- its deadline (SLRT_REQUEST_DEADLINE_MS after it arrived) has passed while it waited: the
  client has likely given up or retried, and serving it would only delay the living;
- it arrives while every slot is busy and the waiting room is full.

When it arrived: the `X-Request-Start: t=<seconds>` header that nginx sets (deploy/nginx),
trusted only with SLRT_TRUSTED_PROXIES above 0; else when the worker queued it; else the moment
this process read it.

Probes (/healthz, /readyz, /metrics) are never shed: an overloaded process is alive, and
restarting it would lose the requests it is serving.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter

from slrt.platform.config import setting
from slrt.platform.errors import TITLES, Msg

SHED = Counter("slrt_http_shed", "Requests answered 503 by load shedding, unserved")
NEVER_SHED = ("/healthz", "/readyz", "/metrics")
RETRY_AFTER_SECONDS = 1

OVERLOADED = Msg(
    "Server sedang sibuk melayani banyak permintaan; coba lagi sebentar lagi. Data Anda aman.",
    "The server is busy with many requests; try again in a moment. Your data is safe.",
)


# When gunicorn queued the request this thread now serves (DeadlineWorker), in time.time().
_queued = threading.local()


def queued_at() -> float | None:
    return getattr(_queued, "at", None)


def _int_setting(name: str) -> int:
    return int(setting(name) or 0)


class LoadShedder:
    """WSGI middleware: at most `active` requests run at once; up to `waiting` more wait for a
    slot, each no longer than its deadline; anything beyond answers 503 at once."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        active: int,
        waiting: int,
        deadline_seconds: float,
        trust_request_start: bool = False,
    ) -> None:
        self.app = app
        self.active = active
        self.waiting = waiting
        self.deadline = deadline_seconds
        self.trust_request_start = trust_request_start
        self._slots = threading.BoundedSemaphore(active)
        self._lock = threading.Lock()
        self._queued = 0
        self.shed = 0  # answered 503 by this process (the benchmark reads it)

    def arrival(self, environ: dict[str, Any], now: float) -> float:
        """When the request reached the front proxy, else this process's queue (wall-clock
        seconds), else `now`."""
        now = min(now, queued_at() or now)
        if self.trust_request_start:
            raw = environ.get("HTTP_X_REQUEST_START", "")
            try:
                started = float(raw.removeprefix("t="))
            except ValueError:
                return now
            if started > 1e11:  # milliseconds (some proxies) rather than seconds
                started /= 1000
            return min(started, now)
        return now

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in NEVER_SHED:
            return self.app(environ, start_response)
        now = time.time()
        remaining = self.deadline - (now - self.arrival(environ, now))
        if remaining <= 0:
            return self._refuse(environ, start_response)
        if not self._slots.acquire(blocking=False):
            with self._lock:
                room = self._queued < self.waiting
                if room:
                    self._queued += 1
            if not room:
                return self._refuse(environ, start_response)
            try:
                got = self._slots.acquire(timeout=remaining)
            finally:
                with self._lock:
                    self._queued -= 1
            if not got:
                return self._refuse(environ, start_response)
        # The slot is given back when the view has answered: sending the body is the server's
        # work, not the app's (a streamed body, rare here, is then sent outside any slot).
        try:
            return self.app(environ, start_response)
        finally:
            self._slots.release()

    def _refuse(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        with self._lock:
            self.shed += 1
        SHED.inc()
        path = environ.get("PATH_INFO", "")
        if "text/html" in environ.get("HTTP_ACCEPT", "") and not path.startswith("/api/"):
            # A page's reader gets a page (small, no template: nothing of the app runs).
            kind = "text/html; charset=utf-8"
            body = (
                '<!doctype html><html lang="id"><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width">'
                f"<title>503</title><p>{html.escape(str(OVERLOADED))}</p>"
                f'<p lang="en">{html.escape(OVERLOADED.en)}</p></html>'
            ).encode()
        else:
            title_id, title_en = TITLES.get(503, ("Layanan tidak tersedia", "Service unavailable"))
            kind = "application/problem+json"
            body = json.dumps(
                {
                    "type": "about:blank",
                    "title": title_id,
                    "title_en": title_en,
                    "status": 503,
                    "detail": str(OVERLOADED),
                    "detail_en": OVERLOADED.en,
                    "instance": path,
                }
            ).encode()
        start_response(
            "503 SERVICE UNAVAILABLE",
            [
                ("Content-Type", kind),
                ("Content-Length", str(len(body))),
                ("Retry-After", str(RETRY_AFTER_SECONDS)),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The app behind a LoadShedder sized by the settings (SLRT_WEB_ACTIVE=0: no shedding)."""
    active = _int_setting("SLRT_WEB_ACTIVE")
    if active <= 0:
        return app
    threads = max(_int_setting("SLRT_WEB_THREADS"), active)
    return LoadShedder(
        app,
        active=active,
        waiting=threads - active,
        deadline_seconds=_int_setting("SLRT_REQUEST_DEADLINE_MS") / 1000,
        trust_request_start=_int_setting("SLRT_TRUSTED_PROXIES") > 0,
    )


def _deadline_worker() -> type:
    from gunicorn.workers.gthread import ThreadWorker

    class DeadlineWorker(ThreadWorker):
        """gunicorn's threaded worker, noting when each request joined the queue for a thread,
        so the time it waited there counts against its deadline."""

        def enqueue_req(self, conn: Any) -> None:
            conn.slrt_queued_at = time.time()
            super().enqueue_req(conn)

        def handle(self, conn: Any) -> Any:
            _queued.at = getattr(conn, "slrt_queued_at", None)
            try:
                return super().handle(conn)
            finally:
                _queued.at = None

    return DeadlineWorker


def __getattr__(name: str) -> Any:
    # Built on first use: gunicorn is imported only by the processes it runs.
    if name == "DeadlineWorker":
        return _deadline_worker()
    raise AttributeError(name)
