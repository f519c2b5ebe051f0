"""Job handler of the field app: `field.purge`, nightly in every district. Photos a phone
started sending and never finished (their pieces hold personal data) are deleted once older
than the days a draft may wait on a phone, and the record of applied keys once no phone can
still hold a draft that would replay them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.filestore import store
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.platform.transaction import after_commit
from slrt.tenants.field.actions import piece_key
from slrt.tenants.field.models import FieldUpload, SyncedItem
from slrt.tenants.field.reference import draft_days

KEYS_KEPT_EXTRA_DAYS = 7  # beyond the drafts' own days: a phone's clock may run late


@job_handler("field.purge", timeout=900)
def purge_field_leftovers(ctx: JobContext) -> dict[str, Any]:
    """Nightly: abandoned uploads (rows and pieces) and applied keys past any replay.
    Idempotent: a second run finds nothing more to delete."""
    now = dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=draft_days())
    stale = list(
        db.session.execute(sa.select(FieldUpload).where(FieldUpload.updated_at < cutoff)).scalars()
    )
    keys = [piece_key(u, i) for u in stale for i in range(u.pieces)]
    for upload in stale:
        db.session.delete(upload)
    forgotten = db.session.execute(
        sa.delete(SyncedItem)
        .where(SyncedItem.received_at < cutoff - dt.timedelta(days=KEYS_KEPT_EXTRA_DAYS))
        .execution_options(synchronize_session=False)
    ).rowcount

    def delete_pieces() -> None:
        files = store()
        for key in keys:
            files.delete(key)

    after_commit(delete_pieces)  # only once the rows are gone for good
    counts = {"uploads": len(stale), "keys": forgotten}
    ctx.progress(1, 1, f"{len(stale)} unggahan dihapus / uploads deleted", counts=counts)
    return counts
