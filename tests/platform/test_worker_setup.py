"""What a gunicorn worker of `slrt serve` does once it has loaded the app
(slrt.platform.commands.gunicorn_config)."""

from __future__ import annotations

import subprocess
import sys


def test_a_worker_moves_what_it_loaded_out_of_the_collectors_reach() -> None:
    # In a fresh interpreter, as a worker is: this test process must not be frozen itself.
    code = (
        "import gc\n"
        "from slrt.platform.app import create_app\n"
        "from slrt.platform.commands import gunicorn_config\n"
        "app = create_app()\n"
        "loaded = len(gc.get_objects())\n"
        "gunicorn_config.post_worker_init(None)\n"
        "print(loaded, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded, frozen, left = map(int, out.stdout.split())
    # A full collection looks only at what the collector still tracks.
    assert loaded > 100_000
    assert frozen >= loaded * 0.9
    assert left < loaded / 100


def _logger(*args: str):
    from gunicorn.config import Config

    from slrt.platform.commands import gunicorn_config

    cfg = Config()
    for name in ("logger_class", "accesslog", "access_log_format", "logconfig_dict"):
        cfg.set(name, getattr(gunicorn_config, name))
    if args:
        cfg.set(*args)
    return cfg.logger_class(cfg)


def test_requests_build_no_access_log_entry_unless_an_access_log_is_asked_for(tmp_path) -> None:
    assert not _logger().access_log_enabled
    log = tmp_path / "access.log"
    logger = _logger("accesslog", str(log))
    assert logger.access_log_enabled

    class Response:
        status = "200 OK"
        response_length = 12
        headers = ()
        sent = 12

    class Request:
        headers = ()

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/t/x/persons",
        "QUERY_STRING": "nik=7372010101900001",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "RAW_URI": "/api/v1/t/x/persons?nik=7372010101900001",
    }
    logger.access(Response(), Request(), environ, __import__("datetime").timedelta(seconds=0.01))
    written = log.read_text()
    assert '"GET /api/v1/t/x/persons HTTP/1.1" 200' in written
    assert "7372010101900001" not in written
