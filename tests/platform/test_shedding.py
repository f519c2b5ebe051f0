"""Load shedding (slrt.platform.shedding): what an overloaded process answers. Threads stand in
for gunicorn's; nothing here is timed: waits are ended by events, deadlines set in the past."""

from __future__ import annotations

import json
import threading
import time

from werkzeug.test import Client
from werkzeug.wrappers import Response

from slrt.platform.shedding import LoadShedder


class Gate:
    """A WSGI app whose requests block until released, counting how many it ran."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.ran = 0

    def __call__(self, environ, start_response):
        self.ran += 1
        self.entered.release()
        self.release.wait(30)
        return Response("served")(environ, start_response)


def _get(client: Client, path: str, **kw):
    """GET, read and close, as a server does."""
    resp = client.get(path, **kw)
    resp.get_data()
    resp.close()
    return resp


def _in_thread(client: Client, path: str, out: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: out.append(_get(client, path)))
    thread.start()
    return thread


def _wait_until(condition) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition never held")


def test_a_full_waiting_room_answers_503_at_once_and_the_waiting_are_served() -> None:
    gate = Gate()
    shedder = LoadShedder(gate, active=1, waiting=1, deadline_seconds=30)
    client = Client(shedder)
    first, second = [], []
    threads = [_in_thread(client, "/api/v1/x", first)]
    assert gate.entered.acquire(timeout=30)  # the one slot is taken
    threads.append(_in_thread(client, "/api/v1/x", second))
    _wait_until(lambda: shedder._queued == 1)  # the second waits for the slot

    third = _get(client, "/api/v1/x")  # no slot, no room to wait: refused, the app never runs
    assert third.status_code == 503
    assert third.headers["Retry-After"] == "1"
    assert third.headers["Content-Type"] == "application/problem+json"
    body = json.loads(third.get_data())
    assert body["status"] == 503 and body["detail"] and body["detail_en"]
    assert gate.ran == 1

    gate.release.set()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in first + second] == [200, 200]
    assert gate.ran == 2 and shedder.shed == 1


def test_a_request_past_its_deadline_is_not_served() -> None:
    gate = Gate()
    gate.release.set()
    shedder = LoadShedder(gate, active=2, waiting=2, deadline_seconds=1, trust_request_start=True)
    client = Client(shedder)
    long_ago = f"t={time.time() - 5:.3f}"
    late = _get(client, "/api/v1/x", headers={"X-Request-Start": long_ago})
    assert late.status_code == 503 and gate.ran == 0
    fresh = _get(client, "/api/v1/x", headers={"X-Request-Start": f"t={time.time():.3f}"})
    assert fresh.status_code == 200 and gate.ran == 1


def test_the_header_counts_only_from_a_trusted_proxy() -> None:
    gate = Gate()
    gate.release.set()
    shedder = LoadShedder(gate, active=1, waiting=0, deadline_seconds=1)
    long_ago = f"t={time.time() - 5:.3f}"
    resp = _get(Client(shedder), "/api/v1/x", headers={"X-Request-Start": long_ago})
    assert resp.status_code == 200


def test_a_waiter_whose_deadline_passes_is_refused_and_the_slot_comes_back() -> None:
    gate = Gate()
    shedder = LoadShedder(gate, active=1, waiting=1, deadline_seconds=0.2)
    client = Client(shedder)
    first: list = []
    thread = _in_thread(client, "/api/v1/x", first)
    assert gate.entered.acquire(timeout=30)
    waited = _get(client, "/api/v1/x")  # waits for the slot until its deadline, then gives up
    assert waited.status_code == 503 and gate.ran == 1
    gate.release.set()
    thread.join(30)
    assert first[0].status_code == 200
    assert _get(client, "/api/v1/x").status_code == 200  # the slot was given back


def test_pages_get_a_page_and_probes_are_never_shed() -> None:
    gate = Gate()
    gate.release.set()
    shedder = LoadShedder(gate, active=1, waiting=0, deadline_seconds=0)
    client = Client(shedder)
    page = _get(client, "/t/parepare/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert "coba lagi" in page.get_data(as_text=True)
    assert _get(client, "/healthz").status_code == 200


def test_the_app_is_behind_the_shedder(app, monkeypatch) -> None:
    from slrt.platform.app import create_app

    monkeypatch.setenv("SLRT_WEB_ACTIVE", "4")  # the default; the test session turns it off
    assert isinstance(create_app().wsgi_app, LoadShedder)
    monkeypatch.setenv("SLRT_WEB_ACTIVE", "0")
    assert not isinstance(create_app().wsgi_app, LoadShedder)
