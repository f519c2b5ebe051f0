"""Rows an import holds back (`import_conflicts`): kept with the batch that met them, listed in
the job's error report, applied later on the district's word.

An importer's sink calls `hold_back` instead of writing a row whose record changed in the system
after the file's upload (reason "changed", with the stored values it would replace) or lies
outside the uploader's region ("region", never applied). `conflict_errors` turns a job's held
rows into error-report lines, one per differing field with both values; `pending` and
`mark_applied` serve the job that applies them (each row once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.i18n import current_zone
from slrt.platform.region_codes import ZONE_LABELS
from slrt.platform.tabular.models import ConflictReason, ImportConflict
from slrt.platform.tabular.read import cell_text
from slrt.platform.tabular.validate import CellError, Sheet
from slrt.platform.tenancy import current_tenant


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Clean values as JSON (dates as YYYY-MM-DD)."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def clean_values(sheet: Sheet, stored: dict[str, Any]) -> dict[str, Any]:
    """`jsonable` undone with the sheet's column kinds."""
    kinds = {c.name: c.kind for c in sheet.columns}
    return {
        k: dt.date.fromisoformat(v) if kinds.get(k) == "date" and isinstance(v, str) else v
        for k, v in stored.items()
    }


def hold_back(
    job_id: uuid.UUID,
    row: int,
    reason: ConflictReason,
    key: str,
    values: dict[str, Any],
    stored: dict[str, Any],
    changed_at: dt.datetime | None = None,
) -> None:
    """Keep a row the import does not write; in the batch's transaction (a retried batch finds
    it there, once)."""
    db.session.execute(
        insert(ImportConflict)
        .values(
            tenant_id=current_tenant().id,
            job_id=job_id,
            row_number=row,
            reason=str(reason),
            record_key=key,
            file_values=jsonable(values),
            stored_values=jsonable(stored),
            changed_at=changed_at,
        )
        .on_conflict_do_nothing(constraint="uq_import_conflicts_tenant_id_job_id_row_number")
    )


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    zone = current_zone()
    return f"{moment.astimezone(ZoneInfo(zone)):%d-%m-%Y %H.%M} {ZONE_LABELS.get(zone, zone)}"


def conflict_errors(job_id: uuid.UUID) -> Iterator[CellError]:
    """The job's held rows as error-report lines, by row."""
    rows = db.session.execute(
        sa.select(ImportConflict)
        .where(ImportConflict.job_id == job_id)
        .order_by(ImportConflict.row_number)
    ).scalars()
    for held in rows:
        if held.reason == ConflictReason.region:
            column = next(iter(held.stored_values), "")
            msg = Msg(
                "Data ini terdaftar di desa/kelurahan di luar wilayah tugas Anda; baris ini tidak "
                "diterapkan.",
                "This record is registered in a village outside your region; the row is not "
                "applied.",
            )
            yield CellError(
                held.row_number, column, cell_text(held.file_values.get(column)), msg, msg.en
            )
            continue
        when = _when(held.changed_at)
        for column, stored in held.stored_values.items():
            shown = cell_text(stored)
            msg = Msg(
                f"Konflik: diubah di sistem pada {when}, setelah berkas ini diunggah; nilai di "
                f"sistem '{shown}'. Baris ini tidak diterapkan agar perubahan itu tidak "
                f"tertimpa. Bila isi berkas yang benar, terapkan konflik pekerjaan ini.",
                f"Conflict: changed in the system on {when}, after this file was uploaded; "
                f"stored value '{shown}'. The row was not applied so that change is not "
                f"overwritten. If the file is right, apply this job's conflicts.",
            )
            yield CellError(
                held.row_number,
                column,
                cell_text(held.file_values.get(column)),
                msg,
                msg.en,
                stored=shown,
            )


def _pending(job_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.and_(
        ImportConflict.job_id == job_id,
        ImportConflict.reason == ConflictReason.changed.value,
        ImportConflict.applied_job_id.is_(None),
    )


def pending(job_id: uuid.UUID, limit: int) -> list[ImportConflict]:
    """The next rows of a job that may be applied and were not yet (in row order)."""
    return list(
        db.session.execute(
            sa.select(ImportConflict)
            .where(_pending(job_id))
            .order_by(ImportConflict.row_number)
            .limit(limit)
        ).scalars()
    )


def count_pending(job_id: uuid.UUID) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).select_from(ImportConflict).where(_pending(job_id))
    ).scalar_one()


def mark_applied(ids: Iterable[uuid.UUID], by_job: uuid.UUID) -> None:
    db.session.execute(
        sa.update(ImportConflict)
        .where(ImportConflict.id.in_(list(ids)))
        .values(applied_job_id=by_job)
        .execution_options(synchronize_session=False)
    )


def forget(key: str) -> int:
    """Drop every held row of one record (a person's erasure)."""
    return db.session.execute(
        sa.delete(ImportConflict)
        .where(ImportConflict.record_key == key)
        .execution_options(synchronize_session=False)
    ).rowcount


def purge(job_ids: sa.Select) -> int:
    """Drop the held rows of old jobs (with their files, after the retention period)."""
    return db.session.execute(
        sa.delete(ImportConflict)
        .where(ImportConflict.job_id.in_(job_ids))
        .execution_options(synchronize_session=False)
    ).rowcount
