"""`make bench`, the field app: how long from the facilitator's "save" to the server holding the
household and the visit with its photo, in a real Chromium at phone size, over an emulated 3G
link (Chrome's "Regular 3G": 100 ms latency, 750 kb/s down, 250 kb/s up) and, side by side,
over the unthrottled loopback, with their ratio and the floor the upload speed alone sets.
Printed, never asserted. Needs Playwright and a Chromium (the test extra and `make
system-test-deps`); without them it says so and skips."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

REGULAR_3G = {
    "latency": 100,
    "downloadThroughput": 750 * 1024 / 8,
    "uploadThroughput": 250 * 1024 / 8,
}
PHOTO_BYTES = 200 * 1024  # a phone photo after the camera's own compression
CHROMIUM = os.environ.get("SLRT_TEST_CHROMIUM", "/usr/bin/chromium")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _serve(app: Any) -> tuple[str, Any]:
    from werkzeug.serving import make_server

    from slrt.platform.commands.embedded import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ["SLRT_PUBLIC_URL"] = url
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url, server


def _capture_and_sync(page: Any, n: int, throttle: dict | None) -> float:
    """Save one household (two members) and one visit with a photo; seconds until both are on
    the server (the outbox empty)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    conditions = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", {**conditions, **(throttle or {})})
    kk = f"73720105052{n:05d}"
    nik = f"737201120380{n:04d}"
    form = page.locator("#household-form")
    page.get_by_role("button", name="Keluarga baru").click()
    form.get_by_label("Nomor KK").fill(kk)
    member = form.get_by_role("group", name="Anggota 1")
    member.get_by_label("NIK").fill(nik)
    member.get_by_label("Nama lengkap").fill("Warga Uji")
    started = time.perf_counter()
    form.get_by_role("button", name="Simpan draf keluarga").click()
    page.get_by_role("button", name="Layanan baru").click()
    intake = page.locator("#intake-form")
    intake.get_by_label("NIK warga").fill(nik)
    intake.get_by_label("Uraian").fill("Uji kecepatan sinkronisasi")
    photo = PNG + os.urandom(PHOTO_BYTES - len(PNG))
    intake.get_by_label("Foto (boleh kosong)").set_input_files(
        files=[{"name": "rumah.png", "mimeType": "image/png", "buffer": photo}]
    )
    intake.get_by_role("button", name="Simpan draf layanan").click()
    page.get_by_text("Tidak ada draf. Semua sudah terkirim.").wait_for(timeout=300_000)
    return time.perf_counter() - started


def bench_field(app: Any) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("field app: skipped (Playwright is not installed)")
        return
    if not os.path.exists(CHROMIUM):
        print(f"field app: skipped (no Chromium at {CHROMIUM})")
        return
    from slrt.auth.demo import _password
    from slrt.platform import db
    from slrt.platform.commands.demo import load_demo

    with app.app_context():
        if not load_demo():  # the districts exist already: add the demo's people to them
            from slrt.auth.demo import load_demo_accounts
            from slrt.platform.transaction import joined

            with joined():
                load_demo_accounts()
            db.session.commit()
        email = "fasilitator.parepare@demo.slrt.id"
        password = _password(email)
        db.session.remove()
    import logging

    # The figures, not one log line per request of the runs.
    for name in ("slrt.request", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
    url, server = _serve(app)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(
                base_url=url, viewport={"width": 360, "height": 740}, is_mobile=True, locale="id-ID"
            )
            page = context.new_page()
            page.goto("/auth/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Kata sandi").fill(password)
            page.get_by_role("button", name="Masuk").click()
            page.goto("/t/parepare/field/")
            page.locator("#field-app[data-ready]").wait_for()
            timings: dict[str, list[float]] = {"loopback": [], "3g": []}
            for n in range(1, 7):
                which = "3g" if n % 2 == 0 else "loopback"
                timings[which].append(
                    _capture_and_sync(page, n, REGULAR_3G if which == "3g" else None)
                )
            browser.close()
    finally:
        server.shutdown()
    fast = sorted(timings["loopback"])[len(timings["loopback"]) // 2]
    slow = sorted(timings["3g"])[len(timings["3g"]) // 2]
    floor = PHOTO_BYTES / REGULAR_3G["uploadThroughput"]
    print("Field app: capture to synced (a household + a visit with a 200 KB photo), median of 3")
    print(f"  loopback, no throttling: {fast:6.2f} s")
    print(f"  emulated Regular 3G:     {slow:6.2f} s  ({slow / fast:.1f}x loopback)")
    print(f"  the photo alone at 250 kb/s up: {floor:.2f} s (3G floor; {slow / floor:.2f}x of it)")
