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
