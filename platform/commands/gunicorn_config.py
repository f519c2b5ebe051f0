"""gunicorn settings of `slrt serve` (`--config python:slrt.platform.commands.gunicorn_config`).

No access log: the app writes one line per request itself (`slrt.platform.metrics`), with the
route instead of the path, because query strings can hold NIKs. gunicorn's own lines (workers
booting, timeouts) go through the app's formatter, so the whole output is one format.
"""

from __future__ import annotations

from slrt.platform.config import setting

accesslog = None
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): two
# instances on one machine (nodes, `slrt up` beside a service) would take it from each other.
control_socket_disable = True

_formatter = (
    {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"}
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
