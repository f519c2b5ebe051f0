"""The write layer of the field app: photos uploaded in pieces, and the items of a device's
outbox applied one by one through the SAME actions as the online pages and API (registering a
household and its members, registering a visit with its photos, a follow-up note), under the
same permission check and region scope, each recorded in the audit trail with the time it was
captured on the device and the time it arrived.

Every item carries a key made on the device. The key is claimed in the item's own transaction
(a unique row per account and key), so a retry, a double tap or a second tab sending the same
item gets the result stored the first time and writes nothing; an item that is refused rolls
back, key included, and can be sent again once the facilitator has chosen what to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from slrt.auth.permissions import P
from slrt.auth.policy import authorize, current_principal
from slrt.platform import db
from slrt.platform.audit.record import recorded_with
from slrt.platform.config import max_upload_bytes
from slrt.platform.errors import Msg, Problem, field_problem, too_large
from slrt.platform.filestore import store
from slrt.platform.transaction import action, after_commit
from slrt.tenants.field.access import synced_item, upload_by_key
from slrt.tenants.field.models import FieldUpload, SyncedItem
from slrt.tenants.flow import actions as flow
from slrt.tenants.flow.access import access_case_by_id
from slrt.tenants.registry import actions as registry
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.models import Person

PIECE_BYTES = 256 * 1024  # the largest piece of a photo sent in one request

# What each kind of item needs: the permission of the online operation it stands for.
ITEM_PERMISSIONS = {
    "household": P.REGISTRY_WRITE,
    "intake": P.CASES_REGISTER,
    "follow_up": P.CASES_FOLLOW_UP,
}


# --- photos in pieces ---------------------------------------------------------------------------


def piece_key(upload: FieldUpload, index: int) -> str:
    return f"{upload.tenant_id}/field-uploads/{upload.id.hex}/{index:05d}"


@action
def start_upload(client_key: str, size: int, sha256: str) -> FieldUpload:
    """The upload a device announces under its own key (the same one again when it asks twice,
    so it resumes where the server stopped)."""
    limit = max_upload_bytes()
    if size > limit:
        raise field_problem(413, "size", too_large(limit, size))
    existing = upload_by_key(client_key)
    if existing is not None:
        if existing.size != size or existing.sha256 != sha256:
            raise field_problem(
                409,
                "key",
                Msg(
                    "Kunci unggahan ini sudah dipakai untuk berkas lain.",
                    "This upload key is already used for another file.",
                ),
            )
        return existing
    upload = FieldUpload(
        account_id=current_principal().account_id,
        client_key=client_key,
        size=size,
        sha256=sha256.lower(),
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it starts.
        with db.session.begin_nested():
            db.session.add(upload)
            db.session.flush()
    except sa.exc.IntegrityError:
        # The same announcement from another tab won the race: resume that one.
        found = upload_by_key(client_key)
        assert found is not None
        return found
    return upload


@action
def add_piece(upload: FieldUpload, offset: int, data: bytes) -> FieldUpload:
    """Store the piece that starts at `offset`. A piece the server already has (its answer was
    lost on the way) changes nothing; the device continues from `received`."""
    if offset < upload.received or upload.complete:
        return upload
    if offset > upload.received:
        raise Problem(
            409,
            Msg(
                f"Potongan dimulai di bita {offset}, server baru menerima {upload.received}.",
                f"The piece starts at byte {offset}; the server has {upload.received} so far.",
            ),
            received=upload.received,
        )
    if not data:
        raise field_problem(422, "file", Msg("Potongan kosong.", "The piece is empty."))
    if len(data) > PIECE_BYTES:
        raise field_problem(413, "file", too_large(PIECE_BYTES, len(data)))
    if upload.received + len(data) > upload.size:
        raise field_problem(
            422,
            "file",
            Msg(
                "Potongan melebihi ukuran berkas yang diumumkan.",
                "The piece goes past the announced size of the file.",
            ),
        )
    # A retried piece has the same key and overwrites a copy whose transaction did not commit.
    store().put(piece_key(upload, upload.pieces), data, "application/octet-stream")
    upload.pieces += 1
    upload.received += len(data)
    return upload


def _assembled(upload: FieldUpload) -> bytes:
    files = store()
    data = b"".join(files.get(piece_key(upload, i)) for i in range(upload.pieces))
    if len(data) != upload.size or hashlib.sha256(data).hexdigest() != upload.sha256:
        raise field_problem(
            422,
            "photos",
            Msg(
                "Foto tiba rusak (isi tidak sesuai sidik jarinya); kirim ulang.",
                "The photo arrived damaged (its content does not match its hash); send it again.",
            ),
        )
    return data


def _discard(upload: FieldUpload) -> None:
    """The upload became an attachment: its row goes with this transaction, its pieces after
    it commits (never before: a rollback keeps everything for the retry)."""
    keys = [piece_key(upload, i) for i in range(upload.pieces)]
    db.session.delete(upload)

    def delete_pieces() -> None:
        files = store()
        for key in keys:
            files.delete(key)

    after_commit(delete_pieces)


# --- the items of the outbox --------------------------------------------------------------------


def conflict(detail: Msg, kind: str, choices: list[str], **facts: Any) -> Problem:
    """A refusal the facilitator answers with a choice (the item stays on the device)."""
    return Problem(409, detail, conflict=kind, choices=choices, **facts)


def _under(exc: Problem, prefix: str) -> Problem:
    """The same refusal with its field names placed under `prefix` (a member of a household)."""
    errors = [
        {**e, "field": f"{prefix}.{e.get('field') or ''}".rstrip(".")} for e in exc.errors or []
    ]
    return Problem(exc.code or 422, exc.detail, errors=errors or None, **exc.extra)


def _apply_household(data: dict[str, Any]) -> dict[str, Any]:
    from slrt.tenants.registry.web import version_of  # the registry's ETag of a household

    members = data.get("members") or []
    if data.get("household_id"):
        household = access_household_by_id(data["household_id"], lock=True)
        if data.get("seen") != version_of(household) and not data.get("apply_anyway"):
            raise conflict(
                Msg(
                    "Data keluarga ini diubah orang lain sejak Anda melihatnya.",
                    "Someone else changed this household since you looked at it.",
                ),
                "household_changed",
                ["apply_anyway", "discard"],
                household_id=str(household.id),
                version=version_of(household),
            )
    else:
        fields = {k: data[k] for k in ("kk_number", "address", "village_code") if k in data}
        try:
            household = registry.create_household(fields)
        except Problem as exc:
            existing = exc.extra.get("existing_household_id")
            if exc.code != 409 or not existing:
                raise
            # Only a household inside the facilitator's region is offered (404 otherwise).
            found = access_household_by_id(uuid.UUID(existing))
            raise conflict(
                Msg(
                    f"Nomor KK {found.kk_number} sudah terdaftar; tambahkan anggota ke KK itu?",
                    f"KK number {found.kk_number} is already registered; add the members to it?",
                ),
                "kk_registered",
                ["add_to_existing", "discard"],
                household_id=str(found.id),
                version=version_of(found),
            ) from None
    persons = []
    for i, member in enumerate(members):
        if member.get("existing_person_id"):
            person = access_person_by_id(member["existing_person_id"])
            persons.append({"index": i, "person_id": str(person.id), "existing": True})
            continue
        fields = {k: v for k, v in member.items() if k != "existing_person_id"}
        try:
            person = registry.create_person(fields, household)
        except Problem as exc:
            existing = exc.extra.get("existing_person_id")
            if exc.code == 409 and existing:
                raise conflict(
                    Msg(
                        f"NIK {fields['nik']} ({fields['name']}) sudah terdaftar di "
                        "kabupaten/kota ini.",
                        f"NIK {fields['nik']} ({fields['name']}) is already registered in this "
                        "district.",
                    ),
                    "nik_registered",
                    ["use_existing", "discard"],
                    member=i,
                    existing_person_id=existing,
                ) from None
            raise _under(exc, f"members.{i}") from None
        persons.append({"index": i, "person_id": str(person.id), "existing": False})
    return {"household_id": str(household.id), "persons": persons}


NIK_UNKNOWN = Msg(
    "NIK ini belum terdaftar di wilayah Anda; kirim dulu keluarganya.",
    "This NIK is not registered in your region; send the household first.",
)


def _person_for(data: dict[str, Any]) -> Person:
    if data.get("person_id"):
        return access_person_by_id(data["person_id"])
    person = db.session.execute(
        sa.select(Person).where(
            Person.nik == data.get("nik"),
            Person.erased_at.is_(None),
            current_principal().region_clause(Person.village_code),
        )
    ).scalar_one_or_none()
    if person is None:
        raise field_problem(422, "nik", NIK_UNKNOWN)
    return person


def _apply_intake(data: dict[str, Any]) -> dict[str, Any]:
    person = _person_for(data)
    body = {k: data[k] for k in ("kind", "channel", "description", "needs") if k in data}
    body["person_id"] = person.id
    if data.get("village_code"):
        body["village_code"] = data["village_code"]
    files, uploads = [], []
    for i, photo in enumerate(data.get("photos") or []):
        upload = upload_by_key(photo["upload_key"], lock=True)
        if upload is None or not upload.complete:
            raise field_problem(
                409,
                f"photos.{i}",
                Msg(
                    "Foto belum selesai terkirim; pengiriman akan dilanjutkan.",
                    "The photo has not fully arrived yet; sending will resume.",
                ),
            )
        files.append((photo["kind"], photo.get("filename") or "", _assembled(upload)))
        uploads.append(upload)
    case = flow.register_case_with_attachments(body, files)
    for upload in uploads:
        _discard(upload)
    return {
        "case_id": str(case.id),
        "ticket_number": case.ticket_number,
        "person_id": str(person.id),
    }


def _apply_follow_up(data: dict[str, Any]) -> dict[str, Any]:
    case = access_case_by_id(data["case_id"], lock=True)
    flow.follow_up_case(case, data["note"])
    return {"case_id": str(case.id), "ticket_number": case.ticket_number}


APPLY: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "household": _apply_household,
    "intake": _apply_intake,
    "follow_up": _apply_follow_up,
}


@action
def apply_item(
    client_key: str,
    kind: str,
    captured_at: dt.datetime,
    data: dict[str, Any],
    received_at: dt.datetime,
) -> dict[str, Any]:
    """Apply one outbox item once: the result stored under its key (`replayed` true when the
    key had been applied before), or the Problem that refused it."""
    principal = current_principal()
    authorize(principal, str(ITEM_PERMISSIONS[kind]))
    claim = SyncedItem(
        account_id=principal.account_id,
        client_key=client_key,
        kind=kind,
        captured_at=captured_at,
        received_at=received_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Applied before (or just now, by a request that waited on the same key).
        done = synced_item(client_key)
        assert done is not None and done.result is not None
        return {**done.result, "replayed": True}
    facts = {
        "key": client_key,
        "captured_at": captured_at.astimezone(dt.UTC).isoformat(),
        "received_at": received_at.astimezone(dt.UTC).isoformat(),
    }
    with recorded_with(sync=facts):
        result = APPLY[kind](data)
    claim.result = result
    return {**result, "replayed": False}
