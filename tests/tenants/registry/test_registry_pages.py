"""Registry pages in a browser-less client: search, a household registered with its members one
after another, the NIK checked with its reasons in words (posted and asked as typed), a known NIK
leading to the existing person, corrections with the optimistic-lock choice, permissions and
region scope."""

from __future__ import annotations

import re

import pytest

from tests.fixtures import member, set_password
from tests.web import PASSWORD, form_token, sign_in

LOMPOE = "73.72.01.1004"  # Kelurahan Lompoe, Kecamatan Bacukiki
SOREANG = "73.72.03.1001"
BASE = "/t/parepare/registry"
KK = "7372010101110001"
NIK_HEAD = "7372010101900001"  # man born 1 Jan 1990, Bacukiki
NIK_WIFE = "7372014502920002"  # woman born 5 Feb 1992
BAD_DATE = "7372013202900001"  # 32 Feb


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")

    def signed_in(user):
        set_password(app, user, PASSWORD)
        client = app.test_client()
        sign_in(client, user.email)
        client.csrf = form_token(client)
        return client

    return signed_in


def text(resp) -> str:
    return resp.get_data(as_text=True)


def post(client, url, **data):
    return client.post(url, data={"csrf_token": client.csrf, **data})


def new_household(client, kk=KK, village=LOMPOE, **kw):
    return post(
        client,
        f"{BASE}/households/new",
        kk_number=kk,
        address="Jl. Lompoe 1",
        village_code=village,
        **kw,
    )


def household_id_of(resp) -> str:
    return re.search(r"/households/([0-9a-f-]{36})", resp.headers["Location"]).group(1)


def test_register_household_then_members(app, web, parepare) -> None:
    fo = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    form = fo.get(f"{BASE}/households/new")
    assert form.status_code == 200 and "Nomor KK" in text(form)
    created = new_household(fo)
    assert created.status_code == 302
    hid = household_id_of(created)
    page = fo.get(created.headers["Location"])
    assert "Keluarga terdaftar" in text(page) and "Tambah anggota keluarga" in text(page)
    head = post(
        fo,
        f"{BASE}/households/{hid}/members/new",
        nik=NIK_HEAD,
        name="Andi Baso",
        relation="kepala_keluarga",
        next="another",
    )
    assert head.status_code == 302 and head.headers["Location"].endswith("/members/new")
    again = fo.get(head.headers["Location"])
    assert "Andi Baso ditambahkan" in text(again) and "1 anggota" in text(again)
    bad = post(
        fo,
        f"{BASE}/households/{hid}/members/new",
        nik=BAD_DATE,
        name="Sitti",
        relation="istri",
        next="done",
    )
    assert bad.status_code == 422
    assert "Bagian tanggal lahir NIK (320290) bukan tanggal yang sah" in text(bad)
    assert 'value="Sitti"' in text(bad)
    wife = post(
        fo,
        f"{BASE}/households/{hid}/members/new",
        nik=NIK_WIFE,
        name="Sitti Aminah",
        relation="istri",
        has_disability="1",
        phone="0812 3456 7890",
        next="done",
    )
    assert wife.status_code == 302 and wife.headers["Location"].endswith(hid)
    house = text(fo.get(wife.headers["Location"]))
    assert "Anggota keluarga (2)" in house
    assert "Andi Baso" in house and "Sitti Aminah" in house and "Perempuan" in house


def _family(client, kk=KK, village=LOMPOE, nik=NIK_HEAD, name="Andi Baso") -> tuple[str, str]:
    """A household with its head, through the pages; (household id, person id)."""
    hid = household_id_of(new_household(client, kk=kk, village=village))
    done = post(
        client,
        f"{BASE}/households/{hid}/members/new",
        nik=nik,
        name=name,
        relation="kepala_keluarga",
        next="done",
    )
    assert done.status_code == 302, text(done)
    page = text(client.get(f"{BASE}/households/{hid}"))
    pid = re.search(r"/registry/persons/([0-9a-f-]{36})", page).group(1)
    return hid, pid


