"""The district admin's region pages: kecamatan with their counts, the village list (filters,
pages, one change to many villages with the conflict choice), a village's own page (change,
conflict choice, refusals) and adding a local village; who may read and who may change."""

from __future__ import annotations

import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.tenants.regions.actions import update_village
from slrt.tenants.regions.models import Kecamatan, Village
from slrt.tenants.service_points.actions import create_service_point
from tests.tenants.districts.pages import field_value, in_district, post, signed_in, text

P = "/t/parepare"


def _village(app, tenant, code: str) -> Village:
    with in_district(app, tenant):
        village = db.session.execute(sa.select(Village).where(Village.code == code)).scalar_one()
        db.session.expunge(village)
        return village


def _funding(app, tenant) -> dict[str, str]:
    with in_district(app, tenant):
        return dict(db.session.execute(sa.select(Village.name, Village.funding_source)).all())


def _ticked(html: str, name: str) -> str:
    """The checkbox value (id|version read) of a village row, by the village's name."""
    match = re.search(rf'value="([^"]+)" aria-label="Pilih {re.escape(name)}"', html)
    assert match, name
    return match.group(1)


def test_kecamatan_list_counts_villages_funding_and_puskesos(app, monkeypatch, parepare) -> None:
    lompoe = _village(app, parepare, "73.72.01.1004")
    with in_district(app, parepare):
        update_village(db.session.get(Village, (parepare.id, lompoe.id)), {"is_intervention": True})
        create_service_point(
            {"kind": "puskesos", "name": "Puskesos Lompoe", "village_id": lompoe.id}
        )
    client, _ = signed_in(app, monkeypatch, parepare)
    page = client.get(f"{P}/kecamatan")
    assert page.status_code == 200
    words = text(page)
    assert "Bacukiki Barat" in words and "Soreang" in words
    # Bacukiki: 4 kelurahan, all active, one intervention, three APBD, one Puskesos.
    row = re.search(r"Bacukiki 73\.72\.01 ([0-9 ]+)", words).group(1).split()
    assert row == ["4", "4", "1", "3", "0", "1"]
    kec = client.get(f"{P}/villages?kecamatan=73.72.01")
    assert "4 desa/kelurahan" in text(kec)


def test_kecamatan_rename_and_refusals(app, monkeypatch, parepare) -> None:
    with in_district(app, parepare):
        kec = db.session.execute(
            sa.select(Kecamatan).where(Kecamatan.code == "73.72.03")
        ).scalar_one()
        kec_id = kec.id
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/kecamatan/{kec_id}"
    assert "Lakessi" in text(client.get(url))
    empty = post(client, url, {"name": "  "})
    assert empty.status_code == 422
    assert "Periksa isian yang ditandai." in text(empty)
    done = post(client, url, {"name": "Soreang Baru"}, follow_redirects=True)
    assert "Kecamatan 73.72.03 sekarang bernama Soreang Baru." in text(done)
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    assert facilitator.get(url).status_code == 200  # reading needs tenant.read only
    refused = post(facilitator, url, {"name": "Soreang Lama"})
    assert refused.status_code == 403
    assert "Mengatur kabupaten/kota" in text(refused) or "tenant.configure" in text(refused)


