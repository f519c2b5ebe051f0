"""Job handlers of DTSEN:

- `dtsen.check`: the dry run of an uploaded SIKS-NG file (nothing written: counts, a preview
  file and the first rows for the page, the error report);
- `dtsen.apply`: its application (records, listed persons, households' current fields);
  checkpointed per chunk of families, resumed after a crash;
- `dtsen.submissions_import`: the usul and sanggah Kemensos forwarded, by their reference (a
  file imported twice adds nothing), through the registry import's pipeline and error report;
- `dtsen.deem_overdue`: daily (scheduler), every usul or sanggah left unverified past its clock
  is deemed rejected, with its letter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext, JobRejected
from slrt.platform.tabular.import_job import run_import_job
from slrt.platform.tabular.validate import Column, Sheet
from slrt.platform.tenancy import current_tenant
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.imports import run_dtsen_import
from slrt.tenants.dtsen.models import DtsenImport, Submission
from slrt.tenants.regions.models import Village
from slrt.tenants.registry.jobs import region_test
from slrt.tenants.registry.nik import kk_problems, nik_problems


def _import_of(ctx: JobContext) -> DtsenImport:
    found = db.session.execute(
        sa.select(DtsenImport)
        .where(DtsenImport.id == uuid.UUID(ctx.params["import_id"]))
        .options(sa.orm.undefer(DtsenImport.content))
    ).scalar_one_or_none()
    if found is None or found.content is None:
        raise JobRejected(Msg("Berkas impor tidak ada lagi.", "The imported file is gone."))
    return found


@job_handler("dtsen.check", timeout=3 * 3600)
def check_dtsen(ctx: JobContext) -> dict[str, Any]:
    """Dry run: what the file would change, nothing written."""
    dtsen_import = _import_of(ctx)
    result = run_dtsen_import(ctx, dtsen_import, apply=False)
    if dtsen_import.check_job_id == ctx.job_id:
        dtsen_import.status = "checked"
    return result


@job_handler("dtsen.apply", timeout=4 * 3600)
def apply_dtsen(ctx: JobContext) -> dict[str, Any]:
    """Write the file's standing for its period."""
    dtsen_import = _import_of(ctx)
    result = run_dtsen_import(ctx, dtsen_import, apply=True)
    dtsen_import.status = "applied"
    dtsen_import.applied_at = dt.datetime.now(dt.UTC)
    dtsen_import.content = None  # applied: the records keep what it said
    return result


# --- usul and sanggah forwarded by Kemensos -----------------------------------------------------

KINDS = {"usul": "usul", "usulan": "usul", "sanggah": "sanggah", "sanggahan": "sanggah"}


def submissions_sheet(villages: set[str]) -> Sheet:
    def village_check(code: str) -> Msg | None:
        if code not in villages:
            return Msg(
                f"Kode desa/kelurahan '{code}' tidak ada di kabupaten/kota ini.",
                f"Village code '{code}' does not exist in this district.",
            )
        return None

    def nik_check(value: str) -> Msg | None:
        problems = nik_problems(value)
        return problems[0] if problems else None

    def kk_check(value: str) -> Msg | None:
        problems = kk_problems(value)
        return problems[0] if problems else None

    return Sheet(
        [
            Column(
                "id",
                required=True,
                aliases=("id usulan", "no usulan", "nomor usulan", "referensi", "id tiket"),
                label="ID usulan",
                max_length=64,
                unique=True,
            ),
            Column(
                "jenis",
                "choice",
                required=True,
                aliases=("jenis usulan", "tipe"),
                choices=KINDS,
                label="Jenis",
            ),
            Column("nik", "id16", aliases=("nik art",), label="NIK", check=nik_check),
            Column("nama", required=True, aliases=("nama lengkap",), label="Nama"),
            Column("no_kk", "id16", aliases=("nokk", "nomor kk"), label="Nomor KK", check=kk_check),
            Column("alamat", max_length=500, label="Alamat"),
            Column(
                "kode_desa",
                required=True,
                aliases=("kddesa", "kode wilayah", "kode desa kelurahan"),
                label="Kode desa/kelurahan",
                max_length=13,
                check=village_check,
            ),
            Column(
                "alasan",
                required=True,
                aliases=("keterangan", "alasan usulan"),
                label="Alasan",
                max_length=2000,
            ),
            Column("pengusul", aliases=("nama pengusul", "pelapor"), label="Pengusul"),
            Column("tanggal", "date", aliases=("tanggal usulan", "tgl usulan"), label="Tanggal"),
        ]
    )


class SubmissionWriter:
    """The sink: one usul/sanggah per reference, created through the same action as at the
    Puskesos (so the clock, the region and the checks are the same); a refused item is held back
    with its reason, an item already imported is left alone."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.in_scope = region_test(ctx.params)
        self.refused: list[tuple[int, str, Msg]] = []

    def __call__(self, batch: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
        from slrt.platform.transaction import joined

        counts = {"submissions_created": 0, "submissions_unchanged": 0, "out_of_region_rows": 0}
        refs = [v["id"] for _, v in batch]
        known = set(
            db.session.execute(
                sa.select(Submission.source_ref).where(Submission.source_ref.in_(refs))
            ).scalars()
        )
        for row, values in batch:
            if values["id"] in known:
                counts["submissions_unchanged"] += 1
                continue
            if not self.in_scope(values["kode_desa"]):
                counts["out_of_region_rows"] += 1
                continue
            data = {
                "kind": values["jenis"],
                "channel": "kemensos",
                "nik": values.get("nik"),
                "name": values["nama"],
                "kk_number": values.get("no_kk"),
                "address": values.get("alamat") or None,
                "village_code": values["kode_desa"],
                "reason": values["alasan"],
                "submitter_name": values.get("pengusul") or None,
                "received_on": values.get("tanggal"),
                "source_ref": values["id"],
            }
            try:
                with db.session.begin_nested(), joined():
                    actions.create_submission(data, covers=self.in_scope)
            except Problem as exc:
                self.refused.append((row, "id", exc.detail))
                continue
            counts["submissions_created"] += 1
        return counts


@job_handler("dtsen.submissions_import", timeout=3600)
def import_submissions(ctx: JobContext) -> dict[str, Any]:
    """The usul and sanggah Kemensos forwarded (CSV/XLSX)."""
    villages = set(db.session.execute(sa.select(Village.code)).scalars())
    writer = SubmissionWriter(ctx)
    summary = run_import_job(ctx, submissions_sheet(villages), writer)
    if writer.refused:
        summary["refused"] = [
            {"row": row, "message": str(msg), "message_en": getattr(msg, "en", str(msg))}
            for row, _, msg in writer.refused[:100]
        ]
    return summary


# --- the clock ----------------------------------------------------------------------------------


@job_handler("dtsen.deem_overdue", timeout=900)
def deem_overdue_job(ctx: JobContext) -> dict[str, Any]:
    """Daily: usul and sanggah unverified past their clock are deemed rejected, with a letter."""
    from slrt.platform.transaction import joined

    with joined():
        deemed = actions.deem_overdue()
    ctx.progress(
        1,
        1,
        f"{deemed} usul/sanggah dianggap ditolak / deemed rejected",
        counts={"deemed_rejected": deemed, "district": current_tenant().code},
    )
    return {"deemed_rejected": deemed}
