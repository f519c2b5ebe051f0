"""The program pages: the district's list, enabling a program of the national catalog for a local
agency, adding a local program with its rule (problems at line and column from the form and
from the rule check the page's script calls), changing it with the conflict choice, trying the
rule on a resident or on typed facts, the versions with who changed what, and permissions."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.tenants.programs.actions import update_program
from slrt.tenants.programs.models import Program
from tests.fixtures import flow_catalog
from tests.tenants.districts.pages import form_fields, in_district, post, resident, signed_in, text

P = "/t/parepare"
RULE = "umur >= 60 and terdaftar_dtks and desil <= 4"
LOCAL = {
    "code": "ASLUT-PRE",
    "name": "Asistensi Lansia Parepare",
    "sector": "cash_transfer",
    "owner": "Pemerintah Kota Parepare",
    "funding": "apbd",
    "required_documents": "KTP (NIK)\nKartu Keluarga (KK)",
    "deadline_days": "21",
    "rule_text": RULE,
}


def _new_local(client, ids, **changes):
    return post(client, f"{P}/programs/new", {**LOCAL, "agency_id": str(ids["dinsos"]), **changes})


def test_add_a_local_program_with_a_rule(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    form = client.get(f"{P}/programs/new")
    assert form.status_code == 200
    assert 'data-rule-check="/t/parepare/programs/rules/check"' in form.text
    assert "umur" in text(form) and "age" in text(form)  # the facts in both languages
    wrong = _new_local(client, ids, rule_text="umur >= 60 and\n  terdaftar_dtks and desil <=")
    assert wrong.status_code == 422
    words = text(wrong)
    assert "Baris 2, kolom 30" in words and "aturan berhenti di tengah" in words
    assert _count(app, parepare) == 0  # nothing saved
    assert "desil &lt;=" in wrong.text  # the rule typed is kept, escaped
    unknown = _new_local(client, ids, rule_text="usia >= 60")
    assert "Baris 1, kolom 1" in text(unknown) and "umur" in text(unknown)
    missing = _new_local(client, ids, code="x", deadline_days="0", agency_id="")
    assert missing.status_code == 422
    for name in ("code", "deadline_days", "agency_id"):
        assert f'id="f-{name}-error"' in missing.text
    done = _new_local(client, ids)
    assert done.status_code == 302
    page = text(client.get(done.headers["Location"]))
    assert "ASLUT-PRE · Asistensi Lansia Parepare" in page
    assert RULE in page and "21 hari" in page and "Dinas Sosial" in page
    assert "umur / age" in page and "terdaftar_dtks / in_dtks" in page
    taken = _new_local(client, ids)
    assert taken.status_code == 409 and 'id="f-code-error"' in taken.text


def _count(app, tenant) -> int:
    with in_district(app, tenant):
        return db.session.execute(
            sa.select(sa.func.count()).select_from(Program).where(Program.code == "ASLUT-PRE")
        ).scalar()


def test_checking_the_rule_without_saving(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    checked = _new_local(client, ids, action="check", rule_text="umur >= 60 and")
    assert checked.status_code == 422
    assert "Baris 1, kolom 15" in text(checked)
    good = _new_local(client, ids, action="check")
    assert good.status_code == 200 and "Aturan benar." in text(good)
    assert _count(app, parepare) == 0


def test_the_rule_check_the_page_script_calls(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/programs/rules/check"
    wrong = post(client, url, {"rule_text": "umur >= 60 and\ndesil <= 11"}).json
    assert wrong["valid"] is False
    (problem,) = wrong["problems"]
    assert (problem["line"], problem["column"]) == (2, 10)
    assert problem["where"] == "Baris 2, kolom 10"
    assert "hanya bernilai 1 sampai 10" in problem["message"]
    assert problem["excerpt"] == "desil <= 11" and problem["caret"] == " " * 9 + "^"
    right = post(client, url, {"rule_text": "jenis_kelamin == 'P' or age >= 60"}).json
    assert right == {
        "valid": True,
        "summary": "Aturan benar.",
        "problems": [],
        "fields_used": ["sex", "age"],
    }
    assert post(client, url, {"rule_text": ""}).json["summary"].startswith("Tanpa aturan")
    english = post(client, url + "?lang=en", {"rule_text": "desil <="}).json
    assert english["problems"][0]["where"] == "Line 1, column 9"
    assert "ends too early" in english["problems"][0]["message"]
    assert post(client, url, {}).status_code == 422
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")  # programs.read is enough
    assert post(viewer, url, {"rule_text": "age >= 1"}).json["valid"] is True


def test_enable_a_national_program_for_a_local_agency(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)  # PBI-JK and BPNT enabled already
    client, _ = signed_in(app, monkeypatch, parepare)
    catalog = text(client.get(f"{P}/programs/national"))
    assert "Aktifkan PKH" in catalog and "Aktifkan BPNT" not in catalog
    with in_district(app, parepare):
        pkh = db.session.execute(
            sa.text("SELECT id FROM national_programs WHERE code = 'PKH'")
        ).scalar()
    no_agency = post(client, f"{P}/programs/national", {"national_program_id": str(pkh)})
    assert no_agency.status_code == 422
    assert "OPD yang menangani: Wajib diisi." in text(no_agency)
    done = post(
        client,
        f"{P}/programs/national",
        {"national_program_id": str(pkh), "agency_id": str(ids["dinsos"])},
        follow_redirects=True,
    )
    assert "Program Keluarga Harapan (PKH) aktif di Kota Parepare, ditangani Dinas Sosial." in (
        text(done)
    )
    assert "Aktifkan PKH" not in text(done)
    listing = text(client.get(f"{P}/programs?kind=national"))
    assert "PKH" in listing and "ASLUT" not in listing


def test_change_a_program_versions_and_who_changed_what(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, admin = signed_in(app, monkeypatch, parepare)
    program_url = _new_local(client, ids).headers["Location"]
    edit = f"{program_url}/edit"
    form = form_fields(client.get(edit).text, "seen")
    assert form["seen"] == "1" and form["rule_text"] == RULE
    bad = post(client, edit, {**form, "rule_text": "umur >= 60 and"})
    assert bad.status_code == 422 and "Baris 1, kolom 15" in text(bad)
    done = post(client, edit, {**form, "deadline_days": "14"}, follow_redirects=True)
    assert "Program ASLUT-PRE disimpan (versi 2)." in text(done)
    # Meanwhile another admin changes the rule; this old form changes the deadline again.
    with in_district(app, parepare):
        program = db.session.execute(
            sa.select(Program).where(Program.code == "ASLUT-PRE")
        ).scalar_one()
        update_program(program, {"rule_text": "umur >= 65"})
    stale = post(client, edit, {**form, "deadline_days": "30"})
    assert stale.status_code == 409
    assert "Batas waktu layanan (hari) 14 30" in text(stale)
    mine = form_fields(stale.text, "seen")
    assert mine["rule_text"] == "umur >= 65"  # theirs kept where I changed nothing
    assert post(client, edit, {**mine, "apply": "mine"}).status_code == 302
    versions = text(client.get(f"{program_url}/versions"))
    assert "Versi 4" in versions and "berlaku" in versions
    assert f"oleh {admin.email}" in versions
    assert "Batas waktu layanan (hari) 21 14" in versions
    assert "Aturan kelayakan umur >= 60 and terdaftar_dtks and desil <= 4 umur >= 65" in versions
    assert "Program daerah ditambahkan." in versions
    with in_district(app, parepare):
        first = db.session.execute(
            sa.text(
                "SELECT v.id FROM program_versions v JOIN programs p ON p.id = v.program_id "
                "WHERE v.version = 1 AND p.code = 'ASLUT-PRE'"
            )
        ).scalar()
    one = text(client.get(f"{program_url}/versions/{first}"))
    assert "ASLUT-PRE versi 1" in one and RULE in one and "21 hari" in one


def test_national_program_changes_only_what_is_the_districts(app, monkeypatch, parepare):
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    edit = f"{P}/programs/{ids['pbi']}/edit"
    page = client.get(edit)
    form = form_fields(page.text, "seen")
    assert set(form) - {"seen"} == {
        "agency_id",
        "deadline_days",
        "active",
        "shown.agency_id",
        "shown.deadline_days",
        "shown.active",
    }
    sneaky = post(client, edit, {**form, "name": "PBI Lokal", "deadline_days": "10"})
    assert sneaky.status_code == 302
    with in_district(app, parepare):
        program = db.session.get(Program, (parepare.id, ids["pbi"]))
        assert (program.name.startswith("Penerima"), program.deadline_days) == (True, 10)


def test_try_the_rule_on_a_resident_and_on_typed_facts(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    person_id = resident(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    program_url = _new_local(client, ids).headers["Location"]
    found = client.get(f"{program_url}/try?q=hasnah")
    assert "Coba untuk Hasnah Lamude" in text(found) and "NIK berakhiran 0001" in text(found)
    assert "Coba untuk Hasnah Lamude" in text(client.get(f"{program_url}/try?q=7372014101500001"))
    tried = text(client.get(f"{program_url}/try?person={person_id}"))
    assert "Hasil untuk Hasnah Lamude" in tried and "Memenuhi syarat" in tried
    assert "'umur >= 60' terpenuhi" in tried and "desil = 2: 'desil <= 4' terpenuhi" in tried
    with in_district(app, parepare):  # reading a resident's facts is a recorded read
        reads = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.note).where(AuditEvent.kind == "read")
        ).all()
    assert ("person.read", "uji aturan ASLUT-PRE") in reads
    assert ("person.list", "uji aturan ASLUT-PRE") in reads
    typed = text(client.get(f"{program_url}/try?facts=1&age=45&in_dtks=true&desil=2"))
    assert "Tidak memenuhi syarat" in typed and "age = 45: 'umur >= 60' tidak terpenuhi" in typed
    assert "Yang membuatnya tidak memenuhi syarat: umur >= 60" in typed
    unknown = text(client.get(f"{program_url}/try?facts=1&age=70"))
    assert "in_dtks tidak diketahui (kosong)" in unknown and "fakta tidak diketahui" in unknown
    wrong = client.get(f"{program_url}/try?facts=1&age=tua&desil=11")
    assert wrong.status_code == 422
    assert 'id="f-age-error"' in wrong.text and 'id="f-desil-error"' in wrong.text
    english = text(client.get(f"{program_url}/try?facts=1&age=70&in_dtks=true&desil=1&lang=en"))
    assert "Eligible" in english and "age = 70: 'umur >= 60' is met." in english


def test_who_may_do_what(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    person_id = resident(app, parepare)
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    assert viewer.get(f"{P}/programs").status_code == 200
    assert "Tambah program daerah" not in text(viewer.get(f"{P}/programs"))
    assert viewer.get(f"{P}/programs/new").status_code == 403
    assert post(viewer, f"{P}/programs/new", LOCAL).status_code == 403
    assert viewer.get(f"{P}/programs/{ids['pbi']}/edit").status_code == 403
    tried = viewer.get(f"{P}/programs/{ids['pbi']}/try?facts=1&in_dtks=true&desil=1")
    assert tried.status_code == 200 and "Memenuhi syarat" in text(tried)
    assert "Pada warga di registri" not in text(tried)  # no registry.read
    assert viewer.get(f"{P}/programs/{ids['pbi']}/try?q=hasnah").status_code == 403
    assert viewer.get(f"{P}/programs/{ids['pbi']}/try?person={person_id}").status_code == 403
    # A facilitator of another kelurahan cannot try a rule on a resident outside it.
    elsewhere, _ = signed_in(
        app,
        monkeypatch,
        parepare,
        "facilitator",
        scope_kind="village",
        scope_codes=["73.72.02.1001"],
    )
    assert "Tidak ada warga yang cocok" in text(
        elsewhere.get(f"{P}/programs/{ids['pbi']}/try?q=hasnah")
    )
    assert elsewhere.get(f"{P}/programs/{ids['pbi']}/try?person={person_id}").status_code == 404


def test_the_rule_check_answers_a_get_too(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    answer = client.get(f"{P}/programs/rules/check?rule_text=umur%20%3E%3D").json
    assert answer["valid"] is False and answer["problems"][0]["where"] == "Baris 1, kolom 8"
    assert client.get(f"{P}/programs/rules/check").status_code == 422
