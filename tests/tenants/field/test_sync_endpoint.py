"""The field app's sync endpoint over HTTP with a facilitator's token: an outbox item applied
once per key (a replay answers the stored result and writes nothing), partial success item by
item, a village outside the facilitator's region refused with the reason, a NIK already
registered offered as a choice ("use the existing person"), a household changed meanwhile
offered as a choice, and a photo sent in pieces resumed after a gap; every applied write is in
the audit trail with the time it was captured and the time it arrived."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.tenancy import tenant_context
from slrt.tenants.flow.models import Case, CaseAttachment
from slrt.tenants.registry.models import Household, Person
from tests.fixtures import flow_catalog, member
from tests.tenants.flow.test_flow import BASE, LOMPOE, PNG, SOREANG

CAPTURED = "2026-11-30T08:15:00+08:00"


@pytest.fixture
def facilitator(app, parepare):
    flow_catalog(app, parepare)
    return member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])


def household_item(key: str, kk: str, members: list[dict], village: str = LOMPOE) -> dict:
    return {
        "key": key,
        "kind": "household",
        "captured_at": CAPTURED,
        "data": {
            "kk_number": kk,
            "address": "Jl. Lompoe",
            "village_code": village,
            "members": [dict(m) for m in members],
        },
    }


def intake_item(key: str, nik: str, photos: list[dict] | None = None) -> dict:
    return {
        "key": key,
        "kind": "intake",
        "captured_at": CAPTURED,
        "data": {
            "nik": nik,
            "kind": "service_request",
            "description": "Butuh bantuan pangan",
            "photos": photos or [],
        },
    }


SITTI = {"nik": "7372014101800007", "name": "Sitti Aminah", "relation": "kepala_keluarga"}
BASO = {"nik": "7372010202150003", "name": "Baso", "relation": "anak"}


def sync(client, user, *items):
    resp = client.post(f"{BASE}/field/sync", json={"items": list(items)}, headers=user.headers)
    assert resp.status_code == 200, resp.json
    return {o["key"]: o for o in resp.json["items"]}


def counts(app, tenant) -> dict[str, int]:
    with app.app_context(), tenant_context(tenant.ref()):
        out = {
            name: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()
            for name, model in (
                ("households", Household),
                ("persons", Person),
                ("cases", Case),
                ("attachments", CaseAttachment),
            )
        }
        db.session.remove()
        return out


def test_the_same_key_twice_writes_once(app, client, parepare, facilitator) -> None:
    item = household_item("hh-0001-abcdef", "7372010101110009", [SITTI, BASO])
    first = sync(client, facilitator, item)["hh-0001-abcdef"]
    assert first["status"] == "applied" and first["replayed"] is False
    assert len(first["result"]["persons"]) == 2
    again = sync(client, facilitator, item)["hh-0001-abcdef"]
    assert again["status"] == "applied" and again["replayed"] is True
    assert again["result"] == first["result"]
    assert counts(app, parepare) == {"households": 1, "persons": 2, "cases": 0, "attachments": 0}
    # The audit trail: the same events as the online path, with both times.
    with app.app_context(), tenant_context(parepare.ref()):
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.after).where(
                AuditEvent.action.in_(["household.create", "person.create"])
            )
        ).all()
        db.session.remove()
    assert sorted(a for a, _ in events) == ["household.create", "person.create", "person.create"]
    for _, after in events:
        assert after["sync"]["key"] == "hh-0001-abcdef"
        assert after["sync"]["captured_at"].startswith("2026-11-30T00:15:00")
        assert after["sync"]["received_at"] > after["sync"]["captured_at"]


def test_partial_success_item_by_item(app, client, parepare, facilitator) -> None:
    outcome = sync(
        client,
        facilitator,
        household_item("hh-good-000001", "7372010101110009", [SITTI]),
        household_item("hh-bad-0000002", "12345", [BASO]),
        intake_item("in-good-000001", SITTI["nik"]),
        intake_item("in-nobody-0001", "7372010303700001"),
    )
    assert outcome["hh-good-000001"]["status"] == "applied"
    bad = outcome["hh-bad-0000002"]
    assert bad["status"] == "invalid"
    assert bad["errors"][0]["field"] == "kk_number"
    assert "16 digit" in bad["errors"][0]["message"]
    assert outcome["in-good-000001"]["status"] == "applied"
    assert outcome["in-good-000001"]["result"]["ticket_number"].startswith("7372-")
    assert outcome["in-nobody-0001"]["status"] == "invalid"
    assert "belum terdaftar" in outcome["in-nobody-0001"]["detail"]
    assert counts(app, parepare) == {"households": 1, "persons": 1, "cases": 1, "attachments": 0}
    # The refused ones can be sent again, corrected, under the same key.
    fixed = household_item("hh-bad-0000002", "7372010101110010", [BASO])
    assert sync(client, facilitator, fixed)["hh-bad-0000002"]["status"] == "applied"


def test_a_village_outside_the_region_is_refused_with_the_reason(
    app, client, parepare, facilitator
) -> None:
    outcome = sync(
        client, facilitator, household_item("hh-soreang-01", "7372030101110001", [BASO], SOREANG)
    )
    refused = outcome["hh-soreang-01"]
    assert refused["status"] == "refused"
    assert refused["detail"] == f"Desa/kelurahan {SOREANG} di luar wilayah tugas Anda."
    assert refused["detail_en"] == f"Village {SOREANG} is outside your region."
    assert counts(app, parepare)["households"] == 0
    # Nothing was kept under the key: once corrected it goes through.
    fixed = household_item("hh-soreang-01", "7372030101110001", [BASO])
    assert sync(client, facilitator, fixed)["hh-soreang-01"]["status"] == "applied"


def test_a_nik_already_registered_is_a_choice(app, client, parepare, facilitator) -> None:
    sync(client, facilitator, household_item("hh-first-00001", "7372010101110009", [SITTI]))
    existing = counts(app, parepare)
    item = household_item("hh-second-0001", "7372010101110010", [BASO, SITTI])
    choice = sync(client, facilitator, item)["hh-second-0001"]
    assert choice["status"] == "conflict"
    assert choice["conflict"] == "nik_registered"
    assert choice["choices"] == ["use_existing", "discard"]
    assert choice["facts"]["member"] == 1
    assert "sudah terdaftar" in choice["detail"]
    assert counts(app, parepare) == existing  # nothing half-written (not even Baso)
    # The facilitator chooses the existing person.
    item["data"]["members"][1]["existing_person_id"] = choice["facts"]["existing_person_id"]
    done = sync(client, facilitator, item)["hh-second-0001"]
    assert done["status"] == "applied"
    assert done["result"]["persons"][1] == {
        "index": 1,
        "person_id": choice["facts"]["existing_person_id"],
        "existing": True,
    }
    assert counts(app, parepare)["persons"] == existing["persons"] + 1


def test_a_household_changed_meanwhile_is_a_choice(app, client, parepare, facilitator) -> None:
    first = sync(client, facilitator, household_item("hh-first-00001", "7372010101110009", [SITTI]))
    assert first["hh-first-00001"]["status"] == "applied", first
    again = sync(client, facilitator, household_item("hh-again-00001", "7372010101110009", [BASO]))
    offer = again["hh-again-00001"]
    assert offer["status"] == "conflict" and offer["conflict"] == "kk_registered"
    household_id, version = offer["facts"]["household_id"], offer["facts"]["version"]
    # Someone at the desk changes the household before the facilitator chooses.
    changed = client.get(f"{BASE}/households/{household_id}", headers=facilitator.headers)
    resp = client.patch(
        f"{BASE}/households/{household_id}",
        json={"address": "Jl. Baru 1"},
        headers={**facilitator.headers, "If-Match": changed.headers["ETag"]},
    )
    assert resp.status_code == 200
    item = {
        "key": "hh-again-00001",
        "kind": "household",
        "captured_at": CAPTURED,
        "data": {"household_id": household_id, "seen": version, "members": [dict(BASO)]},
    }
    offer = sync(client, facilitator, item)["hh-again-00001"]
    assert offer["status"] == "conflict" and offer["conflict"] == "household_changed"
    assert offer["choices"] == ["apply_anyway", "discard"]
    item["data"]["apply_anyway"] = True
    assert sync(client, facilitator, item)["hh-again-00001"]["status"] == "applied"
    assert counts(app, parepare)["persons"] == 2


def test_a_photo_in_pieces_resumes_after_a_gap(app, client, parepare, facilitator) -> None:
    sync(client, facilitator, household_item("hh-first-00001", "7372010101110009", [SITTI]))
    photo = PNG + b"\x00" * 600_000  # PNG content, over two pieces of 256 KB
    digest = hashlib.sha256(photo).hexdigest()
    start = {"key": "photo-000000001", "size": len(photo), "sha256": digest}
    upload = client.post(f"{BASE}/field/uploads", json=start, headers=facilitator.headers).json
    assert upload["received"] == 0 and upload["complete"] is False
    url = f"{BASE}/field/uploads/{upload['id']}/pieces"
    piece = 256 * 1024
    headers = {**facilitator.headers, "Content-Type": "application/octet-stream"}
    assert (
        client.post(f"{url}?offset=0", data=photo[:piece], headers=headers).json["received"]
        == piece
    )
    # The link drops: the device asks again under the same key and learns where to resume.
    resumed = client.post(f"{BASE}/field/uploads", json=start, headers=facilitator.headers).json
    assert resumed["id"] == upload["id"] and resumed["received"] == piece
    # A piece sent twice (its answer was lost) changes nothing; one from the future is refused.
    assert (
        client.post(f"{url}?offset=0", data=photo[:piece], headers=headers).json["received"]
        == piece
    )
    ahead = client.post(f"{url}?offset={2 * piece}", data=photo[2 * piece :], headers=headers)
    assert ahead.status_code == 409 and ahead.json["received"] == piece
    # An intake sent before the photo is whole waits for it.
    early = sync(
        client,
        facilitator,
        intake_item(
            "in-photo-00001", SITTI["nik"], [{"upload_key": "photo-000000001", "kind": "ktp"}]
        ),
    )["in-photo-00001"]
    assert early["status"] == "retry"
    offset = piece
    while offset < len(photo):
        body = client.post(
            f"{url}?offset={offset}", data=photo[offset : offset + piece], headers=headers
        ).json
        offset = body["received"]
    assert body["complete"] is True
    done = sync(
        client,
        facilitator,
        intake_item(
            "in-photo-00001", SITTI["nik"], [{"upload_key": "photo-000000001", "kind": "ktp"}]
        ),
    )["in-photo-00001"]
    assert done["status"] == "applied"
    case_id = done["result"]["case_id"]
    shown = client.get(f"{BASE}/cases/{case_id}", headers=facilitator.headers)
    assert shown.status_code == 200, shown.json
    (attachment,) = shown.json["attachments"]
    assert attachment["kind"] == "ktp" and attachment["size"] == len(photo)
    assert attachment["content_type"] == "image/png"
    # The upload is gone with its pieces; the replay of the intake still answers the same.
    assert (
        client.get(f"{BASE}/field/uploads/{upload['id']}", headers=facilitator.headers).status_code
        == 404
    )
    replay = sync(
        client,
        facilitator,
        intake_item(
            "in-photo-00001", SITTI["nik"], [{"upload_key": "photo-000000001", "kind": "ktp"}]
        ),
    )["in-photo-00001"]
    assert replay["replayed"] is True and replay["result"]["case_id"] == case_id
    assert counts(app, parepare)["attachments"] == 1


def test_uploads_and_keys_belong_to_their_account(app, client, parepare, facilitator) -> None:
    other = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    start = {"key": "photo-000000001", "size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest()}
    upload = client.post(f"{BASE}/field/uploads", json=start, headers=facilitator.headers).json
    assert (
        client.get(f"{BASE}/field/uploads/{upload['id']}", headers=other.headers).status_code == 404
    )
    item = household_item("hh-shared-key-1", "7372010101110009", [SITTI])
    assert sync(client, facilitator, item)["hh-shared-key-1"]["status"] == "applied"
    # Another account's item under the same key is its own (and here a KK already registered).
    assert sync(client, other, item)["hh-shared-key-1"]["conflict"] == "kk_registered"


def test_an_agency_officer_may_not_sync(app, client, parepare, facilitator) -> None:
    ids = flow_catalog(app, parepare)
    officer = member(app, parepare, "agency_officer", agency_id=ids["dinkes"])
    item = household_item(f"hh-{uuid.uuid4().hex[:12]}", "7372010101110009", [SITTI])
    resp = client.post(f"{BASE}/field/sync", json={"items": [item]}, headers=officer.headers)
    assert resp.status_code == 403


def test_the_nightly_purge_forgets_abandoned_photos(app, client, parepare, facilitator) -> None:
    import datetime as dt

    from slrt.platform.filestore import store
    from slrt.tenants.field.actions import piece_key
    from slrt.tenants.field.models import FieldUpload
    from tests.platform.jobs.test_jobs import ask, job_row, run_burst

    photo = PNG + b"\x00" * 1000
    start = {
        "key": "photo-abandoned-1",
        "size": len(photo),
        "sha256": hashlib.sha256(photo).hexdigest(),
    }
    old = client.post(f"{BASE}/field/uploads", json=start, headers=facilitator.headers).json
    headers = {**facilitator.headers, "Content-Type": "application/octet-stream"}
    client.post(
        f"{BASE}/field/uploads/{old['id']}/pieces?offset=0", data=photo[:500], headers=headers
    )
    fresh = client.post(
        f"{BASE}/field/uploads",
        json={**start, "key": "photo-fresh-0001"},
        headers=facilitator.headers,
    ).json
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(FieldUpload)
            .where(FieldUpload.id == uuid.UUID(old["id"]))
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
        )
        db.session.commit()
        upload = db.session.get(FieldUpload, (parepare.id, uuid.UUID(old["id"])))
        piece = piece_key(upload, 0)
        db.session.remove()
    assert store().get(piece) == photo[:500]
    purge = ask(app, parepare, "field.purge")
    run_burst()
    assert job_row(app, parepare, purge).result == {"uploads": 1, "keys": 0}
    assert (
        client.get(f"{BASE}/field/uploads/{old['id']}", headers=facilitator.headers).status_code
        == 404
    )
    assert (
        client.get(f"{BASE}/field/uploads/{fresh['id']}", headers=facilitator.headers).status_code
        == 200
    )
    with pytest.raises(FileNotFoundError):
        store().get(piece)


def test_a_control_character_spoils_its_item_only(app, client, parepare, facilitator) -> None:
    bad = household_item("hh-control-0001", "7372010101110009", [{**SITTI, "name": "Sitti\x0f"}])
    good = household_item("hh-control-0002", "7372010101110010", [BASO])
    outcome = sync(client, facilitator, bad, good)
    assert outcome["hh-control-0001"]["status"] == "invalid"
    assert outcome["hh-control-0001"]["errors"][0]["field"] == "members.0.name"
    assert outcome["hh-control-0002"]["status"] == "applied"
    # Outside an item's data the whole outbox is refused, as every request is.
    bad["key"] = "hh-control\x0f01"
    resp = client.post(f"{BASE}/field/sync", json={"items": [bad]}, headers=facilitator.headers)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "items.0.key"
