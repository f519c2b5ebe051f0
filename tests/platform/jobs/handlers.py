"""Job handlers used only by the tests. Imported by the test modules (forked work horses inherit
them) and by worker subprocesses that the tests start (`tests.platform.jobs.worker_main`)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.actor import current_actor
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.models import Job, JobFile
from slrt.platform.tenancy import current_tenant


@job_handler("test.peek", max_attempts=1)
def peek(ctx) -> dict:
    """What the job can see: its tenant, its actor, and how many job rows (ORM and raw SQL)."""
    return {
        "tenant": current_tenant().slug,
        "actor": current_actor().label,
        "orm_jobs": db.session.execute(sa.select(sa.func.count()).select_from(Job)).scalar(),
        "raw_jobs": db.session.execute(sa.text("SELECT count(*) FROM jobs")).scalar(),
        "raw_tenants_in_jobs": db.session.execute(
            sa.text("SELECT count(DISTINCT tenant_id) FROM jobs")
        ).scalar(),
    }


@job_handler("test.noop", max_attempts=1)
def noop(ctx) -> dict:
    return {"n": ctx.params.get("n")}


@job_handler("test.fail", max_attempts=1)
def fail(ctx) -> dict:
    raise ValueError("NIK kolom 3 rusak / broken NIK column")


@job_handler("test.parts", timeout=120, max_attempts=3)
def parts(ctx) -> dict:
    """Writes `n` parts, one checkpoint each, resuming where the last attempt stopped; the
    idempotency contract in action (upsert by name + progress committed with the data)."""
    n = int(ctx.params["n"])
    delay = float(ctx.params.get("sleep", 0))
    start = int(ctx.state.get("next", 0))
    written = int(ctx.counts.get("written", 0))
    for i in range(start, n):
        time.sleep(delay)
        ctx.save_file(f"part-{i}.txt", "text/plain", f"part {i}".encode(), role="result")
        written += 1
        ctx.progress(
            i + 1, n, f"part {i + 1}/{n}", counts={"written": written}, state={"next": i + 1}
        )
    files = db.session.execute(
        sa.select(sa.func.count()).select_from(JobFile).where(JobFile.job_id == ctx.job_id)
    ).scalar()
    return {"files": files}


@job_handler("test.export", max_attempts=1)
def export(ctx) -> dict:
    """Streams rows from a server-side cursor while reporting progress (the cursor must survive)."""
    from slrt.platform.tabular.exports import write_export

    n = int(ctx.params["n"])
    result = db.session.execute(
        sa.text(
            "SELECT g, CASE WHEN g = 1 THEN '=HYPERLINK(\"x\")' ELSE 'r' || g END FROM generate_series(1, :n) g"
        ).bindparams(n=n),
        execution_options={"yield_per": 1000},
    )
    return write_export(
        ctx,
        stem="ekspor-uji",
        header=["no", "nilai"],
        rows=result,
        fmt=ctx.params["format"],
        entity_type="test_rows",
        total=n,
    )


@job_handler("test.import", max_attempts=2)
def import_rows(ctx) -> dict:
    """The import pipeline as a job; the stand-in sink upserts one job file per NIK."""
    from slrt.platform.tabular.import_job import run_import_job
    from tests.platform.tabular.test_tabular import SHEET

    class Sink:
        def prepare(self, row: int, values: dict) -> int:
            # the job's own wrapping of the sink (its metering) must not lose this
            return row

        def __call__(self, batch, prepared):
            assert prepared == [row for row, _ in batch], "rows reached the write unprepared"
            for _row, values in batch:
                ctx.save_file(f"nik-{values['nik']}", "text/plain", values["nama"].encode())
            return {"stored": len(batch)}

    return run_import_job(ctx, SHEET, Sink(), batch_size=2)


@job_handler("test.hold", max_attempts=1)
def hold_once(ctx) -> dict:
    """Writes one part, is held (as by a daily quota), then resumes and writes the second."""
    import datetime as dt

    from slrt.platform.errors import Msg

    if not ctx.state.get("held"):
        ctx.save_file("part-0", "text/plain", b"0")
        ctx.progress(1, 2, counts={"written": 1}, state={"held": True})
        ctx.hold(
            dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(ctx.params["seconds"])),
            Msg(
                "Kuota impor harian habis; dilanjutkan besok.",
                "Daily import quota used up; resumes tomorrow.",
            ),
        )
    ctx.save_file("part-1", "text/plain", b"1")
    ctx.progress(2, 2, counts={"written": ctx.counts["written"] + 1})
    return {"files": 2}


@job_handler("test.slow", max_attempts=1)
def slow(ctx) -> dict:
    ctx.progress(1, 2, "started")
    time.sleep(float(ctx.params["seconds"]))
    return {}


@job_handler("test.data_error", max_attempts=3)
def data_error(ctx) -> dict:
    """Stores a value PostgreSQL refuses (as a NUL byte in an imported name was): the same data
    fails every time."""
    db.session.execute(
        sa.text("SELECT CAST(:name AS text), :nik"),
        {"name": "Andi\x00Baso", "nik": "7372010305800001"},
    )
    return {}


@job_handler("test.sql_error", max_attempts=1)
def sql_error(ctx) -> dict:
    db.session.execute(
        sa.text("SELECT * FROM no_such_table WHERE nik = :nik"), {"nik": "7372010305800001"}
    )
    return {}
