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
    open("/tmp/dr/bad.html","w").write(text(bad))
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
