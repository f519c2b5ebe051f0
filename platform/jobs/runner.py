"""Running one job: in its district (both isolation walls), as its actor, in a fresh session.

rq forks a work horse per job. The horse inherits the parent's database pool and Redis sockets,
which still belong to the parent: `_fresh_process` forgets them without closing them (closing
would send a ROLLBACK or QUIT on the parent's connections) and opens new ones.

How a job fails: a handler's refusal (`JobRejected`) and a data error PostgreSQL raises for the
values themselves (SQLSTATE class 22: a NUL byte, a value too long, an impossible date) fail
the job at once, since running it again would meet the same data; anything else is retried up
to the job's attempts. The error a job shows never carries SQL or its parameters (which hold
personal data): only the kind of error and the database's own one-line reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rq import get_current_job

from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.platform import db
from slrt.platform.actor import acting_as
from slrt.platform.jobs.handlers import handler_for
from slrt.platform.jobs.models import TERMINAL, Job, JobFile, JobStatus
from slrt.platform.logs import request_id_context
from slrt.platform.tenancy import tenant_context
from slrt.platform.transaction import joined

log = logging.getLogger(__name__)

_process_pid: int | None = None


class JobCancelled(Exception):
    """Raised at a checkpoint when the job was cancelled while running."""


class JobHeld(Exception):
    """Raised by `ctx.hold`: pause the job (status "held") until `until`, then resume it."""

    def __init__(self, until: dt.datetime, msg: Any) -> None:
        super().__init__(getattr(msg, "en", str(msg)))
        self.until = until
        self.msg = msg


class JobRejected(Exception):
    """A handler's permanent refusal (e.g. a hostile file): the job fails at once, no retry."""

    def __init__(self, msg: Any) -> None:  # an slrt.platform.errors.Msg
        super().__init__(getattr(msg, "en", str(msg)))
        self.msg = msg


def _fresh_process() -> None:
    global _process_pid
    if _process_pid == os.getpid():
        return
    from slrt.platform.redis_client import make_patient
    from slrt.platform.runtime import database_url

    db.session.registry.clear()  # drop the inherited session without closing its connection
    db.init_engine(database_url(), pool_size=2, max_overflow=2)
    make_patient()  # a job waits out a short Redis outage (e.g. its quota checks)
    _process_pid = os.getpid()


def _now() -> Any:
    return sa.func.now()


