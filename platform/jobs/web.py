"""The district's background jobs as pages (/t/<slug>/jobs/...): the list, one job's page and
the files a job produced.

A job's page shows its live progress: a `<progress>` bar with the rows done of the total, the
good and bad rows so far, and "held until tomorrow" when the plan's daily quota paused it. It
works without JavaScript (while the job is under way the page refreshes itself every few
seconds); with JavaScript the page's own script (`jobs/progress.js`) asks `.../status` for the
same figures as JSON and moves the bar in place, then reloads the page once the job has ended
so its result and files appear.

Same permissions as the API: `jobs.read` to see jobs, `jobs.manage` to cancel, and a job's files
for the member who started it or holders of `jobs.manage` (`access_job_file`). Other areas add
links to a job's page for their kinds through `JOB_LINKS` (the registry's import conflicts), and
their pages that start jobs to the list through `JOB_STARTS` (the menu's "import and export").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import language, number, text_of
from slrt.platform.jobs.access import access_job_by_id, access_job_file, may_download
from slrt.platform.jobs.actions import cancel_job
from slrt.platform.jobs.api import file_response
from slrt.platform.jobs.models import TERMINAL, Job, JobFile, JobStatus
from slrt.platform.web import TenantPages, notice, page_of

bp = TenantPages("jobs_web", __name__, "/jobs", lookups={"job_id": access_job_by_id})

# Seconds between two looks at a job under way (the page's refresh and its script's polling).
REFRESH_SECONDS = 2

KIND_WORDS: dict[str, Msg] = {
    "registry.import": Msg("Impor registrasi", "Registry import"),
    "registry.apply_conflicts": Msg("Penerapan konflik impor", "Applying import conflicts"),
    "registry.export": Msg("Ekspor registrasi", "Registry export"),
    "cases.export": Msg("Ekspor layanan", "Cases export"),
    "referrals.export": Msg("Ekspor rujukan", "Referrals export"),
    "reports.monthly": Msg("Laporan bulanan layanan", "Monthly service report"),
    "reports.aggregates": Msg("Ringkasan dasbor", "Dashboard figures"),
    "referrals.escalate": Msg("Eskalasi rujukan terlambat", "Overdue referral escalation"),
    "mail.send": Msg("Pengiriman email", "Sending mail"),
    "mail.digest": Msg("Ringkasan harian lewat email", "Daily mail digest"),
    "jobs.purge_files": Msg("Pembersihan berkas lama", "Removing old files"),
}
OTHER_KIND = Msg("Tugas lain", "Other job")

STATUS_WORDS: dict[str, Msg] = {
    JobStatus.queued: Msg("Menunggu giliran", "Waiting its turn"),
    JobStatus.held: Msg("Ditahan sampai besok", "Held until tomorrow"),
    JobStatus.running: Msg("Berjalan", "Running"),
    JobStatus.succeeded: Msg("Selesai", "Done"),
    JobStatus.failed: Msg("Gagal", "Failed"),
    JobStatus.cancelled: Msg("Dibatalkan", "Cancelled"),
}
STATUS_BADGES = {
    JobStatus.held: "warn",
    JobStatus.succeeded: "ok",
    JobStatus.failed: "danger",
    JobStatus.cancelled: "warn",
}

# kind -> (job -> [(url, label)]): links an area adds to the page of its jobs.
JOB_LINKS: dict[str, Callable[[Job], list[tuple[str, Msg]]]] = {}


@dataclass(frozen=True)
class JobStart:
    """A page that starts jobs (an import, an export, a report), offered on the jobs list to
    the members whose permission opens it."""

    endpoint: str
    label: Msg
    permission: P


# Added by the areas whose pages start jobs.
JOB_STARTS: list[JobStart] = []


def can_follow_jobs() -> bool:
    """Whether the member may open job pages (`jobs.read`, as the API's job routes): a page
    that starts a job leads to it, or stays where it is for a member who may not."""
    return current_principal().can(str(P.JOBS_READ))


def after_start(job: Job, otherwise: str) -> Response:
    """Where a page goes once it has started `job`: the job's page, else `otherwise`."""
    if can_follow_jobs():
        return redirect(url_for("jobs_web.job_page", job_id=job.id))
    return redirect(url_for(otherwise))


def kind_words(kind: str) -> Msg:
    return KIND_WORDS.get(kind, OTHER_KIND)


def status_words(status: str) -> Msg:
    return STATUS_WORDS.get(status, Msg(status, status))


def in_language(text: str | None) -> str:
    """A stored job message "Indonesian / English" in the page's language (as it is when it
    has no such halves)."""
    if not text:
        return ""
    halves = text.split(" / ")
    if len(halves) != 2:
        return text
    return halves[1] if language() == "en" else halves[0]


def _count(job: Job, key: str) -> int | None:
    value = (job.counts or {}).get(key)
    return value if isinstance(value, int) else None


def job_status(job: Job) -> dict[str, Any]:
    """What a job's page and its script show: status in words, rows done of the total, good and
    bad rows so far, the job's own message."""
    total = job.progress_total
    done = job.progress_done or 0
    if total is not None and done > total:
        total = done  # the row count is estimated before the file is read
    percent = round(100 * done / total) if total else None
    if job.status == JobStatus.succeeded:
        percent = 100
    message = in_language(job.progress_message)
    if job.status == JobStatus.failed and job.error_summary:
        message = in_language(job.error_summary)
    good, bad = _count(job, "good_rows"), _count(job, "bad_rows")
    if total:
        rows = Msg(
            f"{number(done)} dari {number(total)} baris", f"{number(done)} of {number(total)} rows"
        )
    else:
        rows = Msg(f"{number(done)} baris", f"{number(done)} rows")
    return {
        "status": job.status,
        "status_text": text_of(status_words(job.status)),
        "badge": STATUS_BADGES.get(job.status, ""),
        "done": done,
        "total": total,
        "percent": percent,
        "good": good,
        "bad": bad,
        "rows_text": text_of(rows),
        "good_text": None
        if good is None
        else text_of(Msg(f"{number(good)} baik", f"{number(good)} good")),
        "bad_text": None
        if bad is None
        else text_of(Msg(f"{number(bad)} bermasalah", f"{number(bad)} with errors")),
        "message": message,
        "finished": job.status in TERMINAL,
        "held": job.status == JobStatus.held,
    }


def job_files(job: Job) -> list[JobFile]:
    """The files `job` produced (not its inputs), errors last."""
    return list(
        db.session.execute(
            sa.select(JobFile)
            .where(JobFile.job_id == job.id, JobFile.role != "input")
            .order_by(JobFile.role.desc(), JobFile.name)
        ).scalars()
    )


# --- the list ---------------------------------------------------------------------------------


@bp.get("")
@require(P.JOBS_READ)
def job_list():
    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    stmt = sa.select(Job)
    if kind in KIND_WORDS:
        stmt = stmt.where(Job.kind == kind)
    if status in STATUS_WORDS:
        stmt = stmt.where(Job.status == status)
    page = page_of(stmt, Job.created_at.desc(), Job.id.desc())
    principal = current_principal()
    return render_template(
        "jobs/list.html",
        page=page,
        starts=[
            (url_for(start.endpoint), start.label)
            for start in JOB_STARTS
            if principal.can(str(start.permission))
        ],
        kind=kind if kind in KIND_WORDS else None,
        status=status if status in STATUS_WORDS else None,
        kinds=list(KIND_WORDS.items()),
        statuses=list(STATUS_WORDS.items()),
        kind_words=kind_words,
        status_of=job_status,
    )


# --- one job ----------------------------------------------------------------------------------


@bp.get("/<uuid:job_id>")
@require(P.JOBS_READ)
def job_page(job_id: uuid.UUID):
    job = access_job_by_id(job_id)
    state = job_status(job)
    links = JOB_LINKS.get(job.kind)
    return render_template(
        "jobs/job.html",
        job=job,
        state=state,
        kind=kind_words(job.kind),
        files=job_files(job) if state["finished"] else [],
        may_download=may_download(job),
        may_cancel=not state["finished"] and current_principal().can(str(P.JOBS_MANAGE)),
        links=links(job) if links else [],
        refresh=REFRESH_SECONDS,
        result=job.result or {},
    )


@bp.get("/<uuid:job_id>/status")
@require(P.JOBS_READ)
def job_status_json(job_id: uuid.UUID):
    """The job's progress for the page's script (the page itself shows the same)."""
    response = jsonify(job_status(access_job_by_id(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<uuid:job_id>/files/<string:name>")
@require(P.JOBS_READ)
def job_file(job_id: uuid.UUID, name: str):
    return file_response(access_job_file(access_job_by_id(job_id), name))


@bp.post("/<uuid:job_id>/cancel")
@require(P.JOBS_MANAGE)
def cancel(job_id: uuid.UUID):
    job = access_job_by_id(job_id, lock=True)
    try:
        cancel_job(job)
    except Problem as exc:
        detail = exc.detail
        notice(detail if isinstance(detail, Msg) else Msg(str(detail), str(detail)))
    else:
        notice(Msg("Tugas dibatalkan.", "The job was cancelled."))
    return redirect(url_for("jobs_web.job_page", job_id=job.id))
