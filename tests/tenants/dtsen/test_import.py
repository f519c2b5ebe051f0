"""SIKS-NG files imported as they come, through the API and the job worker: the header found
below a title row, columns recognised in several spellings, one mapped by hand and remembered,
matching by KK, by NIK and only through a family member's NIK, the dry run writing nothing, the
application writing each family's standing for its quarter, a desil change between two
quarters kept as history, and a re-import of the same quarter changing nothing."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.dtsen.models import DtsenMember, DtsenRecord
from slrt.tenants.registry.models import Household
from tests.fixtures import member
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.dtsen.files import (
    ANDI_KK,
    BACO_KK,
    BASE,
    BNBA_HEADER,
    HASNAH_KK,
    LOMPOE,
    PREVIOUS,
    RUDI,
    THIS,
    WA_ODE,
    WA_ODE_CHILD,
    WA_ODE_KK,
    bnba_xlsx,
    desil_csv,
    registry,
)


def upload(client, user, content: bytes, name: str, kind: str, period: str):
    return client.post(
        f"{BASE}/dtsen/imports",
        data={"file": (io.BytesIO(content), name), "kind": kind, "period": str(period)},
        headers=user.headers,
        content_type="multipart/form-data",
    )


def job(client, user, job_id: str) -> dict:
    body = client.get(f"{BASE}/jobs/{job_id}", headers=user.headers).json
    assert body["status"] == "succeeded", body["error_summary"]
    return body


def check_and_apply(client, user, dtsen_import: dict, mapping: list, save: bool = False):
    """(dry run job, application job) of an uploaded import."""
    url = f"{BASE}/dtsen/imports/{dtsen_import['id']}"
    checked = client.post(
        f"{url}/check", json={"mapping": mapping, "save_mapping": save}, headers=user.headers
    )
    assert checked.status_code == 202, checked.json
    run_burst()
    dry = job(client, user, checked.json["id"])
    applied = client.post(f"{url}/apply", headers=user.headers)
    assert applied.status_code == 202, applied.json
    run_burst()
    return dry, job(client, user, applied.json["id"])


def _records(app, tenant) -> list[DtsenRecord]:
    with app.app_context(), tenant_context(tenant.ref()):
        rows = list(
            db.session.execute(
                sa.select(DtsenRecord).order_by(DtsenRecord.period, DtsenRecord.kk_number)
            ).scalars()
        )
        db.session.expunge_all()
        db.session.remove()
    return rows


def _members(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant.ref()):
        count = db.session.execute(sa.select(sa.func.count()).select_from(DtsenMember)).scalar()
        db.session.remove()
    return count


def test_two_quarters_of_siks_ng_files(app, client, parepare) -> None:
    bo = member(app, parepare, "back_office")
    admin = member(app, parepare, "district_admin")
    households = registry(client, bo)

    # The BNBA of the previous quarter: title row, usual headers in several spellings.
    resp = upload(client, admin, bnba_xlsx(), "BNBA_DTSEN_PAREPARE.xlsx", "bnba", PREVIOUS)
    assert resp.status_code == 201, resp.json
    bnba = resp.json
    assert bnba["header_row"] == 2 and bnba["headers"] == BNBA_HEADER
    assert bnba["mapping"] == [
        None, "nik", "nama", "no_kk", "hubungan", "alamat", "kode_desa", "desil", None,
    ]  # fmt: skip
    # NIK and name are required; a field chosen twice is refused, each problem named.
    wrong = client.post(
        f"{BASE}/dtsen/imports/{bnba['id']}/check",
        json={"mapping": [None, None, "nama", "no_kk", None, None, None, "desil", "desil"]},
        headers=admin.headers,
    )
    assert wrong.status_code == 422
    problems = [e["message_en"] for e in wrong.json["errors"]]
    assert "Desil is chosen for more than one column." in problems
    assert "Choose the column holding the NIK: it is required." in problems
    assert _records(app, parepare) == []

    url = f"{BASE}/dtsen/imports/{bnba['id']}/check"
    checked = client.post(url, json={"mapping": bnba["mapping"]}, headers=admin.headers)
    assert checked.status_code == 202
    run_burst()
    dry = job(client, admin, checked.json["id"])
    counts = dry["counts"]
    assert (counts["good_rows"], counts["bad_rows"]) == (6, 1)
    assert (counts["families"], counts["new_families"]) == (3, 3)
    assert (counts["matched_kk"], counts["matched_member_nik"], counts["unmatched"]) == (1, 1, 1)
    assert counts["records_written"] == 0
    # The dry run wrote nothing, and shows the match rule per row.
    assert _records(app, parepare) == []
    preview = {row["nik"]: row for row in dry["result"]["preview"]}
    assert preview["7372011201700013"]["rule"] == "NIK anggota keluarga"
    assert preview[RUDI]["rule"] == "NIK" and preview[RUDI]["household_kk"] == BACO_KK
    assert preview[WA_ODE]["rule"] == "tidak cocok"
    assert "belum ada di registri" in preview[WA_ODE]["change"]
    names = {f["name"] for f in dry["files"]}
    assert {"pratinjau.csv", "pratinjau.xlsx", "laporan-kesalahan.csv"} <= names
    report = client.get(
        f"{BASE}/jobs/{dry['id']}/files/laporan-kesalahan.csv", headers=admin.headers
    )
    errors = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))[1:]
    assert [(e[0], e[1]) for e in errors] == [("9", "nik")]
    assert "tersimpan sebagai angka" in errors[0][3]

    applied = client.post(f"{BASE}/dtsen/imports/{bnba['id']}/apply", headers=admin.headers)
    assert applied.status_code == 202
    run_burst()
    done = job(client, admin, applied.json["id"])
    assert done["counts"]["records_written"] == 3
    assert (
        client.get(f"{BASE}/dtsen/imports/{bnba['id']}", headers=admin.headers).json["status"]
        == "applied"
    )
    records = _records(app, parepare)
    by_kk = {r.kk_number: r for r in records}
    assert by_kk[ANDI_KK].household_id is not None and by_kk[ANDI_KK].desil == 3
    assert str(by_kk["7372010101209999"].household_id) == households[BACO_KK]
    assert by_kk["7372010101209999"].match_rule == "member_nik"
    assert by_kk[WA_ODE_KK].household_id is None and by_kk[WA_ODE_KK].village_code == LOMPOE
    assert _members(app, parepare) == 6
    # The households' current fields follow the latest official standing.
    andi = client.get(f"{BASE}/households/{households[ANDI_KK]}", headers=bo.headers).json
    assert (andi["dtks_status"], andi["desil"]) == ("in_dtks", 3)

    # This quarter's desil file: one column the usual spellings do not know ("KK DTSEN").
    resp = upload(client, bo, desil_csv(), "desil.csv", "desil", THIS)
    desil = resp.json
    assert desil["mapping"] == [None, "nik", "nama", "desil"]
    mapping = ["no_kk", "nik", "nama", "desil"]
    dry, done = check_and_apply(client, bo, desil, mapping, save=True)
    assert dry["counts"]["new_families"] == 3 and dry["counts"]["desil_changed_since_previous"] == 1
    assert dry["counts"]["matched_nik"] == 1  # Rudi, without a KK number in the file
    changed = next(r for r in dry["result"]["preview"] if r["kk"] == ANDI_KK)
    assert f"desil berubah dari {PREVIOUS}: 3 menjadi 2" in changed["change"]
    assert done["counts"]["records_written"] == 3
    andi = client.get(f"{BASE}/households/{households[ANDI_KK]}", headers=bo.headers).json
    assert (andi["dtks_status"], andi["desil"]) == ("in_dtks", 2)

    # Nothing was overwritten: the family's history holds both quarters, newest first.
    history = client.get(
        f"{BASE}/dtsen/households/{households[ANDI_KK]}/history", headers=bo.headers
    ).json
    assert [(r["period"], r["desil"], r["source"]) for r in history["records"]] == [
        (str(THIS), 2, "import"),
        (str(PREVIOUS), 3, "import"),
    ]
    assert history["current"]["period"] == str(THIS) and not history["current"]["stale"]

    # The same file again: the hand-made mapping is remembered, and nothing changes.
    before = _records(app, parepare)
    again = upload(client, bo, desil_csv(), "desil.csv", "desil", THIS).json
    assert again["mapping"] == mapping
    dry, done = check_and_apply(client, bo, again, again["mapping"])
    assert (dry["counts"]["unchanged_families"], dry["counts"]["new_families"]) == (3, 0)
    assert done["counts"]["records_written"] == 0
    assert done["counts"]["households_updated"] == 0
    assert [r.id for r in _records(app, parepare)] == [r.id for r in before]

    # Reconciliation of Lompoe for this quarter.
    with app.app_context(), tenant_context(parepare.ref()):
        from slrt.tenants.regions.models import Village

        village_id = db.session.execute(
            sa.select(Village.id).where(Village.code == LOMPOE)
        ).scalar_one()
        db.session.remove()
    rec = client.get(f"{BASE}/dtsen/villages/{village_id}/reconciliation", headers=bo.headers).json
    assert rec["period"] == str(THIS) and rec["previous_period"] == str(PREVIOUS)
    lists = rec["lists"]
    assert [r["no_kk"] for r in lists["not_in_registry"]] == [WA_ODE_KK]
    assert [r["no_kk"] for r in lists["not_in_dtsen"]] == [HASNAH_KK]
    assert [(r["no_kk"], r["desil_sebelumnya"], r["desil_sekarang"]) for r in
            lists["desil_changed"]] == [(ANDI_KK, 3, 2)]  # fmt: skip
    assert [r["nik"] for r in lists["unknown_members"]] == [WA_ODE]
    # The previous quarter: Wa Ode's child was listed then, unknown to the registry too.
    old = client.get(
        f"{BASE}/dtsen/villages/{village_id}/reconciliation?period={PREVIOUS}", headers=bo.headers
    ).json
    assert {r["nik"] for r in old["lists"]["unknown_members"]} == {
        WA_ODE,
        WA_ODE_CHILD,
        "7372011201700013",
    }
    with app.app_context(), tenant_context(parepare.ref()):
        hasnah = db.session.execute(
            sa.select(Household).where(Household.kk_number == HASNAH_KK)
        ).scalar_one()
        assert hasnah.dtks_status == "unknown"
        db.session.remove()
