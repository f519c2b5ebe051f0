"""The registry import and exports as pages: a spreadsheet uploaded in the browser becomes the
API's import job, whose page shows its progress (and refreshes itself without JavaScript while
it runs), its result and its error report to download; an import over the day's quota says it is
held until tomorrow; rows held back as conflicts are listed and applied; exports and the jobs
list. Same permissions as the API."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.jobs.models import Job
from slrt.platform.tenancy import tenant_context
from tests.fixtures import put_on_plan
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.districts.pages import post, signed_in, text
from tests.tenants.registry.test_import_export import BAD, GOOD, _csv

P = "/t/parepare"


def _upload(client, content: bytes, name: str = "warga.csv"):
    return post(
        client,
        f"{P}/transfers/import",
        {"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _job_url(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    location = resp.headers["Location"]
    assert re.fullmatch(rf"{P}/jobs/[0-9a-f-]{{36}}", location), location
    return location


def _jobs(app, tenant) -> list[Job]:
    with app.app_context(), tenant_context(tenant.ref()):
        jobs = list(db.session.execute(sa.select(Job).order_by(Job.created_at)).scalars())
        db.session.expunge_all()
        db.session.remove()
    return jobs


def test_an_upload_runs_as_the_import_job_with_progress_result_and_error_report(
    app, parepare, monkeypatch
) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    page = client.get(f"{P}/transfers/import")
    assert page.status_code == 200
    assert "Berkas CSV atau XLSX" in text(page) and "no_kk, nik, nama" in text(page)

    job_url = _job_url(_upload(client, _csv(GOOD + BAD)))
    waiting = client.get(job_url)
    assert "Menunggu giliran" in text(waiting)
    html = waiting.get_data(as_text=True)
    # Without JavaScript the page refreshes itself; with it, the page's script polls.
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    assert re.search(r'<script src="/static/jobs/progress\.[0-9a-f]{12}\.js" defer>', html)
    assert client.get(job_url + "/status").get_json()["status"] == "queued"

    run_burst()
    done = client.get(job_url)
    shown = text(done)
    assert "Selesai: 3 baris masuk, 7 baris bermasalah" in shown
    assert "10 dari 10 baris · 3 baik · 7 bermasalah" in shown
    html = done.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html and "progress.js" not in html
    assert '<progress id="job-bar" max="10" value="10">' in html
    status = client.get(job_url + "/status").get_json()
    assert status | {"message": ""} == status | {
        "status": "succeeded",
        "done": 10,
        "total": 10,
        "percent": 100,
        "good": 3,
        "bad": 7,
        "finished": True,
        "held": False,
        "message": "",
    }
    assert status["rows_text"] == "10 dari 10 baris"
    english = text(client.get(job_url + "?lang=en"))  # one language per page
    assert "Registry import" in english and "Done: 3 rows in, 7 rows with errors" in english
    assert "10 of 10 rows · 3 good · 7 with errors" in english
    assert "Selesai" not in english and "baris" not in english
    client.get(job_url + "?lang=id")

    report = client.get(job_url + "/files/laporan-kesalahan.csv")
    assert report.status_code == 200
    assert report.headers["Content-Disposition"] == 'attachment; filename="laporan-kesalahan.csv"'
    assert report.headers["Cache-Control"] == "no-store"
    assert b"Rusak Dua" in report.data or b"737201010120004" in report.data
    assert "Unduh laporan kesalahan (CSV)" in shown and "Unduh laporan kesalahan (XLSX)" in shown
    assert client.get(job_url + "/files/warga.csv").status_code == 404  # the input is not served

    jobs = client.get(f"{P}/jobs")
    assert "Impor registrasi" in text(jobs) and "warga.csv" in text(jobs)
    assert "warga.csv" in text(client.get(f"{P}/transfers/import"))  # recent imports


def test_a_refused_file_is_shown_beside_the_field(app, parepare, monkeypatch) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    resp = _upload(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "foto.png")
    assert resp.status_code == 422
    assert 'id="f-file-error"' in resp.get_data(as_text=True)
    empty = post(client, f"{P}/transfers/import", {}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "Pilih berkas CSV atau XLSX." in text(empty)
    assert _jobs(app, parepare) == []


def test_an_import_over_the_days_quota_is_held_until_tomorrow(app, parepare, monkeypatch) -> None:
    put_on_plan(app, parepare, import_rows_per_day=2)
    client, _ = signed_in(app, monkeypatch, parepare)
    job_url = _job_url(_upload(client, _csv(GOOD)))
    run_burst()
    page = client.get(job_url)
    shown = text(page)
    assert "Ditahan sampai besok" in shown
    assert "Ditahan: kuota baris impor hari ini habis setelah baris 3" in shown
    assert "dilanjutkan otomatis" in shown and "WITA" in shown
    assert 'class="warn-box"' in page.get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh"' in page.get_data(as_text=True)
    status = client.get(job_url + "/status").get_json()
    assert status["held"] is True and status["finished"] is False
    assert status["status_text"] == "Ditahan sampai besok"


def test_permissions_are_the_apis(app, parepare, monkeypatch) -> None:
    # A facilitator may not import, export or see the jobs; a viewer reads the dashboard only.
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    for url in ("/transfers/import", "/transfers/export", "/jobs"):
        assert facilitator.get(P + url).status_code == 403, url
    assert _upload(facilitator, _csv(GOOD)).status_code == 403
    menu = facilitator.get(f"{P}/").get_data(as_text=True)
    assert "/transfers/import" not in menu and "/jobs" not in menu

    # The back office imports and sees jobs, but another member's error report is not theirs.
    admin, _ = signed_in(app, monkeypatch, parepare)
    job_url = _job_url(_upload(admin, _csv(GOOD + BAD)))
    run_burst()
    back_office, _ = signed_in(app, monkeypatch, parepare, "back_office")
    assert back_office.get(job_url).status_code == 200
    assert "hanya dapat diunduh oleh yang memintanya" in text(back_office.get(job_url))
    assert back_office.get(job_url + "/files/laporan-kesalahan.csv").status_code == 403
    assert post(back_office, job_url + "/cancel").status_code == 403


def test_exports_start_from_the_page_and_end_as_a_download(app, parepare, monkeypatch) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    _job_url(_upload(client, _csv(GOOD)))
    run_burst()
    page = client.get(f"{P}/transfers/export")
    assert page.status_code == 200 and "Registrasi (warga dengan KK-nya)" in text(page)
    wrong = post(client, f"{P}/transfers/export", {"what": "everything", "format": "xlsx"})
    assert wrong.status_code == 422
    job_url = _job_url(post(client, f"{P}/transfers/export", {"what": "registry", "format": "csv"}))
    run_burst()
    shown = text(client.get(job_url))
    assert "Ekspor registrasi" in shown and "Selesai" in shown
    link = re.search(r'href="([^"]+/files/[^"]+\.csv)"', client.get(job_url).get_data(as_text=True))
    assert link, shown
    download = client.get(link.group(1))
    assert download.status_code == 200 and b"Andi Baso" in download.data


def test_rows_held_back_as_conflicts_are_listed_and_applied(app, parepare, monkeypatch) -> None:
    from slrt.tenants.registry.models import Person

    client, _ = signed_in(app, monkeypatch, parepare)
    _job_url(_upload(client, _csv(GOOD)))
    run_burst()
    # The file is uploaded again with a new name; before it runs, someone corrects a person.
    changed = [list(r) for r in GOOD]
    changed[0][2] = "Andi Baso Daeng"
    job_url = _job_url(_upload(client, _csv(changed), "koreksi.csv"))
    with app.app_context(), tenant_context(parepare.ref()):
        person = db.session.execute(sa.select(Person).where(Person.nik == GOOD[0][1])).scalar_one()
        person.name = "Andi Baso Lamude"
        db.session.commit()
        db.session.remove()
    run_burst()
    page = client.get(job_url)
    assert "Lihat 1 baris konflik" in text(page)
    conflicts = client.get(job_url.replace("/jobs/", "/transfers/import/") + "/conflicts")
    shown = text(conflicts)
    assert "Andi Baso Daeng" in shown and "Andi Baso Lamude" in shown
    assert "1 baris dapat diterapkan." in shown
    applying = _job_url(
        post(client, job_url.replace("/jobs/", "/transfers/import/") + "/conflicts")
    )
    run_burst()
    assert "Selesai" in text(client.get(applying))
    with app.app_context(), tenant_context(parepare.ref()):
        name = db.session.execute(
            sa.select(Person.name).where(Person.nik == GOOD[0][1])
        ).scalar_one()
        db.session.remove()
    assert name == "Andi Baso Daeng"