def test_a_known_nik_leads_to_the_existing_person(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    hid, pid = _family(fo)
    other = household_id_of(new_household(fo, kk="7372010101110002"))
    again = post(
        fo,
        f"{BASE}/households/{other}/members/new",
        nik=NIK_HEAD,
        name="Andi B.",
        next="done",
    )
    assert again.status_code == 409
    html = text(again)
    assert "NIK ini sudah terdaftar atas nama Andi Baso" in html
    assert f"/registry/persons/{pid}" in html and f"/registry/households/{hid}" in html
    # The same answer while typing, from the check the page's script asks.
    typed = fo.get(f"{BASE}/nik-check", query_string={"nik": NIK_HEAD})
    assert typed.status_code == 200 and f"/registry/persons/{pid}" in text(typed)
    assert 'data-valid="0"' in text(typed)
    # A known KK leads to its household the same way.
    dup = new_household(fo)
    assert dup.status_code == 409 and f"/registry/households/{hid}" in text(dup)
    assert "Nomor KK ini sudah terdaftar" in text(dup)


def test_a_nik_taken_outside_the_region_is_named_without_a_link(app, web, parepare) -> None:
    admin = web(member(app, parepare, "front_office"))
    _hid, pid = _family(admin, village=SOREANG)
    lompoe = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    hid = household_id_of(new_household(lompoe, kk="7372010101110003"))
    again = post(lompoe, f"{BASE}/households/{hid}/members/new", nik=NIK_HEAD, name="X")
    assert again.status_code == 409
    assert "di luar wilayah tugas Anda" in text(again) and pid not in text(again)


def test_the_nik_check_names_every_problem_in_words(app, web, parepare) -> None:
    fo = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    check = f"{BASE}/nik-check"
    short = text(fo.get(check, query_string={"nik": "73720101"}))
    assert "NIK harus 16 digit angka (diterima 8 karakter)" in short
    many = text(fo.get(check, query_string={"nik": "9999993202900000"}))
    assert "bukan kode kecamatan" in many and "bukan tanggal yang sah" in many
    assert "tidak boleh 0000" in many
    good = text(fo.get(check, query_string={"nik": NIK_WIFE}))
    assert "NIK sah: Perempuan, lahir 5 Februari 1992, Kecamatan Bacukiki" in good
    assert 'data-valid="1"' in good
    english = text(fo.get(check, query_string={"nik": "123", "lang": "en"}))
    assert "A NIK must be 16 digits (got 3 characters)" in english and "harus" not in english
    # Only members who register people may ask, and only so often.
    viewer = web(member(app, parepare, "supervisor"))
    assert viewer.get(check, query_string={"nik": NIK_HEAD}).status_code == 403


def test_the_nik_check_is_rate_limited(app, web, parepare, monkeypatch) -> None:
    from slrt.tenants.registry import web as pages

    monkeypatch.setattr(pages, "NIK_CHECK_LIMIT", (3, 600))
    fo = web(member(app, parepare, "front_office"))
    codes = [fo.get(f"{BASE}/nik-check?nik=1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_search_by_nik_kk_and_name_within_the_region(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    hid, pid = _family(fo)
    _family(fo, kk="7372010101110002", village=SOREANG, nik=NIK_WIFE, name="Sitti Aminah")
    by_nik = text(fo.get(BASE + "/", query_string={"q": NIK_HEAD}))
    assert f"/registry/persons/{pid}" in by_nik and "Sitti" not in by_nik
    by_kk = text(fo.get(BASE + "/", query_string={"q": KK}))
    assert f"/registry/households/{hid}" in by_kk
    by_name = text(fo.get(BASE + "/", query_string={"q": "baso"}))
    assert "Andi Baso" in by_name and "Sitti" not in by_name
    assert "paling sedikit 2 huruf" in text(fo.get(BASE + "/", query_string={"q": "a"}))
    village = text(fo.get(BASE + "/", query_string={"village_code": SOREANG}))
    assert "7372010101110002" in village and KK not in village
    # A facilitator of Lompoe finds Lompoe's people only.
    lompoe = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    assert "Sitti" not in text(lompoe.get(BASE + "/", query_string={"q": "sitti"}))
    assert "Andi Baso" in text(lompoe.get(BASE + "/", query_string={"q": "andi"}))


def test_another_villages_records_answer_404_for_a_scoped_facilitator(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    hid, pid = _family(fo, village=SOREANG)
    lompoe = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    for url in (
        f"{BASE}/households/{hid}",
        f"{BASE}/households/{hid}/edit",
        f"{BASE}/households/{hid}/members/new",
        f"{BASE}/persons/{pid}",
        f"{BASE}/persons/{pid}/edit",
    ):
        assert lompoe.get(url).status_code == 404, url
        if url.endswith(("/edit", "/new")):
            assert post(lompoe, url, name="X", nik=NIK_WIFE).status_code == 404, url
    # Nor can the facilitator register in a village outside the region.
    outside = new_household(lompoe, kk="7372010101110005", village=SOREANG)
    assert outside.status_code == 403 and "di luar wilayah tugas Anda" in text(outside)


def test_permissions(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    hid, pid = _family(fo)
    supervisor = web(member(app, parepare, "supervisor"))
    assert supervisor.get(f"{BASE}/persons/{pid}").status_code == 200
    assert "Ubah data" not in text(supervisor.get(f"{BASE}/persons/{pid}"))
    for url in (f"{BASE}/households/new", f"{BASE}/persons/{pid}/edit"):
        assert supervisor.get(url).status_code == 403
    assert post(supervisor, f"{BASE}/households/{hid}/members/new", nik=NIK_WIFE).status_code == 403
    agency = web(member(app, parepare, "agency_officer"))
    assert agency.get(BASE + "/").status_code == 403
    assert agency.get(f"{BASE}/persons/{pid}").status_code == 403
    menu = text(agency.get("/t/parepare/"))
    assert "Registrasi" not in menu
    assert "Registrasi" in text(fo.get("/t/parepare/"))


def _edit_form(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="version" value="([^"]+)"', text(page)).group(1)


def test_edit_person_and_the_conflict_choice(app, web, parepare) -> None:
    mine = web(member(app, parepare, "front_office"))
    theirs = web(member(app, parepare, "back_office"))
    _hid, pid = _family(mine)
    url = f"{BASE}/persons/{pid}/edit"
    fields = {"nik": NIK_HEAD, "name": "Andi Baso", "sex": "L", "birth_date": "1990-01-01"}
    version = _edit_form(mine, url)
    stale = _edit_form(theirs, url)
    saved = post(mine, url, version=version, **fields, phone="0811 111 111", birth_place="Parepare")
    assert saved.status_code == 302
    assert "0811 111 111" in text(mine.get(saved.headers["Location"]))
    # The other one saves over a version that has changed meanwhile: both versions, a choice.
    clash = post(theirs, url, version=stale, **fields, phone="0822 222 222", birth_place="")
    assert clash.status_code == 409
    html = text(clash)
    assert "Data ini sudah diubah orang lain" in html
    assert "0811 111 111" in html and "0822 222 222" in html
    assert "Parepare" in html and "(kosong)" in html  # their form had no birth place
    assert "Pakai data mereka" in html and "Tetap simpan isian saya" in html
    visible = re.sub(r"<[^>]+>", " ", html)  # tokens and asset names may hold any digits
    assert "412" not in visible and "If-Match" not in visible
    # Nothing of theirs was written yet.
    assert "0811 111 111" in text(theirs.get(f"{BASE}/persons/{pid}"))
    # "Save mine anyway" posts again at the version now shown.
    fresh = re.search(r'name="version" value="([^"]+)"', html).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert hidden["phone"] == "0822 222 222" and hidden["version"] == fresh
    hidden.pop("csrf_token")
    anyway = post(theirs, url, **hidden)
    assert anyway.status_code == 302
    person = text(theirs.get(f"{BASE}/persons/{pid}"))
    assert "0822 222 222" in person
    # Their empty birth place cleared mine: the form said so, and they chose theirs.
    assert "Parepare," not in person


def test_edit_person_refuses_a_wrong_nik_with_its_reasons(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    _hid, pid = _family(fo)
    url = f"{BASE}/persons/{pid}/edit"
    version = _edit_form(fo, url)
    bad = post(fo, url, version=version, nik=BAD_DATE, name="Andi Baso", sex="L")
    assert bad.status_code == 422 and "bukan tanggal yang sah" in text(bad)
    mismatch = post(fo, url, version=version, nik=NIK_HEAD, name="Andi Baso", sex="P")
    assert mismatch.status_code == 422
    assert "Jenis kelamin (P) tidak sesuai dengan NIK" in text(mismatch)


def test_edit_household_with_the_lock(app, web, parepare) -> None:
    fo = web(member(app, parepare, "front_office"))
    bo = web(member(app, parepare, "back_office"))
    hid, _pid = _family(fo)
    url = f"{BASE}/households/{hid}/edit"
    version = _edit_form(fo, url)
    stale = _edit_form(bo, url)
    desil = post(
        fo, url, version=version, address="Jl. Baru 2", dtks_status="not_in_dtks", desil="4"
    )
    assert desil.status_code == 422 and "Desil hanya diisi bila" in text(desil)
    ok = post(fo, url, version=version, address="Jl. Baru 2", dtks_status="in_dtks", desil="4")
    assert ok.status_code == 302
    page = text(fo.get(f"{BASE}/households/{hid}"))
    assert "Jl. Baru 2" in page and "Terdaftar di DTSEN" in page and "desil 4" in page
    clash = post(bo, url, version=stale, address="Jl. Lama 1", dtks_status="unknown")
    assert clash.status_code == 409
    assert "Jl. Baru 2" in text(clash) and "Jl. Lama 1" in text(clash)
    assert "Terdaftar di DTSEN" in text(clash) and "Belum dicek" in text(clash)
