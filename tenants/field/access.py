"""Access to the field app's records: a device's uploads and synced items belong to the account
that made them; anyone else's (and another district's) answer 404 like a missing one."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform import db
from slrt.platform.db import one_or_404
from slrt.platform.errors import Msg
from slrt.tenants.field.models import FieldUpload, SyncedItem

UPLOAD_NOT_FOUND = Msg("Unggahan tidak ditemukan.", "Upload not found.")


def _own_uploads() -> sa.Select:
    return sa.select(FieldUpload).where(FieldUpload.account_id == current_principal().account_id)


def access_upload_by_id(upload_id: uuid.UUID, *, lock: bool = False) -> FieldUpload:
    return one_or_404(
        _own_uploads().where(FieldUpload.id == upload_id), UPLOAD_NOT_FOUND, lock=lock
    )


def upload_by_key(client_key: str, *, lock: bool = False) -> FieldUpload | None:
    """This account's upload made under `client_key` on its device, if the server has it."""
    stmt = _own_uploads().where(FieldUpload.client_key == client_key)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.execute(stmt).scalar_one_or_none()


def synced_item(client_key: str) -> SyncedItem | None:
    """This account's item synced under `client_key`, if it was applied."""
    return db.session.execute(
        sa.select(SyncedItem).where(
            SyncedItem.account_id == current_principal().account_id,
            SyncedItem.client_key == client_key,
        )
    ).scalar_one_or_none()
