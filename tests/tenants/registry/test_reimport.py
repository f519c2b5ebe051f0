"""Re-importing a file never loses what was corrected in the system: empty cells keep stored
values, persons changed after the upload are held back as conflicts (both values in the
report) and written only when the district applies them, persons outside the uploader's region
are left alone."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Person
from tests.fixtures import member
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.registry.test_import_export import GOOD, _csv, _upload

ANDI, SITTI = "7372010305800001", "7372014708850002"
JOBS = "/api/v1/t/parepare/jobs"


def _person(app, tenant, nik: str) -> Person:
    with app.app_context(), tenant_context(tenant.ref()):
        person = db.session.execute(sa.select(Person).where(Person.nik == nik)).scalar_one()
        db.session.expunge(person)
        db.session.remove()
    return person


def _job(client, user, job_id: str) -> dict:
    return client.get(f"{JOBS}/{job_id}", headers=user.headers).get_json()


def _report(client, user, job_id: str) -> list[list[str]]:
    data = client.get(f"{JOBS}/{job_id}/files/laporan-kesalahan.csv", headers=user.headers).data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]


def _correct(app, client, tenant, nik: str, **changes: str) -> None:
    """A facilitator corrects a person through the API, as on a visit."""
    facilitator = member(app, tenant, "facilitator")
    url = f"/api/v1/t/parepare/persons/{_person(app, tenant, nik).id}"
    etag = client.get(url, headers=facilitator.headers).headers["ETag"]
    resp = client.patch(url, json=changes, headers={**facilitator.headers, "If-Match": etag})
    assert resp.status_code == 200, resp.get_json()


def test_an_older_file_keeps_newer_edits_and_its_empty_cells_erase_nothing(
    app, client, parepare, parepare_admin
) -> None:
    _upload(client, parepare_admin, _csv(GOOD))
    run_burst()
    # The older file: Andi under his name as it was, phones and a birth place left empty.
    older = [list(row) for row in GOOD]
    older[0][2], older[0][8] = "Andi Basso", ""
    older[1][4], older[1][8] = "", ""
    job_id = _upload(client, parepare_admin, _csv(older)).get_json()["id"]
    # While the upload waits for a worker, a facilitator corrects Andi's name and phone.
    _correct(app, client, parepare, ANDI, name="Andi Baso Daeng", phone="081234567890")
    run_burst()

    job = _job(client, parepare_admin, job_id)
    assert job["status"] == "succeeded", job["error_summary"]
    counts = job["counts"]
    assert (counts["conflict_rows"], counts["persons_updated"], counts["persons_unchanged"]) == (
        1,
        0,
        2,
    )
    assert "1 baris konflik" in job["progress"]["message"]
    andi = _person(app, parepare, ANDI)
    assert (andi.name, andi.phone) == ("Andi Baso Daeng", "081234567890")
    assert _person(app, parepare, SITTI).birth_place == "Parepare"  # empty cell: kept
    [line] = _report(client, parepare_admin, job_id)
    assert line[:3] == ["2", "nama", "Andi Basso"] and line[5] == "Andi Baso Daeng"
    assert "Konflik: diubah di sistem pada" in line[3] and "WITA" in line[3]
    assert "after this file was uploaded" in line[4]

    # The district decides the file is right after all: exactly the held row is written.
    apply = client.post(
        f"/api/v1/t/parepare/imports/registry/{job_id}/apply-conflicts",
        headers=parepare_admin.headers,
    )
    assert apply.status_code == 202, apply.get_json()
    applied_id = apply.get_json()["id"]
    run_burst()
    applied = _job(client, parepare_admin, applied_id)
    assert applied["status"] == "succeeded", applied["error_summary"]
    assert (applied["counts"]["persons_updated"], applied["counts"]["rows"]) == (1, 1)
    andi = _person(app, parepare, ANDI)
    assert (andi.name, andi.phone) == ("Andi Basso", "081234567890")  # the blank phone: kept
    with app.app_context(), tenant_context(parepare.ref()):
        event = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "registry.import.apply_conflicts")
        ).scalar_one()
        assert event.actor_account_id == parepare_admin.account_id
        assert event.entity_id == job_id and event.after["persons_updated"] == 1
        db.session.remove()
    again = client.post(
        f"/api/v1/t/parepare/imports/registry/{job_id}/apply-conflicts",
        headers=parepare_admin.headers,
    )
    assert again.status_code == 409


def test_applying_holds_back_a_person_changed_again_after_the_decision(
    app, client, parepare, parepare_admin
) -> None:
    _upload(client, parepare_admin, _csv(GOOD))
    run_burst()
    older = [list(row) for row in GOOD]
    older[0][2] = "Andi Basso"
    job_id = _upload(client, parepare_admin, _csv(older)).get_json()["id"]
    _correct(app, client, parepare, ANDI, name="Andi Baso Daeng")
    run_burst()
    apply = client.post(
        f"/api/v1/t/parepare/imports/registry/{job_id}/apply-conflicts",
        headers=parepare_admin.headers,
    ).get_json()
    _correct(app, client, parepare, ANDI, name="Andi Baso Daeng Matta")  # before the job runs
    run_burst()
    applied = _job(client, parepare_admin, apply["id"])
    assert applied["counts"]["conflict_rows"] == 1
    assert _person(app, parepare, ANDI).name == "Andi Baso Daeng Matta"
    [line] = _report(client, parepare_admin, apply["id"])
    assert line[2] == "Andi Basso" and line[5] == "Andi Baso Daeng Matta"


def test_persons_outside_the_uploaders_region_are_left_alone(
    app, client, parepare, parepare_admin
) -> None:
    _upload(client, parepare_admin, _csv(GOOD))
    run_burst()
    # A back office of kecamatan 73.72.02 imports a row naming Andi (registered in 73.72.01).
    back_office = member(
        app, parepare, "back_office", scope_kind="kecamatan", scope_codes=["73.72.02"]
    )
    moved = ["7372020101200099", ANDI, "Andi Pindah", "L", "", "", "", "", "", "73.72.02.1001", ""]
    job_id = _upload(client, back_office, _csv([moved])).get_json()["id"]
    run_burst()
    job = _job(client, back_office, job_id)
    assert job["counts"]["out_of_region_rows"] == 1
    assert _person(app, parepare, ANDI).name == "Andi Baso"
    [line] = _report(client, back_office, job_id)
    assert line[:2] == ["2", "nik"] and "di luar wilayah tugas Anda" in line[3]
    assert line[5] == "" and "Andi Baso" not in ",".join(line)  # nothing of the stored record


def test_a_nik_registered_while_its_batch_is_written_is_held_back_and_the_rest_written(
    app, parepare
) -> None:
    """A front office registers one of the file's NIKs after the batch looked its stored persons
    up and before it writes: the batch's plain inserts meet the unique key, their savepoint
    goes, and the guarded write takes the batch's other rows; the newcomer is compared as a
    stored person (here it differs: held back, with its stored name in the report)."""
    import datetime as dt
    import threading

    from slrt.platform.jobs.actions import enqueue
    from slrt.platform.tabular.conflicts import conflict_errors
    from slrt.platform.tabular.validate import validate_rows
    from slrt.tenants.regions.models import Village
    from slrt.tenants.registry.jobs import RegistryWriter, region_test, registry_sheet
    from slrt.tenants.registry.models import NikRegistration
    from tests.tenants.registry.test_import_export import GOOD

    baco = GOOD[2][1]
    front_office = member(app, parepare, "front_office")
    raced: list[int] = []

    def register_baco() -> None:
        resp = app.test_client().post(
            "/api/v1/t/parepare/persons",
            json={"nik": baco, "name": "Baco Lain", "village_code": GOOD[2][9]},
            headers=front_office.headers,
        )
        raced.append(resp.status_code)

    def between_read_and_write(conn, cursor, statement, *args) -> None:
        # The batch's own first insert of persons (the front office's is on its own thread).
        if (
            threading.current_thread() is importer
            and statement.lstrip().startswith("INSERT INTO persons")
            and not raced
        ):
            other = threading.Thread(target=register_baco)
            other.start()
            other.join()

    importer = threading.current_thread()

    with app.app_context(), tenant_context(parepare.ref()):
        job = enqueue("registry.import", {})
        villages = set(db.session.execute(sa.select(Village.code)).scalars())
        header = [["no_kk", "nik", "nama", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
                   "hubungan", "disabilitas", "telepon", "kode_desa", "alamat"]]  # fmt: skip
        cells = enumerate(header + [list(r) for r in GOOD], start=1)
        batch = [(v.row, v.values) for v in validate_rows(registry_sheet(villages, {}), cells)]
        writer = RegistryWriter(job.id, dt.datetime.now(dt.UTC), region_test({}))
        sa.event.listen(db.engine(), "before_cursor_execute", between_read_and_write)
        try:
            counts = writer(batch)
        finally:
            sa.event.remove(db.engine(), "before_cursor_execute", between_read_and_write)
        assert raced == [201]
        assert (counts["persons_inserted"], counts["conflict_rows"]) == (2, 1)
        names = dict(db.session.execute(sa.select(Person.nik, Person.name)).all())
        assert names == {GOOD[0][1]: GOOD[0][2], GOOD[1][1]: GOOD[1][2], baco: "Baco Lain"}
        registered = db.session.execute(sa.select(sa.func.count()).select_from(NikRegistration))
        assert registered.scalar() == 3  # each NIK once: the newcomer's by its own registration
        held = {e.column: e for e in conflict_errors(job.id)}
        assert {e.row for e in held.values()} == {4}  # Baco's row, each differing cell
        assert (held["nama"].value, held["nama"].stored) == ("Baco", "Baco Lain")
        db.session.rollback()