def test_village_list_filters_and_pages_of_a_large_kabupaten(app, monkeypatch, kendal) -> None:
    client, _ = signed_in(app, monkeypatch, kendal)
    first = client.get("/t/kendal/villages", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert len(first.get_data()) < 36 * 1024  # 50 rows a page: well inside the page budget
    words = text(client.get("/t/kendal/villages"))
    assert "286 desa/kelurahan" in words and "Halaman 1 dari 6" in words
    last = text(client.get("/t/kendal/villages?page=6"))
    assert "Halaman 6 dari 6" in last
    assert len(re.findall(r'name="village"', client.get("/t/kendal/villages?page=6").text)) == 36
    one = client.get("/t/kendal/villages?kecamatan=33.24.01").text
    codes = re.findall(r"<small>(33\.24\.\d\d)\.\d{4}</small>", one)
    assert codes and set(codes) == {"33.24.01"}
    none = text(client.get("/t/kendal/villages?intervention=true"))
    assert "0 desa/kelurahan" in none
    assert "Tidak ada desa/kelurahan yang cocok" in none
    bad = client.get("/t/kendal/villages?funding_source=emas")
    assert bad.status_code == 200  # a wrong filter shows every village and says which
    assert "Harus salah satu dari" in text(bad)


def test_bulk_change_marks_ticked_villages_then_every_filtered_one(app, monkeypatch, parepare):
    lumpue = _village(app, parepare, "73.72.04.1003")
    with in_district(app, parepare):  # a village the city once put on Dana Desa
        update_village(
            db.session.get(Village, (parepare.id, lumpue.id)), {"funding_source": "dana_desa"}
        )
    client, _ = signed_in(app, monkeypatch, parepare)
    html = client.get(f"{P}/villages").text
    ticked = [_ticked(html, "Lompoe"), _ticked(html, "Lakessi")]
    done = post(
        client,
        f"{P}/villages",
        {"village": ticked, "change": "funding_source:apbn_kemensos", "target": "selected"},
        follow_redirects=True,
    )
    assert "2 dari 2 desa/kelurahan diubah: Intervensi Kemensos (APBN)." in text(done)
    # The rest as APBD: every village the filter "not an intervention village" shows.
    rest = post(
        client,
        f"{P}/villages?intervention=false",
        {"change": "funding_source:apbd", "target": "filter"},
        follow_redirects=True,
    )
    assert "1 dari 20 desa/kelurahan diubah: APBD." in text(rest)
    funding = _funding(app, parepare)
    assert funding["Lompoe"] == funding["Lakessi"] == "apbn_kemensos"
    assert sorted(set(funding.values())) == ["apbd", "apbn_kemensos"]
    assert list(funding.values()).count("apbd") == 20
    with in_district(app, parepare):
        audited = db.session.execute(
            sa.select(sa.func.count()).where(AuditEvent.action == "village.update")
        ).scalar()
    assert audited == 4  # Lumpue twice, Lompoe and Lakessi once: unchanged villages not at all


def test_bulk_change_refusals(app, monkeypatch, parepare) -> None:
    lompoe = _village(app, parepare, "73.72.01.1004")
    with in_district(app, parepare):
        create_service_point(
            {"kind": "puskesos", "name": "Puskesos Lompoe", "village_id": lompoe.id}
        )
    client, _ = signed_in(app, monkeypatch, parepare)
    html = client.get(f"{P}/villages").text
    no_change = post(client, f"{P}/villages", {"village": [_ticked(html, "Lompoe")]})
    assert no_change.status_code == 422
    assert 'id="f-change-error"' in no_change.text
    nothing_ticked = post(client, f"{P}/villages", {"change": "active:false"})
    assert nothing_ticked.status_code == 422
    assert "Centang minimal satu desa/kelurahan." in text(nothing_ticked)
    refused = post(
        client,
        f"{P}/villages",
        {"village": [_ticked(html, "Lompoe"), _ticked(html, "Lemoe")], "change": "active:false"},
    )
    assert refused.status_code == 409
    assert "masih memiliki Puskesos aktif (Puskesos Lompoe)" in text(refused)
    with in_district(app, parepare):  # all or nothing: Lemoe stays active too
        assert db.session.execute(sa.select(sa.func.bool_and(Village.active))).scalar()
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    listing = facilitator.get(f"{P}/villages")
    assert listing.status_code == 200 and 'name="village"' not in listing.text
    assert post(facilitator, f"{P}/villages", {"change": "active:false"}).status_code == 403


def test_bulk_change_over_someone_elses_change_is_a_choice(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    html = client.get(f"{P}/villages").text
    ticked = [_ticked(html, "Lompoe"), _ticked(html, "Lemoe")]
    lemoe = _village(app, parepare, "73.72.01.1009")
    with in_district(app, parepare):  # another admin, meanwhile
        update_village(
            db.session.get(Village, (parepare.id, lemoe.id)), {"funding_source": "dana_desa"}
        )
    stale = post(client, f"{P}/villages", {"village": ticked, "change": "funding_source:apbd"})
    assert stale.status_code == 409
    words = text(stale)
    assert "diubah orang lain sejak Anda membuka halaman ini" in words
    assert "Lemoe Dana Desa" in words
    assert _funding(app, parepare)["Lemoe"] == "dana_desa"  # nothing saved yet
    again = post(
        client,
        f"{P}/villages",
        {
            "village": re.findall(r'name="village" value="([^"|]+)"', stale.text),
            "change": "funding_source:apbd",
            "apply": "mine",
        },
        follow_redirects=True,
    )
    assert "1 dari 2 desa/kelurahan diubah: APBD." in text(again)
    assert _funding(app, parepare)["Lemoe"] == "apbd"


def test_village_page_change_and_conflict_choice(app, monkeypatch, parepare) -> None:
    lompoe = _village(app, parepare, "73.72.01.1004")
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/villages/{lompoe.id}"
    html = client.get(url).text
    form = {
        name: field_value(html, name)
        for name in ("seen", "shown.name", "shown.funding_source", "shown.active")
    }
    done = post(
        client,
        url,
        {**form, "name": "Lompoe", "funding_source": "apbn_kemensos", "active": "true"},
        follow_redirects=True,
    )
    assert "Lompoe disimpan." in text(done)
    assert "Intervensi Kemensos (APBN)" in text(done)
    # The same old form again, now changing the name: the funding it shows is out of date.
    with in_district(app, parepare):
        update_village(db.session.get(Village, (parepare.id, lompoe.id)), {"name": "Lompoe Raya"})
    stale = post(
        client,
        url,
        {**form, "name": "Lompoe Baru", "funding_source": "apbd", "active": "true"},
    )
    assert stale.status_code == 409
    words = text(stale)
    assert "Data ini diubah orang lain sejak Anda membukanya." in words
    assert "Nama Lompoe Raya Lompoe Baru" in words
    assert "Sumber dana Intervensi Kemensos (APBN) APBD" in words
    again = {
        name: field_value(stale.text, name)
        for name in ("seen", "shown.name", "shown.funding_source", "shown.active")
    }
    mine = post(
        client,
        url,
        {**again, "name": "Lompoe Baru", "funding_source": "apbn_kemensos", "active": "true"},
        follow_redirects=True,
    )
    assert "Lompoe Baru disimpan." in text(mine)
    with in_district(app, parepare):
        village = db.session.get(Village, (parepare.id, lompoe.id))
        assert (village.name, village.funding_source) == ("Lompoe Baru", "apbn_kemensos")


def test_village_page_refusals(app, monkeypatch, parepare) -> None:
    lompoe = _village(app, parepare, "73.72.01.1004")
    with in_district(app, parepare):
        create_service_point(
            {"kind": "puskesos", "name": "Puskesos Lompoe", "village_id": lompoe.id}
        )
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/villages/{lompoe.id}"
    html = client.get(url).text
    assert "Puskesos Lompoe" in text(client.get(url))
    form = {
        name: field_value(html, name)
        for name in ("seen", "shown.name", "shown.funding_source", "shown.active")
    }
    off = post(client, url, {**form, "name": "Lompoe", "funding_source": "apbd", "active": "false"})
    assert off.status_code == 409
    assert 'id="f-active-error"' in off.text
    assert "nonaktifkan Puskesos itu terlebih dahulu" in text(off)
    nothing = post(
        client, url, {**form, "name": "Lompoe", "funding_source": "apbd", "active": "true"}
    )
    assert nothing.status_code == 422
    assert "Tidak ada yang diubah." in text(nothing)
    bad = post(client, url, {**form, "name": "Lompoe", "funding_source": "emas", "active": "true"})
    assert bad.status_code == 422 and 'id="f-funding_source-error"' in bad.text
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    assert "Simpan" not in text(viewer.get(url))
    assert post(viewer, url, {**form, "name": "X"}).status_code == 403


def test_add_a_local_village(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    assert "73.72.01" in text(client.get(f"{P}/villages/new"))
    bad = post(client, f"{P}/villages/new", {"code": "73.72.1.1099", "name": "Lompoe Baru"})
    assert bad.status_code == 422
    assert 'id="f-code-error"' in bad.text and "PP.KK.CC.XDDD" in text(bad)
    taken = post(client, f"{P}/villages/new", {"code": "73.72.01.1004", "name": "Lompoe Dua"})
    assert taken.status_code == 409 and "sudah dipakai oleh Lompoe" in text(taken)
    missing = post(client, f"{P}/villages/new", {"code": "73.72.01.1099"})
    assert missing.status_code == 422 and 'id="f-name-error"' in missing.text
    done = post(
        client,
        f"{P}/villages/new",
        {"code": "73.72.01.1099", "name": "Lompoe Baru", "funding_source": "apbd"},
        follow_redirects=True,
    )
    words = text(done)
    assert "Lompoe Baru (73.72.01.1099) ditambahkan sebagai desa/kelurahan lokal." in words
    assert "Ditambahkan oleh kabupaten/kota" in words
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    assert facilitator.get(f"{P}/villages/new").status_code == 403