class JobContext:
    """What a handler gets: its parameters, its resume state, progress and files."""

    def __init__(self, job: Job) -> None:
        self.job = job

    @property
    def job_id(self) -> uuid.UUID:
        return self.job.id

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params or {}

    @property
    def state(self) -> dict[str, Any]:
        """Resume data saved by the last checkpoint (empty on a first attempt)."""
        return dict(self.job.state or {})

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.job.counts or {})

    def progress(
        self,
        done: int | None = None,
        total: int | None = None,
        message: str | None = None,
        *,
        counts: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Checkpoint: commit the handler's pending writes together with progress, counts and
        resume state, then stop if the job was cancelled meanwhile."""
        job = self.job
        if done is not None:
            job.progress_done = done
        if total is not None:
            job.progress_total = total
        if message is not None:
            job.progress_message = message[:300]
        if counts is not None:
            job.counts = dict(counts)
        if state is not None:
            job.state = dict(state)
        db.session.commit()
        cancelled = db.session.execute(
            sa.select(Job.cancel_requested).where(Job.id == job.id)
        ).scalar_one()
        db.session.commit()
        if cancelled:
            raise JobCancelled()

    def hold(self, until: dt.datetime, message: Any) -> None:
        """Pause until `until` (e.g. a daily quota is used up): the job shows "held" with
        `message` and resumes by itself from its last checkpoint. Call it right after
        `progress(...)`: writes not checkpointed are rolled back."""
        raise JobHeld(until, message)

    def note_progress(
        self, done: int, total: int | None = None, message: str | None = None
    ) -> None:
        """Progress without a checkpoint: written in a separate short transaction, so the
        handler's own transaction (e.g. a streaming query) stays open. Stops if cancelled."""
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["progress_message"] = message[:300]
        with db.SessionFactory() as side:
            cancelled = side.execute(
                sa.update(Job)
                .where(Job.id == self.job.id)
                .values(**values)
                .returning(Job.cancel_requested)
            ).scalar_one()
            side.commit()
        if cancelled:
            raise JobCancelled()

    def input_bytes(self, name: str | None = None) -> bytes:
        stmt = sa.select(JobFile.content).where(
            JobFile.job_id == self.job.id, JobFile.role == "input"
        )
        if name is not None:
            stmt = stmt.where(JobFile.name == name)
        return db.session.execute(stmt.limit(1)).scalar_one()

    def input_name(self) -> str:
        return db.session.execute(
            sa.select(JobFile.name).where(JobFile.job_id == self.job.id, JobFile.role == "input")
        ).scalar_one()

    def save_file(
        self, name: str, media_type: str, content: bytes | Path, *, role: str = "result"
    ) -> None:
        """Store (or replace, so a retry does not duplicate) a file the job produced. It is
        committed with the next checkpoint or at the end of the job."""
        data = content.read_bytes() if isinstance(content, Path) else content
        existing = db.session.execute(
            sa.select(JobFile).where(JobFile.job_id == self.job.id, JobFile.name == name)
        ).scalar_one_or_none()
        if existing is None:
            db.session.add(
                JobFile(
                    tenant_id=self.job.tenant_id,
                    job_id=self.job.id,
                    role=role,
                    name=name,
                    media_type=media_type,
                    size=len(data),
                    content=data,
                )
            )
        else:
            existing.role, existing.media_type = role, media_type
            existing.size, existing.content = len(data), data


def describe_error(exc: BaseException) -> str:
    """`Kind: reason` for a job's error, without SQL: a database error's statement and
    parameters (SQLAlchemy appends them) are left out, and only the driver's first line kept."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        reason = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {reason[0] if reason else ''}".strip(": ")
    return f"{type(exc).__name__}: {exc}"


def data_error_summary(exc: sa.exc.DataError) -> str:
    reason = describe_error(exc)
    return (
        f"Data tidak dapat disimpan dan tidak akan berhasil bila diulang ({reason}). Perbaiki "
        f"datanya lalu jalankan lagi. / The data cannot be stored and would fail again on a "
        f"retry ({reason}). Correct the data and run it again."
    )[:2000]


def _log_status(job: Job, status: JobStatus) -> None:
    log.info(
        "job %s %s",
        job.kind,
        status.value,
        extra={"job_id": str(job.id), "job_kind": job.kind, "job_status": status.value},
    )


def _finish(job: Job, status: JobStatus, **values: Any) -> None:
    job.status = status.value
    job.finished_at = _now()
    for key, value in values.items():
        setattr(job, key, value)
    db.session.commit()
    _log_status(job, status)


def run_job(tenant_id: int, job_id: str) -> dict[str, Any]:
    """The rq entry point: run job `job_id` of district `tenant_id`."""
    from slrt.platform.tenant import Tenant

    _fresh_process()
    try:
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            return {"skipped": "tenant gone"}
        ref = tenant.ref()
        db.session.commit()
        with tenant_context(ref):
            uid = uuid.UUID(job_id)
            # The log lines of the job carry the id of the request that asked for it.
            request_id = db.session.execute(
                sa.select(Job.request_id).where(Job.id == uid)
            ).scalar_one_or_none()
            db.session.commit()
            with request_id_context(request_id):
                return _run_in_tenant(uid)
    finally:
        db.session.remove()


def _run_in_tenant(job_id: uuid.UUID) -> dict[str, Any]:
    job = db.session.execute(
        sa.select(Job).where(Job.id == job_id).with_for_update()
    ).scalar_one_or_none()
    if job is None:
        db.session.commit()
        return {"skipped": "no such job"}
    if job.status in TERMINAL:
        db.session.commit()  # exactly once: a finished or cancelled job never starts again
        return {"skipped": job.status}
    if job.cancel_requested:
        _finish(job, JobStatus.cancelled)
        return {"cancelled": True}
    try:
        spec = handler_for(job.kind)
    except LookupError as exc:
        _finish(job, JobStatus.failed, error_summary=str(exc))
        return {"failed": str(exc)}
    job.status = JobStatus.running.value
    job.attempts += 1
    job.started_at = job.started_at or _now()
    job.error_summary = None
    db.session.commit()
    _log_status(job, JobStatus.running)
    ctx = JobContext(job)
    with acting_as(job.actor()), joined():
        try:
            result = spec.fn(ctx) or {}
        except JobCancelled:
            db.session.rollback()
            _finish(job, JobStatus.cancelled, progress_message="Dibatalkan / cancelled")
            return {"cancelled": True}
        except JobHeld as exc:
            from slrt.platform.jobs.outbox import add_to_outbox

            db.session.rollback()
            job.status = JobStatus.held.value
            job.progress_message = f"{exc.msg} / {getattr(exc.msg, 'en', '')}"[:300]
            # The resumption goes through the outbox, so a Redis outage cannot lose it.
            add_to_outbox(
                job.tenant_id,
                job.id,
                spec,
                rq_job_id=f"{job.id}-r{job.attempts}",
                run_after=exc.until,
            )
            db.session.commit()
            return {"held_until": exc.until.isoformat()}
        except JobRejected as exc:
            db.session.rollback()
            summary = f"{exc.msg} / {getattr(exc.msg, 'en', '')}".strip(" /")
            _finish(job, JobStatus.failed, error_summary=summary[:2000])
            return {"rejected": True}
        except sa.exc.DataError as exc:
            db.session.rollback()
            log.warning("job %s failed on its data: %s", job.id, describe_error(exc))
            _finish(job, JobStatus.failed, error_summary=data_error_summary(exc))
            return {"rejected": True}
        except BaseException as exc:
            db.session.rollback()
            rq_job = get_current_job()
            retrying = bool(rq_job and rq_job.retries_left)
            summary = describe_error(exc)[:2000]
            if retrying:
                job.status = JobStatus.queued.value
                job.error_summary = summary
                db.session.commit()
            else:
                _finish(job, JobStatus.failed, error_summary=summary)
            raise
    meter.count(Metric.JOBS_RUN, tenant_id=job.tenant_id)  # sent when _finish commits
    _finish(job, JobStatus.succeeded, result=result, error_summary=None)
    return result
