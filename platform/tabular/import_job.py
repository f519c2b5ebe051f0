"""Running an import as a job: the uploaded file, resumable checkpoints, the error report.

    @job_handler("registry.import", timeout=3 * 3600)
    def import_registry(ctx):
        return run_import_job(ctx, sheet, RegistryWriter(ctx.job_id, ctx.job.created_at, ...))

A refused file (hostile, wrong type, missing columns) fails the job at once with the reason in
Indonesian and English; it is not retried, since a retry cannot make the file better. A file
with a header and no rows succeeds, saying so in its message and result. Rows the sink held
back (`slrt.platform.tabular.conflicts`: counted by the sink as "conflict_rows" and
"out_of_region_rows") are listed in the error report and named in the final message.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import take_daily
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.i18n import current_zone, zone_label
from slrt.platform.jobs.runner import JobContext, JobRejected
from slrt.platform.tabular.conflicts import conflict_errors
from slrt.platform.tabular.imports import RowsHeld, Sink, run_import
from slrt.platform.tabular.read import FileRejected, check_size, estimate_rows, sniff_kind
from slrt.platform.tabular.validate import Sheet
from slrt.platform.tabular.write import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

ERROR_REPORT_STEM = "laporan-kesalahan"
# Rows per checkpoint: big enough that a batch's fixed costs (its transaction, the job's
# progress, each statement's planning) are small beside its rows, small enough that a resumed
# job redoes little and memory stays flat (`make bench` measures the import at this size).
# Measured on a 2-core machine, 100k rows, when the reading still ran on a thread beside the
# writing: 2,000 rows per batch took 5.4-5.5 s, 5,000 took 4.9-5.0 s and 10,000 took
# 5.1-5.2 s; peak memory 192 MB at 2,000 and 200 MB at 5,000, the same for 100k rows as for 1M.
BATCH_SIZE = 5000


def run_import_job(
    ctx: JobContext,
    sheet: Sheet,
    sink: Sink,
    *,
    batch_size: int = BATCH_SIZE,
    overlap: bool = False,
) -> dict[str, Any]:
    """`overlap`: the next batch is read in another process while the sink writes
    (`slrt.platform.tabular.imports.run_import`)."""
    state = ctx.state
    held_until: list[dt.datetime] = []

    def allow(first_row: int, n: int) -> int:
        # The plan's import rows per day; a retried batch (same job, same first row) gets the
        # grant it had, not a second one.
        grant = take_daily(Quota.IMPORT_ROWS, n, key=f"{ctx.job_id}:{first_row}")
        if grant.held:
            held_until.append(grant.resume_at)
        return grant.granted

    def metered_sink(batch: list[tuple[int, dict[str, Any]]], *prepared: Any) -> dict[str, int]:
        written = sink(batch, *prepared)
        meter.count(Metric.IMPORT_ROWS, len(batch))  # sent when the checkpoint commits
        return written

    if hasattr(sink, "prepare"):
        # Metering wraps the write only: the rows are still the sink's to prepare.
        metered_sink.prepare = sink.prepare  # type: ignore[attr-defined]

    with tempfile.TemporaryDirectory(prefix="slrt-import-") as tmp:
        src = Path(tmp) / "upload"
        src.write_bytes(ctx.input_bytes())
        total = estimate_rows(src)
        ctx.progress(
            ctx.job.progress_done or 0,
            total,
            "Berkas diperiksa / checking the file",
        )
        try:
            outcome = run_import(
                src,
                sheet,
                metered_sink,
                Path(tmp),
                checkpoint=ctx.progress,
                resume_after=int(state.get("row", 0)),
                written_before=state.get("written"),
                batch_size=batch_size,
                total_hint=total,
                allow=allow,
                conflicts=lambda: conflict_errors(ctx.job_id),
                overlap=overlap,
            )
        except FileRejected as exc:
            raise JobRejected(exc.msg) from None
        except RowsHeld as exc:
            until = held_until[-1]
            local, label = until.astimezone(ZoneInfo(current_zone())), zone_label()
            ctx.hold(
                until,
                Msg(
                    f"Ditahan: kuota baris impor hari ini habis setelah baris {exc.last_row}; "
                    f"dilanjutkan otomatis {local:%Y-%m-%d %H.%M} {label}",
                    f"Held: today's import rows quota ran out after row {exc.last_row}; "
                    f"resumes by itself at {local:%Y-%m-%d %H:%M} {label}",
                ),
            )
        summary = outcome.summary()
        if outcome.errors and outcome.report is not None:
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.csv", CSV_MEDIA_TYPE, outcome.report.csv_path, role="errors"
            )
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.xlsx",
                XLSX_MEDIA_TYPE,
                outcome.report.xlsx_path,
                role="errors",
            )
    message = done_message(outcome.rows, outcome.bad, summary)
    if outcome.rows == 0:
        summary["notice"], summary["notice_en"] = message, message.en
    ctx.progress(outcome.rows, outcome.rows, f"{message} / {message.en}", counts=summary)
    return summary


def done_message(rows: int, bad: int, counts: dict[str, Any]) -> Msg:
    """What the finished import says: rows in, rows with errors, rows held back."""
    if rows == 0:
        return Msg(
            "Berkas hanya berisi baris judul, tanpa baris data: tidak ada yang diimpor.",
            "The file holds only the header row, no data rows: nothing was imported.",
        )
    held = int(counts.get("conflict_rows") or 0)
    outside = int(counts.get("out_of_region_rows") or 0)
    written = rows - bad - held - outside
    text = Msg(
        f"Selesai: {written} baris masuk, {bad} baris bermasalah",
        f"Done: {written} rows in, {bad} rows with errors",
    )
    if held:
        text = Msg(
            f"{text}, {held} baris konflik dengan perubahan yang lebih baru (lihat laporan)",
            f"{text.en}, {held} rows in conflict with newer changes (see the report)",
        )
    if outside:
        text = Msg(
            f"{text}, {outside} baris di luar wilayah Anda",
            f"{text.en}, {outside} rows outside your region",
        )
    return text


def accept_upload(data: bytes, filename: str) -> str:
    """Early refusal in the request (before a job is queued) of what is plainly not a
    spreadsheet or is too large; returns the kind ("csv" or "xlsx"). The job re-checks
    everything (encodings, zip bombs, columns) on the full file."""
    with tempfile.NamedTemporaryFile(prefix="slrt-upload-") as tmp:
        tmp.write(data)
        tmp.flush()
        path = Path(tmp.name)
        try:
            check_size(path)
            kind = sniff_kind(path)
            if kind == "xlsx":
                from slrt.platform.tabular.read import check_xlsx_container

                check_xlsx_container(path)
        except FileRejected as exc:
            raise field_problem(422, "file", exc.msg) from None
    if not filename:
        raise Problem(422, Msg("Nama berkas kosong.", "The file has no name."))
    return kind
