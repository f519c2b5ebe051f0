"""`make run` smoke test: `slrt up` on a fresh data dir serves /readyz, has the demo districts,
and leaves no process behind after Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from slrt.platform.commands.embedded import free_port


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline or text in environ:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def _status(url: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, None


@pytest.mark.slow
def test_slrt_up_serves_and_stops_cleanly() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="slrt-up-test-"))  # outside pytest's pruned basetemp
    data = tmp_path / "var"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "DATABASE_ADMIN_URL")
    }
    env.update(
        SLRT_DATA_DIR=str(data),
        SLRT_PORT=str(port),
        SLRT_PG_PORT=str(free_port()),
        SLRT_REDIS_PORT=str(free_port()),
        SLRT_WEB_PROCESSES="1",
    )
    slrt = Path(sys.executable).parent / "slrt"
    log = (tmp_path / "up.log").open("w")
    proc = subprocess.Popen([str(slrt), "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a loaded 2-core machine migrates slowly
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _ = _get_json(base + "/readyz")
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, (tmp_path / "up.log").read_text()
        status, tenants = _get_json(base + "/api/v1/tenants")
        assert status == 200
        assert {t["slug"] for t in tenants} >= {"kendal", "parepare"}
        # `slrt up` prints its banner after its own readiness check, a moment after ours.
        banner = f"SLRT is running at http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while (
            "Press Ctrl-C" not in (tmp_path / "up.log").read_text() and time.monotonic() < deadline
        ):
            time.sleep(0.3)
        output = (tmp_path / "up.log").read_text()
        assert banner in output
        assert "Sign in at" in output and "fasilitator.kendal@demo.slrt.id" in output
        # Every page the banner sends someone to exists: a public page opens, a signed-in one
        # sends a stranger to sign in (never a 404).
        pages = set(re.findall(re.escape(base) + r"(/[^\s]*)", output))
        assert {"/t/parepare/pengaduan", "/t/kendal/settings", "/t/kendal/referrals"} <= pages
        for path in sorted(pages):
            if path.startswith(("/oauth/", "/api/")):
                continue  # the API client's steps: placeholders in angle brackets
            assert _status(base + path) in (200, 302), path
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        log.close()
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(data)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _processes_mentioning(str(data)) == []
    assert (data / "pg" / "PG_VERSION").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
