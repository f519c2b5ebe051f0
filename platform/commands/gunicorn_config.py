"""gunicorn settings of `slrt serve` (`--config python:slrt.platform.commands.gunicorn_config`).

No access log: the app writes one line per request itself (`slrt.platform.metrics`), with the
route instead of the path, because query strings can hold NIKs. gunicorn's own lines (workers
booting, timeouts) go through the app's formatter, so the whole output is one format, masked of
personal data (`slrt.platform.logs.redact`). Should an operator turn gunicorn's access log on,
`access_log_format` logs the path without its query string.
"""

from __future__ import annotations

import logging
import sys

from gunicorn.glogging import Logger

from slrt.platform.config import setting


class AccessLogWhenAsked(Logger):
    """gunicorn's logger with its access log on only when an operator asks for one
    (`accesslog`). gunicorn counts a logging configuration (`logconfig_dict`, below) as asking,
    and would then build every request's entry for a logger that has no handler; and it applies
    that configuration after giving the asked-for access log its handler, which it removes."""

    def _compute_access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if cfg.accesslog and not self.access_log.handlers:
            self._set_handler(
                self.access_log,
                cfg.accesslog,
                fmt=logging.Formatter(self.access_fmt),
                stream=sys.stdout,
            )


logger_class = AccessLogWhenAsked
accesslog = None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s'
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): two
# instances on one machine (nodes, `slrt up` beside a service) would take it from each other.
control_socket_disable = True

_formatter = (
    {
        "()": "slrt.platform.logs.RedactingFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s",
    }
    if setting("SLRT_LOG_FORMAT") == "text"
    else {"()": "slrt.platform.logs.JsonFormatter"}
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"slrt": _formatter},
    "filters": {"context": {"()": "slrt.platform.logs.ContextFilter"}},
    "handlers": {
        "slrt": {
            "class": "logging.StreamHandler",
            "formatter": "slrt",
            "filters": ["context"],
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": setting("SLRT_LOG_LEVEL") or "INFO", "handlers": ["slrt"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def child_exit(server, worker) -> None:
    """A worker process ended: its gauges leave the sums of the multi-process metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """The worker has loaded the app. What it holds now (modules, the app, its mappings: about
    300,000 objects) lives as long as the process, so it is moved out of the cycle collector's
    reach. A full collection then looks only at what came after: 7-37 ms measured instead of
    180-240, during which every thread of the worker stands still (the tail of the latency)."""
    import gc

    gc.collect()
    gc.freeze()
