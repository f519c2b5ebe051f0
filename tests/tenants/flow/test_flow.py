"""The whole service flow over HTTP with tokens of the real roles: a Parepare resident from a
Puskesos visit to fulfilled / rejected referrals and a closed case, with a return for
correction, the letter, its verification page and the public status check. The README's curl
walk-through follows the same steps."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from tests.fixtures import flow_catalog, member
from tests.pdf import pdf_text

LOMPOE = "73.72.01.1004"  # kelurahan in Kecamatan Bacukiki
SOREANG = "73.72.03.1001"
BASE = "/api/v1/t/parepare"
NIK = "7372014101800007"  # a woman born 1980-01-01, first issued in Bacukiki
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def cast(app, parepare):
    ids = flow_catalog(app, parepare)
    return {
        "ids": ids,
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
        "dinkes": member(app, parepare, "agency_officer", agency_id=ids["dinkes"]),
        "dinsos": member(app, parepare, "agency_officer", agency_id=ids["dinsos"]),
        "facilitator": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]
        ),
        "admin": member(app, parepare, "district_admin"),
    }


def post(client, user, url, body=None, **kw):
    return client.post(
        BASE + url, json=body if body is not None else {}, headers=user.headers, **kw
    )


def get(client, user, url, **kw):
    return client.get(BASE + url, headers=user.headers, **kw)


def register_resident(client, fo) -> tuple[dict, dict]:
    household = post(
        client,
        fo,
        "/households",
        {"kk_number": "7372010101110009", "address": "Jl. Lompoe No. 7", "village_code": LOMPOE},
    )
    assert household.status_code == 201, household.json
    person = post(
        client,
        fo,
        "/persons",
        {
            "nik": NIK,
            "name": "Sitti Aminah",
            "birth_place": "Parepare",
            "household_id": household.json["id"],
            "relation": "kepala_keluarga",
            "has_disability": True,
            "phone": "081234567890",
        },
    )
    assert person.status_code == 201, person.json
    return household.json, person.json


def test_whole_flow(app, client, cast, owner_engine) -> None:
    fo, bo, manager = cast["fo"], cast["bo"], cast["manager"]
    dinkes, dinsos, facilitator = cast["dinkes"], cast["dinsos"], cast["facilitator"]
    ids = cast["ids"]

    # 1. Front office at the Puskesos: the resident and the visit, with a KTP photo.
    _household, person = register_resident(client, fo)
    resp = post(
        client,
        fo,
        "/cases",
        {
            "kind": "service_request",
            "channel": "puskesos",
            "person_id": person["id"],
            "description": "Butuh jaminan kesehatan dan bantuan pangan.",
            "needs": [{"sector": "health", "description": "Tidak punya BPJS"}],
        },
    )
    assert resp.status_code == 201, resp.json
    case = resp.json
    year = dt.date.today().year
    assert re.fullmatch(rf"7372-{year}-\d{{6}}", case["ticket_number"]), case["ticket_number"]
    assert case["status"] == "registered" and case["village_code"] == LOMPOE
    case_url = f"/cases/{case['id']}"
    upload = client.post(
        BASE + case_url + "/attachments",
        data={"kind": "ktp", "file": (io.BytesIO(PNG), "ktp.jpg")},
        headers=fo.headers,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    assert upload.json["content_type"] == "image/png"  # by content, not by the name's .jpg

    # 2. The manager cannot decide before the assessment: 409 naming state and allowed actions.
    early = post(client, manager, case_url + "/decide", {"program_ids": [str(ids["pbi"])]})
    assert early.status_code == 409
    assert early.json["current_state"] == "registered"
    assert early.json["allowed_actions"] == ["assess", "close"]
    assert "registered" in early.json["detail"] and "assess" in early.json["detail_en"]

    # 3. Back office: needs, DTKS check; programs suggested with the rules' explanations.
    assessed = post(
        client,
        bo,
        case_url + "/assess",
        {
            "needs": [
                {"sector": "health", "description": "Tidak punya BPJS"},
                {"sector": "food", "description": "Kesulitan pangan"},
            ],
            "dtks": {"status": "in_dtks", "desil": 2},
            "note": "Cek DTKS SIKS-NG",
        },
    )
    assert assessed.status_code == 200, assessed.json
    assert assessed.json["status"] == "assessed"
    assert (assessed.json["household"]["dtks_status"], assessed.json["household"]["desil"]) == (
        "in_dtks",
        2,
    )
    by_code = {s["program_code"]: s for s in assessed.json["suggestions"]}
    assert by_code["PBI-JK"]["eligible"] is True
    assert any("desil = 2" in e for e in by_code["PBI-JK"]["explanation"])
    assert by_code["BPNT"]["eligible"] is True

    # 4. Manager returns it for correction: a reason is required.
    assert post(client, manager, case_url + "/return", {}).status_code == 422
    returned = post(client, manager, case_url + "/return", {"reason": "Lengkapi kebutuhan pangan"})
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    again = post(client, bo, case_url + "/assess", {"note": "Kebutuhan pangan sudah dilengkapi"})
    assert again.json["status"] == "assessed"

    # 5. Decision: two programs, one referral each, to the agency mapped to it.
    assert (
        post(client, bo, case_url + "/decide", {"program_ids": [str(ids["pbi"])]}).status_code
        == 403
    )
    decided = post(
        client, manager, case_url + "/decide", {"program_ids": [str(ids["pbi"]), str(ids["bpnt"])]}
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["status"] == "decided"
    referrals = {r["program_id"]: r for r in decided.json["referrals"]}
    pbi, bpnt = referrals[str(ids["pbi"])], referrals[str(ids["bpnt"])]
    assert pbi["agency_id"] == str(ids["dinkes"]) and bpnt["agency_id"] == str(ids["dinsos"])
    assert pbi["program_version"] == 1 and pbi["status"] == "pending"
    assert get(client, dinkes, "/referrals").json == []  # not sent yet: not in the inbox

    # 6. Referral with numbered letters; deadlines start.
    assert post(client, fo, case_url + "/refer").status_code == 403
    referred = post(client, manager, case_url + "/refer", {"note": "Surat ditandatangani"})
    assert referred.status_code == 200 and referred.json["status"] == "referred"
    sent = {r["id"]: r for r in referred.json["referrals"]}
    assert all(r["status"] == "sent" and r["due_at"] for r in sent.values())
    letter = get(client, dinkes, f"/referrals/{pbi['id']}/letter").json
    assert re.fullmatch(rf"400\.9/000[12]/SLRT/{year}", letter["number"])

    # 7. Agency inbox: each officer sees only their agency's referral.
    inbox = get(client, dinkes, "/referrals").json
    assert [r["id"] for r in inbox] == [pbi["id"]]
    assert inbox[0]["ticket_number"] == case["ticket_number"] and inbox[0]["letter_number"]
    assert get(client, dinkes, f"/referrals/{bpnt['id']}").status_code == 404
    assert post(client, dinkes, f"/referrals/{bpnt['id']}/receive").status_code == 404
    assert [r["id"] for r in get(client, dinsos, "/referrals").json] == [bpnt["id"]]
    assert get(client, dinkes, "/cases").status_code == 403

    # 8. Dinas Kesehatan: receive, accept, fulfil with the outcome.
    assert post(client, dinkes, f"/referrals/{pbi['id']}/accept").status_code == 409
    assert post(client, dinkes, f"/referrals/{pbi['id']}/receive").json["status"] == "received"
    detail = post(client, dinkes, f"/referrals/{pbi['id']}/accept").json
    assert detail["status"] == "accepted" and detail["person"]["name"] == "Sitti Aminah"
    assert post(client, dinkes, f"/referrals/{pbi['id']}/fulfil", {}).status_code == 422
    done = post(
        client,
        dinkes,
        f"/referrals/{pbi['id']}/fulfil",
        {"outcome": "Terdaftar PBI-JK, kartu KIS terbit"},
    )
    assert done.json["status"] == "fulfilled" and done.json["outcome"].startswith("Terdaftar")

    # 9. Dinas Sosial rejects, with a reason.
    post(client, dinsos, f"/referrals/{bpnt['id']}/receive")
    assert post(client, dinsos, f"/referrals/{bpnt['id']}/reject", {}).status_code == 422
    rejected = post(
        client,
        dinsos,
        f"/referrals/{bpnt['id']}/reject",
        {"reason": "Kuota BPNT tahun ini sudah penuh"},
    )
    assert rejected.json["status"] == "rejected"

    # 10. Facilitator follows up and closes.
    assert (
        post(client, facilitator, case_url + "/close", {"resolution": "resolved"}).status_code
        == 409
    )
    followed = post(
        client, facilitator, case_url + "/follow-up", {"note": "Kartu KIS sudah diterima"}
    )
    assert followed.status_code == 200 and followed.json["status"] == "follow_up"
    closed = post(
        client, facilitator, case_url + "/close", {"resolution": "resolved", "note": "Selesai"}
    )
    assert closed.json["status"] == "closed" and closed.json["resolution"] == "resolved"

    # 11. The history: every transition with actor, time and note.
    history = get(client, bo, case_url + "/transitions").json
    steps = [(t["machine"], t["action"]) for t in history]
    assert steps[:5] == [
        ("case", "register"),
        ("case", "assess"),
        ("case", "return"),
        ("case", "assess"),
        ("case", "decide"),
    ]
    assert ("referral", "reject") in steps and steps[-1] == ("case", "close")
    ret = next(t for t in history if t["action"] == "return")
    assert ret["note"] == "Lengkapi kebutuhan pangan" and ret["actor_account_id"] == str(
        manager.account_id
    )

    # 12. The public status check: ticket + last four NIK digits; nothing else is shown.
    status = client.post(
        BASE + "/public/status",
        json={"ticket_number": case["ticket_number"], "nik_last4": NIK[-4:]},
    )
    assert status.status_code == 200
    assert status.json["status"] == "closed" and status.json["next_step"] == "Layanan selesai."
    assert "Sitti" not in status.get_data(as_text=True) and NIK not in status.get_data(as_text=True)
    wrong = client.post(
        BASE + "/public/status", json={"ticket_number": case["ticket_number"], "nik_last4": "0000"}
    )
    assert wrong.status_code == 404


def qr_cells(content: str) -> set[tuple[int, int]]:
    """The dark modules of the QR code drawn as filled rectangles (`x y w h re f`)."""
    rects = [
        tuple(float(v) for v in m.groups())
        for m in re.finditer(r"([\d.]+) ([\d.]+) ([\d.]+) (-[\d.]+) re f", content)
    ]
    assert rects, "no QR code drawn"
    module = min(abs(h) for *_, h in rects)
    left = min(x for x, *_ in rects)
    top = max(y for _, y, *_ in rects)
    cells = set()
    for x, y, w, _h in rects:
        row, col = round((top - y) / module), round((x - left) / module)
        cells |= {(row, col + i) for i in range(round(w / module))}
    return cells


def expected_cells(url: str) -> set[tuple[int, int]]:
    import segno

    matrix = segno.make(url, error="m").matrix
    return {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}


def _referred_case(client, cast) -> tuple[dict, dict]:
    fo, bo, manager = cast["fo"], cast["bo"], cast["manager"]
    _hh, person = register_resident(client, fo)
    case = post(
        client,
        fo,
        "/cases",
        {
            "kind": "service_request",
            "channel": "secretariat",
            "person_id": person["id"],
            "description": "Butuh BPJS",
        },
    ).json
    post(client, bo, f"/cases/{case['id']}/assess", {"dtks": {"status": "in_dtks", "desil": 3}})
    post(client, manager, f"/cases/{case['id']}/decide", {"program_ids": [str(cast["ids"]["pbi"])]})
    referred = post(client, manager, f"/cases/{case['id']}/refer").json
    return referred, referred["referrals"][0]


def test_letter_pdf_qr_and_verification(app, client, cast) -> None:
    manager, admin = cast["manager"], cast["admin"]
    # The district sets its letterhead (district configuration's profile, If-Match required).
    head = get(client, admin, "/profile")
    assert head.json["letterhead"]["government_name"] == "PEMERINTAH KOTA PAREPARE"
    put = client.patch(
        BASE + "/profile",
        json={
            "letterhead": {"address": "Jl. Jend. Sudirman No. 1, Parepare", "letter_code": "460"}
        },
        headers={**admin.headers, "If-Match": head.headers["ETag"]},
    )
    assert put.status_code == 200 and put.json["letterhead"]["letter_code"] == "460"
    bad = client.patch(
        BASE + "/profile",
        json={"letterhead": {"letter_unit": "=1+1"}},
        headers={**admin.headers, "If-Match": put.headers["ETag"]},
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "letterhead.letter_unit"
    case, referral = _referred_case(client, cast)
    letter = get(client, manager, f"/referrals/{referral['id']}/letter").json
    year = dt.date.today().year
    assert letter["number"] == f"460/0001/SLRT/{year}"
    resp = get(client, manager, f"/referrals/{referral['id']}/letter.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = resp.get_data()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert f"460/0001/SLRT/{year}" in text and "Sitti Aminah" in text and NIK in text
    assert "PEMERINTAH KOTA PAREPARE" in text and "Dinas Kesehatan" in text
    assert case["decided_by_name"] in text and "Manajer SLRT" in text  # the manager signs
    # The QR code, read back from the page: its modules are exactly the QR encoding of the
    # verification URL, and the area links to that URL.
    assert qr_cells(text) == expected_cells(letter["verification_url"])
    assert letter["verification_url"].encode() in pdf
    token = letter["verification_url"].rsplit("/", 1)[1]
    # The public verification page (HTML) and JSON: genuine, status, no personal data.
    page = client.get(f"/t/parepare/surat/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ASLI" in html and letter["number"] in html and "Terkirim ke OPD" in html
    assert "Sitti" not in html and NIK not in html
    data = client.get(f"{BASE}/public/letters/{token}").json
    assert (
        data["genuine"] is True and data["status"] == "sent" and data["number"] == letter["number"]
    )
    assert not {"name", "nik", "person"} & set(data)
    assert client.get(f"/t/parepare/surat/{'x' * 43}").status_code == 404
    assert client.get(f"{BASE}/public/letters/{'x' * 43}").status_code == 404
    # Every letter produced is in the personal-data audit.
    letters = get(client, admin, "/audit-events", query_string={"kind": "letter"}).json
    assert [e["action"] for e in letters] == ["letter.print", "letter.issue"]
    # A revoked letter says so on its page.
    assert (
        post(
            client, cast["fo"], f"/referrals/{referral['id']}/letter/revoke", {"reason": "x"}
        ).status_code
        == 403
    )
    revoked = post(
        client, manager, f"/referrals/{referral['id']}/letter/revoke", {"reason": "Surat hilang"}
    )
    assert revoked.status_code == 200
    assert "DICABUT" in client.get(f"/t/parepare/surat/{token}").get_data(as_text=True)
    assert client.get(f"{BASE}/public/letters/{token}").json["genuine"] is False


def test_region_scope_on_case_endpoints(app, client, parepare, cast) -> None:
    case, referral = _referred_case(client, cast)
    outsider = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG])
    supervisor = member(
        app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"]
    )
    assert get(client, outsider, "/cases").json == []
    assert get(client, outsider, "/referrals").json == []
    assert [c["id"] for c in get(client, supervisor, "/cases").json] == [case["id"]]
    for url in (
        f"/cases/{case['id']}",
        f"/cases/{case['id']}/transitions",
        f"/referrals/{referral['id']}",
        f"/referrals/{referral['id']}/letter",
        f"/referrals/{referral['id']}/letter.pdf",
    ):
        assert get(client, outsider, url).status_code == 404, url
    for url, body in (
        (f"/cases/{case['id']}/follow-up", {"note": "x"}),
        (f"/cases/{case['id']}/close", {"resolution": "resolved"}),
    ):
        assert post(client, outsider, url, body).status_code == 404, url
    # Registering a case in a village outside one's region is refused.
    resp = post(
        client,
        outsider,
        "/cases",
        {
            "kind": "question",
            "channel": "outreach",
            "person_id": case["person_id"],
            "description": "x",
        },
    )
    assert resp.status_code == 404  # the person is outside the region: not found


def test_overdue_referrals(app, client, parepare, cast, owner_engine) -> None:
    _case, referral = _referred_case(client, cast)
    manager = cast["manager"]
    assert get(client, manager, "/referrals", query_string={"overdue": "true"}).json == []
    with owner_engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(parepare.id), True)))
        conn.execute(sa.text("UPDATE referrals SET due_at = now() - interval '1 day'"))
    for query in (
        {},
        {"village_code": LOMPOE},
        {"kecamatan_code": "73.72.01"},
        {"agency_id": str(cast["ids"]["dinkes"])},
    ):
        listed = get(client, manager, "/referrals", query_string={"overdue": "true", **query}).json
        assert [r["id"] for r in listed] == [referral["id"]], query
        assert listed[0]["overdue"] is True
    assert (
        get(
            client,
            manager,
            "/referrals",
            query_string={"overdue": "true", "kecamatan_code": "73.72.03"},
        ).json
        == []
    )
    for group, key, name in (
        ("village", LOMPOE, "Lompoe"),
        ("kecamatan", "73.72.01", "Bacukiki"),
        ("agency", str(cast["ids"]["dinkes"]), "Dinas Kesehatan"),
    ):
        summary = get(
            client, manager, "/referrals/overdue-summary", query_string={"group_by": group}
        ).json
        assert [(g["key"], g["name"], g["overdue"]) for g in summary] == [(key, name, 1)], group
    assert (
        get(
            client,
            cast["dinsos"],
            "/referrals/overdue-summary",
            query_string={"group_by": "agency"},
        ).json
        == []
    )
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.flow.deadlines import overdue_referrals

    with app.app_context(), tenant_context(parepare.ref()):
        assert [str(r.id) for r in overdue_referrals(agency_id=cast["ids"]["dinkes"])] == [
            referral["id"]
        ]
        assert overdue_referrals(agency_id=cast["ids"]["dinsos"]) == []


def test_public_status_is_rate_limited(app, client, cast) -> None:
    case, _referral = _referred_case(client, cast)
    ok = client.post(
        BASE + "/public/status",
        json={"ticket_number": case["ticket_number"], "nik_last4": NIK[-4:]},
    )
    assert ok.status_code == 200 and ok.json["status"] == "referred"
    assert ok.json["referrals"][0]["status"] == "sent"
    codes = [
        client.post(
            BASE + "/public/status",
            json={"ticket_number": case["ticket_number"], "nik_last4": "1111"},
        ).status_code
        for _ in range(5)
    ]
    assert codes == [404, 404, 404, 404, 429]
    limited = client.post(
        BASE + "/public/status",
        json={"ticket_number": case["ticket_number"], "nik_last4": NIK[-4:]},
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "coba lagi" in limited.json["detail"]


def test_attachments_checked_by_content(client, cast) -> None:
    fo = cast["fo"]
    _hh, person = register_resident(client, fo)
    case = post(
        client,
        fo,
        "/cases",
        {
            "kind": "complaint",
            "channel": "outreach",
            "person_id": person["id"],
            "description": "Bantuan tidak sampai",
        },
    ).json
    url = BASE + f"/cases/{case['id']}/attachments"
    fake = client.post(
        url,
        data={"kind": "sktm", "file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "sktm.png")},
        headers=fo.headers,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 415 and fake.json["errors"][0]["field"] == "file"
    good = client.post(
        url,
        data={"kind": "photo", "file": (io.BytesIO(PNG), "rumah.png")},
        headers=fo.headers,
        content_type="multipart/form-data",
    ).json
    download = client.get(url + f"/{good['id']}", headers=fo.headers)
    assert download.status_code == 200 and download.get_data() == PNG
    # An attachment is only found under its own case.
    other = post(
        client,
        fo,
        "/cases",
        {
            "kind": "question",
            "channel": "outreach",
            "person_id": person["id"],
            "description": "Tanya PKH",
        },
    ).json
    elsewhere = client.get(
        BASE + f"/cases/{other['id']}/attachments/{good['id']}", headers=fo.headers
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json["detail_en"] == "Attachment not found."


def test_intake_correction_needs_if_match_and_stops_at_decision(client, cast) -> None:
    fo, admin = cast["fo"], cast["admin"]
    case, _referral = _referred_case(client, cast)
    url = f"{BASE}/cases/{case['id']}"
    got = client.get(url, headers=fo.headers)
    assert got.status_code == 200 and got.json["person"]["name"] == "Sitti Aminah"
    late = client.patch(
        url, json={"description": "x"}, headers={**fo.headers, "If-Match": got.headers["ETag"]}
    )
    assert late.status_code == 409 and late.json["current_state"] == "referred"
    reads = get(
        client,
        admin,
        "/audit-events",
        query_string={"kind": "read", "entity_id": case["person_id"]},
    ).json
    assert any(e["note"] == f"case {case['ticket_number']}" for e in reads)


def test_intake_correction_with_etag(client, cast) -> None:
    fo = cast["fo"]
    _hh, person = register_resident(client, fo)
    case = post(
        client,
        fo,
        "/cases",
        {
            "kind": "question",
            "channel": "secretariat",
            "person_id": person["id"],
            "description": "Tanya PKH",
        },
    ).json
    url = f"{BASE}/cases/{case['id']}"
    assert client.patch(url, json={"kind": "complaint"}, headers=fo.headers).status_code == 428
    etag = client.get(url, headers=fo.headers).headers["ETag"]
    assert (
        client.patch(
            url, json={"kind": "complaint"}, headers={**fo.headers, "If-Match": '"old"'}
        ).status_code
        == 412
    )
    ok = client.patch(url, json={"kind": "complaint"}, headers={**fo.headers, "If-Match": etag})
    assert ok.status_code == 200 and ok.json["kind"] == "complaint"


def test_puskesos_coordinator_decides_and_signs_at_village_level(
    app, client, parepare, cast
) -> None:
    fo, bo = cast["fo"], cast["bo"]
    coordinator = member(
        app, parepare, "puskesos_coordinator", scope_kind="village", scope_codes=[LOMPOE]
    )
    elsewhere = member(
        app, parepare, "puskesos_coordinator", scope_kind="village", scope_codes=[SOREANG]
    )
    _hh, person = register_resident(client, fo)
    case = post(
        client,
        fo,
        "/cases",
        {
            "kind": "service_request",
            "channel": "puskesos",
            "person_id": person["id"],
            "description": "Butuh BPJS",
        },
    ).json
    post(client, bo, f"/cases/{case['id']}/assess", {"dtks": {"status": "in_dtks", "desil": 4}})
    body = {"program_ids": [str(cast["ids"]["pbi"])]}
    assert post(client, elsewhere, f"/cases/{case['id']}/decide", body).status_code == 404
    decided = post(client, coordinator, f"/cases/{case['id']}/decide", body)
    assert decided.status_code == 200 and decided.json["decided_by_title"] == "Koordinator Puskesos"
    referral = post(client, coordinator, f"/cases/{case['id']}/refer").json["referrals"][0]
    letter = get(client, coordinator, f"/referrals/{referral['id']}/letter").json
    assert letter["signer_title"] == "Koordinator Puskesos"
    text = pdf_text(get(client, coordinator, f"/referrals/{referral['id']}/letter.pdf").get_data())
    assert "Koordinator Puskesos" in text


def test_public_ticket_page(client, cast) -> None:
    case, _referral = _referred_case(client, cast)
    form = client.get("/t/parepare/cek-tiket")
    assert form.status_code == 200 and "4 digit terakhir NIK" in form.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    page = client.post(
        "/t/parepare/cek-tiket",
        data={"csrf_token": token, "ticket_number": case["ticket_number"], "nik_last4": NIK[-4:]},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dirujuk ke program" in html and "Terkirim ke OPD" in html
    assert "Sitti" not in html and NIK not in html
    wrong = client.post(
        "/t/parepare/cek-tiket",
        data={"csrf_token": token, "ticket_number": case["ticket_number"], "nik_last4": "9999"},
    )
    assert wrong.status_code == 404 and "tidak cocok" in wrong.get_data(as_text=True)
    forged = client.post(
        "/t/parepare/cek-tiket",
        data={"ticket_number": case["ticket_number"], "nik_last4": NIK[-4:]},
    )
    assert forged.status_code == 400  # no CSRF token
