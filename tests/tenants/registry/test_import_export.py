"""Registry import and exports as background jobs, through the API, on real PostgreSQL/Redis."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.jobs import TEMPLATE
from slrt.tenants.registry.models import Household, NikRegistration, Person
from tests.fixtures import member
from tests.platform.jobs.test_jobs import _kill_tree, _wait_for, _worker_process, job_row, run_burst

# Valid Parepare rows: kecamatan 73.72.01 (Bacukiki), villages 73.72.01.1004 and 73.72.02.1001.
GOOD = [
    # no_kk, nik, nama, jk, tempat, tanggal, hubungan, disabilitas, telepon, kode_desa, alamat
    ["7372010101200001", "7372010305800001", "Andi Baso", "L", "Parepare", "03/05/1980",
     "kepala keluarga", "tidak", "0812", "73.72.01.1004", "Jl. Lompoe 1"],
    ["7372010101200001", "7372014708850002", "Sitti Aminah Daéng", "P", "Parepare", "07/08/1985",
     "istri", "tidak", "", "73.72.01.1004", "Jl. Lompoe 1"],
    ["7372020101200002", "7372020101100003", "Baco", "L", "", "01/01/2010",
     "anak", "ya", "", "73.72.02.1001", ""],
]  # fmt: skip
BAD = [
    # NIK in scientific notation
    ["7372010101200003", "7.37E+15", "Rusak Satu", "L", "", "01/01/1990", "", "", "", "73.72.01.1004", ""],
    # 15-digit KK (lost zero)
    ["737201010120004", "7372010101900004", "Rusak Dua", "L", "", "01/01/1990", "", "", "", "73.72.01.1004", ""],
    # Excel serial date
    ["7372010101200005", "7372010101900005", "Rusak Tiga", "L", "", "32874", "", "", "", "73.72.01.1004", ""],
    # NIK kecamatan not in the reference (the registry's own NIK validator)
    ["7372010101200006", "9999990101900006", "Rusak Empat", "L", "", "01/01/1990", "", "", "", "73.72.01.1004", ""],
    # sex disagrees with the NIK (day + 40 means P)
    ["7372010101200007", "7372014101900007", "Rusak Lima", "L", "", "01/01/1990", "", "", "", "73.72.01.1004", ""],
    # village of another district
    ["7372010101200008", "7372010101900008", "Rusak Enam", "L", "", "01/01/1990", "", "", "", "33.24.01.2001", ""],
    # formula in a name of an otherwise bad row (unknown relation)
    ["7372010101200009", "7372010101900009", "=HYPERLINK(\"x\")", "L", "", "01/01/1990", "sepupu", "", "", "73.72.01.1004", ""],
]  # fmt: skip


def _csv(rows: list[list[str]], delimiter: str = ";") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(TEMPLATE)
    w.writerows(rows)
    return buf.getvalue().encode("cp1252")


def _upload(client, user, content: bytes, name: str = "data.csv"):
    return client.post(
        "/api/v1/t/parepare/imports/registry",
        data={"file": (io.BytesIO(content), name)},
        headers=user.headers,
        content_type="multipart/form-data",
    )


def _counts(app, tenant) -> tuple[int, int]:
    with app.app_context(), tenant_context(tenant.ref()):
        persons = db.session.execute(sa.select(sa.func.count()).select_from(Person)).scalar()
        households = db.session.execute(sa.select(sa.func.count()).select_from(Household)).scalar()
        db.session.remove()
    return persons, households


def test_import_through_the_api_reports_every_bad_row_and_reruns_change_nothing(
    app, client, parepare, kendal, parepare_admin
) -> None:
    resp = _upload(client, parepare_admin, _csv(GOOD + BAD))
    assert resp.status_code == 202, resp.get_json()
    job_id = resp.get_json()["id"]
    assert resp.headers["Location"].endswith(f"/api/v1/t/parepare/jobs/{job_id}")
    run_burst()
    body = client.get(f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers)
    job = body.get_json()
    assert job["status"] == "succeeded", job["error_summary"]
    counts = job["counts"]
    assert (counts["good_rows"], counts["bad_rows"]) == (3, 7)
    assert (counts["persons_inserted"], counts["households_inserted"]) == (3, 2)
    assert counts["encoding"] == "cp1252" and counts["delimiter"] == ";"
    assert _counts(app, parepare) == (3, 2)

    report = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}/files/laporan-kesalahan.csv",
        headers=parepare_admin.headers,
    )
    rows = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))[1:]
    assert [(r[0], r[1]) for r in rows] == [
        ("5", "nik"),
        ("6", "no_kk"),
        ("7", "tanggal_lahir"),
        ("8", "nik"),
        ("9", "nik"),
        ("10", "kode_desa"),
        ("11", "hubungan"),
    ]
    assert "notasi ilmiah" in rows[0][3] and "15 digit" in rows[1][3]
    assert "nomor seri Excel" in rows[2][3] and "kecamatan" in rows[3][3]
    assert "Jenis kelamin" in rows[4][3] and "tidak ada di kabupaten/kota" in rows[5][3]
    xlsx = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}/files/laporan-kesalahan.xlsx",
        headers=parepare_admin.headers,
    )
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 8

    with app.app_context(), tenant_context(parepare.ref()):
        sitti = db.session.execute(
            sa.select(Person).where(Person.nik == "7372014708850002")
        ).scalar_one()
        assert (sitti.sex, sitti.relation, str(sitti.birth_date)) == ("P", "istri", "1985-08-07")
        andi = db.session.execute(
            sa.select(Person).where(Person.nik == "7372010305800001")
        ).scalar_one()
        assert andi.household_id == sitti.household_id
        db.session.remove()
    with app.app_context():
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(NikRegistration)).scalar()
            == 3
        )
        db.session.remove()

    # The same file again (as XLSX this time): nothing changes.
    wb = Workbook()
    wb.active.append(TEMPLATE)
    for row in GOOD:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    again = _upload(client, parepare_admin, out.getvalue(), "lagi.xlsx").get_json()
    run_burst()
    rerun = client.get(f"/api/v1/t/parepare/jobs/{again['id']}", headers=parepare_admin.headers)
    assert rerun.get_json()["counts"]["persons_unchanged"] == 3
    assert rerun.get_json()["counts"].get("persons_inserted") == 0
    assert _counts(app, parepare) == (3, 2)
    assert _counts(app, kendal) == (0, 0)


def test_upload_that_is_not_a_spreadsheet_is_refused_before_any_job(
    app, client, parepare, parepare_admin
) -> None:
    resp = _upload(client, parepare_admin, b"%PDF-1.7 ...", "data.xlsx")
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "file"
    listed = client.get("/api/v1/t/parepare/jobs", headers=parepare_admin.headers).get_json()
    assert listed == []


def test_import_needs_imports_run_and_foreigners_get_404(
    app, client, parepare, kendal, kendal_admin
) -> None:
    facilitator = member(app, parepare, "facilitator")
    assert _upload(client, facilitator, _csv(GOOD)).status_code == 403
    assert _upload(client, kendal_admin, _csv(GOOD)).status_code == 404


def _big_csv(n: int) -> bytes:
    rows = []
    for i in range(n):
        day, month = 1 + i % 28, 1 + (i // 28) % 12
        nik = f"737201{day:02d}{month:02d}80{1 + i // 336:04d}"
        rows.append(
            [f"7372010101{i // 4:06d}", nik, f"Warga {i}", "L", "", f"{day:02d}/{month:02d}/1980",
             "", "", "", "73.72.01.1004", ""]
        )  # fmt: skip
    return _csv(rows, delimiter=",")


def test_worker_killed_mid_import_completes_with_exactly_the_right_rows(
    services, app, client, parepare, parepare_admin
) -> None:
    from slrt.platform.jobs.scheduler import tick

    n = 30000
    resp = _upload(client, parepare_admin, _big_csv(n))
    job_id = uuid.UUID(resp.get_json()["id"])
    first = _worker_process(services)
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done >= 2000, 120, 0.05)
    finally:
        _kill_tree(first)
    killed = job_row(app, parepare, job_id)
    assert killed.status == "running"
    assert 0 < _counts(app, parepare)[0] < n  # some batches in, some not

    second = _worker_process(services)
    try:

        def scheduler_round() -> None:
            with app.app_context():
                tick()

        _wait_for(
            lambda: job_row(app, parepare, job_id).status == "succeeded", 180, 0.5, scheduler_round
        )
    finally:
        _kill_tree(second)
    done = job_row(app, parepare, job_id)
    assert done.attempts == 2
    assert _counts(app, parepare) == (n, n // 4)
    assert done.counts["persons_inserted"] == n and done.counts["good_rows"] == n
    assert done.counts["bad_rows"] == 0


def test_exports_follow_the_requesters_region_and_are_audited(
    app, client, parepare, parepare_admin
) -> None:
    _upload(client, parepare_admin, _csv(GOOD))
    run_burst()
    # a name that a spreadsheet would run as a formula
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(Person).where(Person.nik == "7372020101100003").values(name="=1+2")
        )
        db.session.commit()
        db.session.remove()
    manager = member(app, parepare, "manager", scope_kind="kecamatan", scope_codes=["73.72.02"])
    for user, fmt, expected in (
        (parepare_admin, "csv", {"7372010305800001", "7372014708850002", "7372020101100003"}),
        (manager, "xlsx", {"7372020101100003"}),
    ):
        resp = client.post(
            "/api/v1/t/parepare/exports/registry", json={"format": fmt}, headers=user.headers
        )
        assert resp.status_code == 202, resp.get_json()
        job_id = resp.get_json()["id"]
        run_burst()
        job = client.get(f"/api/v1/t/parepare/jobs/{job_id}", headers=user.headers).get_json()
        assert job["status"] == "succeeded", job["error_summary"]
        data = client.get(
            f"/api/v1/t/parepare/jobs/{job_id}/files/registri.{fmt}", headers=user.headers
        ).data
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        else:
            ws = load_workbook(io.BytesIO(data), read_only=True).active
            rows = [
                ["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)
            ]
        assert rows[0] == TEMPLATE
        assert {r[1] for r in rows[1:]} == expected
        baco = next(r for r in rows[1:] if r[1] == "7372020101100003")
        assert baco[2] == "'=1+2"
    with app.app_context(), tenant_context(parepare.ref()):
        events = (
            db.session.execute(
                sa.select(AuditEvent)
                .where(AuditEvent.kind == "export")
                .order_by(AuditEvent.occurred_at)
            )
            .scalars()
            .all()
        )
        assert [(e.action, e.actor_account_id, e.after["rows"]) for e in events] == [
            ("person.export", parepare_admin.account_id, 3),
            ("person.export", manager.account_id, 1),
        ]
        assert events[1].note == "scope=kecamatan:73.72.02"
        db.session.remove()


def test_cases_and_referrals_exports(app, client, owner_engine) -> None:
    from slrt.platform.commands.demo import load_demo
    from slrt.platform.tenant import Tenant

    with app.app_context():
        load_demo()
        parepare = db.session.execute(
            sa.select(Tenant).where(Tenant.slug == "parepare")
        ).scalar_one()
        db.session.expunge(parepare)
        db.session.remove()
    admin = member(app, parepare, "district_admin")
    run_burst()  # the demo's own jobs
    for what, stem in (("cases", "kasus"), ("referrals", "rujukan")):
        resp = client.post(f"/api/v1/t/parepare/exports/{what}", json={}, headers=admin.headers)
        assert resp.status_code == 202
        job_id = resp.get_json()["id"]
        run_burst()
        job = client.get(f"/api/v1/t/parepare/jobs/{job_id}", headers=admin.headers).get_json()
        assert job["status"] == "succeeded", job["error_summary"]
        data = client.get(
            f"/api/v1/t/parepare/jobs/{job_id}/files/{stem}.xlsx", headers=admin.headers
        ).data
        rows = list(
            load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True)
        )
        assert rows[0][0] == "nomor_tiket"
        assert len(rows) >= 2 and all(r[0].startswith("7372-") for r in rows[1:])
    bad = client.post(
        "/api/v1/t/parepare/exports/cases", json={"format": "pdf"}, headers=admin.headers
    )
    assert bad.status_code == 422


# --- files as districts really send them ---------------------------------------------------


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    wb.active.append(TEMPLATE)
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _run(client, user, content: bytes, name: str = "data.csv") -> dict:
    resp = _upload(client, user, content, name)
    assert resp.status_code == 202, resp.get_json()
    run_burst()
    return client.get(
        f"/api/v1/t/parepare/jobs/{resp.get_json()['id']}", headers=user.headers
    ).get_json()


def _report_rows(client, user, job: dict) -> list[list[str]]:
    data = client.get(
        f"/api/v1/t/parepare/jobs/{job['id']}/files/laporan-kesalahan.csv", headers=user.headers
    ).data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]


def test_a_dtks_file_with_dates_in_several_forms_is_taken_whole(
    app, client, parepare, parepare_admin
) -> None:
    """Date cells first, then ISO text, then Indonesian month names: two thirds of such a file
    used to be refused for "mixed formats"."""
    rows = []
    for i in range(30):
        day, serial = 13 + i % 15, f"{i + 1:04d}"
        born = dt.date(1980 + i // 10, 1 + i // 10, day)
        cell = (
            dt.datetime.combine(born, dt.time())
            if i < 10
            else born.isoformat()
            if i < 20
            else f"{day} {('Januari', 'Februari', 'Maret')[i // 10]} {born.year}"
        )
        rows.append(
            [f"7372010101{200000 + i // 3:06d}", f"737201{day:02d}{born:%m%y}{serial}",
             f"Warga {i}", "L", "Parepare", cell, "", "tidak", "", "73.72.01.1004", "Jl. Lompoe"]
        )  # fmt: skip
    job = _run(client, parepare_admin, _xlsx(rows), "dtks.xlsx")
    assert job["status"] == "succeeded", job["error_summary"]
    assert (job["counts"]["good_rows"], job["counts"]["bad_rows"]) == (30, 0)
    assert job["counts"]["persons_inserted"] == 30


def test_a_date_that_reads_two_ways_is_settled_by_the_nik(
    app, client, parepare, parepare_admin
) -> None:
    rows = [
        # 04/03/1980 next to a NIK born 4 March 1980: day first
        ["7372010101200001", "7372010403800001", "Andi", "L", "", "04/03/1980", "", "", "", "73.72.01.1004", ""],
        # the same text next to a woman's NIK born 3 April 1980 (day + 40): month first
        ["7372010101200001", "7372014304800002", "Sitti", "P", "", "04/03/1980", "", "", "", "73.72.01.1004", ""],
        # a NIK that agrees with neither reading: refused, naming both
        ["7372010101200001", "7372010101800003", "Baco", "L", "", "04/03/1980", "", "", "", "73.72.01.1004", ""],
    ]  # fmt: skip
    job = _run(client, parepare_admin, _csv(rows))
    assert (job["counts"]["good_rows"], job["counts"]["bad_rows"]) == (2, 1)
    [error] = _report_rows(client, parepare_admin, job)
    assert error[:2] == ["4", "tanggal_lahir"] and "tanggal lahir di NIK (01-01-1980)" in error[3]
    with app.app_context(), tenant_context(parepare.ref()):
        born = dict(db.session.execute(sa.select(Person.name, Person.birth_date)).all())
        db.session.remove()
    assert born == {"Andi": dt.date(1980, 3, 4), "Sitti": dt.date(1980, 4, 3)}


def test_a_repeated_nik_is_refused_and_the_first_household_keeps_its_member(
    app, client, parepare, parepare_admin
) -> None:
    rows = [
        ["7372010101200001", "7372010305800001", "Andi Baso", "L", "", "", "kepala keluarga", "", "", "73.72.01.1004", "Jl. Lompoe 1"],
        ["7372010101200002", "7372010305800001", "Andi Baso", "L", "", "", "anak", "", "", "73.72.01.1004", "Jl. Lompoe 9"],
    ]  # fmt: skip
    job = _run(client, parepare_admin, _csv(rows))
    assert (job["counts"]["good_rows"], job["counts"]["bad_rows"]) == (1, 1)
    [error] = _report_rows(client, parepare_admin, job)
    assert error[:3] == ["3", "nik", "7372010305800001"] and "sudah ada di baris 2" in error[3]
    with app.app_context(), tenant_context(parepare.ref()):
        kk = db.session.execute(
            sa.select(Household.kk_number)
            .join(Person, Person.household_id == Household.id)
            .where(Person.nik == "7372010305800001")
        ).scalar_one()
        db.session.remove()
    assert kk == "7372010101200001"


def test_a_row_with_a_bad_cell_still_hears_about_its_nik(
    app, client, parepare, parepare_admin
) -> None:
    # no name, and the sex disagrees with the NIK (day + 40 is a woman)
    rows = [
        ["7372010101200001", "7372014708850002", "", "L", "", "", "", "", "", "73.72.01.1004", ""]
    ]
    job = _run(client, parepare_admin, _csv(rows))
    errors = _report_rows(client, parepare_admin, job)
    assert [(e[1], e[3].split(" ")[0]) for e in errors] == [("nama", "Nama"), ("nik", "Jenis")]


def test_a_file_with_only_its_header_says_it_held_no_rows(
    app, client, parepare, parepare_admin
) -> None:
    job = _run(client, parepare_admin, _xlsx([]), "kosong.xlsx")
    assert job["status"] == "succeeded"
    assert job["counts"]["rows"] == 0 and "tanpa baris data" in job["progress"]["message"]
    assert job["result"]["notice_en"] == (
        "The file holds only the header row, no data rows: nothing was imported."
    )


def test_a_nul_byte_in_a_cell_refuses_that_row_not_the_import(
    app, client, parepare, parepare_admin
) -> None:
    """It used to fail the whole job after three attempts, with the SQL in its error."""
    rows = [list(r) for r in GOOD]
    rows[1][2] = "Sitti\x00Aminah"
    job = _run(client, parepare_admin, _csv(rows, delimiter=",").decode("cp1252").encode())
    assert job["status"] == "succeeded" and job["attempts"] == 1, job["error_summary"]
    assert (job["counts"]["good_rows"], job["counts"]["bad_rows"]) == (2, 1)
    [error] = _report_rows(client, parepare_admin, job)
    assert error[:2] == ["3", "nama"] and "karakter kontrol" in error[3]


def test_a_name_stored_with_control_characters_exports_to_xlsx(
    app, client, parepare, parepare_admin
) -> None:
    """Every Excel export of the district failed (and each try took from the export quota)."""
    _run(client, parepare_admin, _csv(GOOD))
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(Person).where(Person.nik == "7372010305800001").values(name="Andi\x01Baso")
        )
        db.session.commit()
        db.session.remove()
    resp = client.post(
        "/api/v1/t/parepare/exports/registry",
        json={"format": "xlsx"},
        headers=parepare_admin.headers,
    )
    run_burst()
    job = client.get(
        f"/api/v1/t/parepare/jobs/{resp.get_json()['id']}", headers=parepare_admin.headers
    ).get_json()
    assert job["status"] == "succeeded", job["error_summary"]
    data = client.get(
        f"/api/v1/t/parepare/jobs/{job['id']}/files/registri.xlsx", headers=parepare_admin.headers
    ).data
    names = [
        r[2]
        for r in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True)
    ]
    assert "Andi\u2401Baso" in names


def test_a_nik_typed_with_an_apostrophe_is_named_so(app, client, parepare) -> None:
    fo = member(app, parepare, "front_office")
    resp = client.post(
        "/api/v1/t/parepare/persons",
        json={"nik": "'7372010305800001", "name": "Andi", "village_code": "73.72.01.1004"},
        headers=fo.headers,
    )
    assert resp.status_code == 422
    assert "tanda petik" in resp.get_json()["errors"][0]["message"]
