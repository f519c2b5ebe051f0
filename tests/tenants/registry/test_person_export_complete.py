"""The person export answers a UU PDP access request completely: as a zip with the JSON record
(person, household, cases with needs, referrals, history and documents' details, letters, DTKS
proposals, and who read the data), a summary in words, and the documents themselves."""

from __future__ import annotations

import io
import json
import zipfile

from tests.fixtures import member, put_on_plan
from tests.platform.audit.test_read_coverage import _parepare
from tests.privacy import NAME, marker_pdf, seed_marked_person


def test_the_export_holds_everything_about_the_person(app, client):
    parepare = _parepare(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    marked = seed_marked_person(app, parepare)
    admin = member(app, parepare, "district_admin")
    url = f"/api/v1/t/parepare/persons/{marked.person_id}"
    assert client.get(url, headers=admin.headers).status_code == 200  # a read to be listed

    resp = client.get(f"{url}/export.zip", headers=admin.headers)
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    names = archive.namelist()
    assert {"data.json", "ringkasan.txt"} <= set(names)
    data = json.loads(archive.read("data.json"))
    assert data["person"]["nik"] == marked.nik and data["household"]["kk_number"] == marked.kk
    (case,) = data["cases"]
    assert NAME in case["description"]
    assert {r["status"] for r in case["referrals"]} == {"rejected", "fulfilled"}
    assert len(data["letters"]) == 2 and all("token" not in letter for letter in data["letters"])
    assert [p["reason"] for p in data["dtks_proposals"]] == [
        f"{NAME} belum di DTKS, HP {marked.phone}"
    ]
    reads = data["read_history"]
    assert any(r["action"] == "person.read" and r["by"] == admin.email for r in reads)
    documents = [n for n in names if n.startswith("dokumen/")]
    assert [archive.read(n) for n in documents] == [marker_pdf()]
    summary = archive.read("ringkasan.txt").decode()
    assert NAME in summary and marked.nik in summary and "Siapa yang membaca" in summary
    # The JSON export answers with the same record.
    same = client.get(f"{url}/export", headers=admin.headers).get_json()
    assert same["letters"] == data["letters"] and same["dtks_proposals"] == data["dtks_proposals"]
