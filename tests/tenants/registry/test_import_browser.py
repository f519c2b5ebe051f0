"""The registry import in Chromium, at a desk: Parepare's district admin uploads a spreadsheet of
households and persons, watches the progress bar move to the end while a real worker imports it
in batches (good and bad rows counted as it goes), reads the result and downloads the error
report; then opens the dashboard and sees its charts. A phone shows the job's page without
sideways scrolling."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import horizontal_overflow, screenshot, sign_in
from tests.fixtures import member, set_password
from tests.platform.jobs.test_jobs import _kill_tree, _worker_process
from tests.tenants.registry.test_import_export import BAD, _big_csv, _csv

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"
GOOD_ROWS = 120

# Every value the bar showed, kept across the reload at the end (the page's script reloads it
# once the job has ended). Injected by the test, not part of the page.
RECORD_BAR = """
(() => {
  const key = "seen-progress";
  setInterval(() => {
    const bar = document.getElementById("job-bar");
    if (!bar || !bar.hasAttribute("value") && bar.value === 0) { return; }
    const seen = JSON.parse(sessionStorage.getItem(key) || "[]");
    const now = [bar.value, bar.max];
    const last = seen[seen.length - 1];
    if (!last || last[0] !== now[0] || last[1] !== now[1]) {
      seen.push(now);
      sessionStorage.setItem(key, JSON.stringify(seen));
    }
  }, 100);
})();
"""


def _spreadsheet(tmp_path) -> tuple[str, int]:
    """A CSV of `GOOD_ROWS` good rows followed by the known bad ones (comma separated)."""
    good = list(csv.reader(io.StringIO(_big_csv(GOOD_ROWS).decode("cp1252"))))[1:]
    path = tmp_path / "warga-parepare.csv"
    path.write_bytes(_csv(good + BAD, delimiter=","))
    return str(path), len(good) + len(BAD)


def test_an_admin_imports_a_spreadsheet_watching_the_progress_bar(
    app, page: Page, parepare, services, tmp_path
) -> None:
    path, rows = _spreadsheet(tmp_path)
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    page.add_init_script(RECORD_BAR)
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Impor dan ekspor").click()
    page.get_by_role("link", name="Impor registrasi").click()
    expect(page.get_by_role("heading", name="Impor registrasi")).to_be_visible()
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(path)
    screenshot(page, tmp_path, "1-file-chosen")
    page.get_by_role("button", name="Unggah dan impor").click()
    expect(page.get_by_role("heading", name="Impor registrasi")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Berkas warga-parepare.csv diterima; impor berjalan di latar belakang."
    )
    expect(page.locator("#job-progress")).to_contain_text("Menunggu giliran")
    assert re.search(r"/t/parepare/jobs/[0-9a-f-]{36}$", page.url)

    worker = _worker_process(services, "tests.tenants.registry.slow_worker_main")
    try:
        # The bar moves while the worker goes through the file, without a reload.
        page.wait_for_function(
            "() => { const b = document.getElementById('job-bar');"
            " return b && b.max > 100 && b.value > 0 && b.value < b.max; }",
            timeout=60_000,
        )
        expect(page.locator("#job-progress")).to_contain_text("Berjalan")
        expect(page.locator("#job-rows")).to_contain_text(re.compile(r"\d+ dari \d+ baris"))
        expect(page.locator("#job-rows")).to_contain_text("bermasalah")
        screenshot(page, tmp_path, "2-moving")
        # ...to the end: the page shows the result once the job is done.
        result = page.locator("#result")
        expect(result).to_be_visible(timeout=90_000)
    finally:
        _kill_tree(worker)
    bar = page.locator("#job-bar")
    expect(bar).to_have_attribute("value", str(rows))
    expect(bar).to_have_attribute("max", str(rows))
    expect(page.locator("#job-progress")).to_contain_text("Selesai")
    expect(page.locator("#job-rows")).to_have_text(
        f"{rows} dari {rows} baris · {GOOD_ROWS} baik · {len(BAD)} bermasalah"
    )
    expect(page.locator("#job-message")).to_have_text(
        f"Selesai: {GOOD_ROWS} baris masuk, {len(BAD)} baris bermasalah"
    )
    expect(result).to_contain_text(re.compile(rf"Warga baru\s*{GOOD_ROWS}"))
    screenshot(page, tmp_path, "3-done")

    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen-progress') || '[]')")
    values = [value for value, top in seen if top == rows]
    assert len(set(values)) >= 3, seen  # it was seen moving, not only at the start and end
    assert values == sorted(values) and values[-1] == rows, seen
    assert any(0 < v < rows for v in values), seen

    # The error report, downloaded as the admin would.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Unduh laporan kesalahan (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "laporan-kesalahan.csv"
    report = Path(download.path()).read_bytes().decode("utf-8-sig", errors="replace")
    assert "Rusak Dua" in report or "737201010120004" in report
    assert len([line for line in report.splitlines() if line.strip()]) > len(BAD)

    # The jobs list shows the import as done.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Impor dan ekspor").click()
    row = page.locator("#jobs tbody tr").first
    expect(row).to_contain_text("Impor registrasi")
    expect(row).to_contain_text("Selesai")
    expect(row).to_contain_text("warga-parepare.csv")
    screenshot(page, tmp_path, "4-jobs")


def test_the_dashboard_shows_its_charts(app, page: Page, parepare, tmp_path) -> None:
    from tests.tenants.reports.test_dashboard_pages import _district, _refresh

    _district(app, parepare)
    _refresh(app, parepare)
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Dasbor").click()
    expect(page.get_by_role("heading", name="Dasbor Kota Parepare")).to_be_visible()
    images = page.locator("figure.chart img")
    expect(images).to_have_count(8)
    for i in range(8):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=image.element_handle())
        assert page.evaluate("(img) => img.naturalWidth > 0", image.element_handle())
    expect(page.locator("#overdue-agency")).to_contain_text("Dinas Kesehatan")
    screenshot(page, tmp_path, "dashboard")


def test_a_job_page_fits_a_phone(app, phone: Page, parepare, tmp_path) -> None:
    from tests.platform.jobs.test_jobs import run_burst

    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(phone, admin.email, PASSWORD)
    phone.goto("/t/parepare/transfers/import")
    phone.get_by_label("Berkas CSV atau XLSX").set_input_files(
        files=[{"name": "warga.csv", "mimeType": "text/csv", "buffer": _csv(BAD)}]
    )
    phone.get_by_role("button", name="Unggah dan impor").click()
    expect(phone.locator("#job-progress")).to_contain_text("Menunggu giliran")
    run_burst()
    expect(phone.locator("#result")).to_be_visible()
    screenshot(phone, tmp_path, "job-phone")
    assert horizontal_overflow(phone) == 0
    phone.goto("/t/parepare/dashboard")
    screenshot(phone, tmp_path, "dashboard-phone")
    assert horizontal_overflow(phone) == 0
