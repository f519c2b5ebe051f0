"""Usul and sanggah pages (/t/<slug>/dtsen/submissions/...): the list (nearest deadline first,
overdue marked), recording one at the Puskesos with the house photo from the phone camera, one
item's page with its evidence, the home visit's result (verval), the decision and the outcome
letter.

Every write is an action of `dtsen.actions` with the API's schemas; a page offers only the
steps the "submission" machine and the member's permissions allow. Evidence is checked by its
bytes (hostile until checked) in `add_evidence`.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.i18n import local_today
from slrt.platform.jobs.access import access_job_by_id, access_job_file
from slrt.platform.jobs.api import file_response
from slrt.platform.web import Form, TenantPages, notice, page_of, parse_form, problem_form
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.access import access_evidence_by_id, access_submission_by_id
from slrt.tenants.dtsen.api import (
    DecisionSchema,
    SubmissionQuerySchema,
    SubmissionSchema,
    VervalSchema,
    evidence_response,
    letter_response,
    submission_list,
    with_evidence,
)
from slrt.tenants.dtsen.letters import verification_url
from slrt.tenants.dtsen.models import Submission
from slrt.tenants.flow.workflow import SUBMISSION_STATES, allowed_actions, label, permission_of
from slrt.tenants.registry.access import access_person_by_id
from slrt.tenants.registry.web import village_options

bp = TenantPages(
    "dtsen_submissions_web",
    __name__,
    "/dtsen/submissions",
    lookups={
        "submission_id": access_submission_by_id,
        "job_id": access_job_by_id,
        "evidence_id": access_evidence_by_id,
        "person_id": access_person_by_id,
    },
)

KINDS: list[tuple[str, Msg]] = [
    ("usul", Msg("Usul: minta didaftarkan ke DTSEN", "Proposal: asks to be added to DTSEN")),
    ("sanggah", Msg("Sanggah: keberatan atas keluarga terdaftar", "Objection to a listed family")),
]
KIND_WORDS = {"usul": Msg("Usul", "Proposal"), "sanggah": Msg("Sanggah", "Objection")}
CHANNELS = {
    "puskesos": Msg("Dicatat di Puskesos", "Recorded at the Puskesos"),
    "kemensos": Msg("Diteruskan Kemensos", "Forwarded by Kemensos"),
}
VERVAL: list[tuple[str, Msg]] = [
    ("eligible", Msg("Layak", "Eligible")),
    ("not_eligible", Msg("Tidak layak", "Not eligible")),
]
EVIDENCE_KINDS = {"photo": Msg("Foto rumah", "House photo"), "document": Msg("Dokumen", "Document")}

NEW_FIELDS = (
    "kind",
    "nik",
    "name",
    "kk_number",
    "address",
    "village_code",
    "reason",
    "submitter_name",
    "submitter_phone",
    "latitude",
    "longitude",
)


def _can(permission: Any) -> bool:
    return current_principal().can(str(permission))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"kind_words": KIND_WORDS, "channels": CHANNELS, "verval_words": dict(VERVAL)}


# --- the list -----------------------------------------------------------------------------------


@bp.get("/")
@require(P.REGISTRY_READ)
def index():
    """Usul and sanggah of the member's region, nearest deadline first; filters by kind, state
    and overdue."""
    values = {
        k: request.args[k].strip()
        for k in ("kind", "status", "overdue")
        if request.args.get(k, "").strip()
    }
    query, _ = parse_form(SubmissionQuerySchema(), values)
    query = query or {}
    page = page_of(submission_list(query), Submission.due_on, Submission.id)
    actions.record_reads("dtsen_submission", "dtsen_submission.list", [s.id for s in page.items])
    today = local_today()
    return render_template(
        "dtsen/submissions.html",
        page=page,
        rows=[(s, label("submission", s.status)) for s in page.items],
        today=today,
        query=query,
        kinds=list(KIND_WORDS.items()),
        states=[(s, label("submission", s)) for s in SUBMISSION_STATES],
        can_record=_can(P.PROPOSALS_MANAGE),
        can_import=_can(P.IMPORTS_RUN),
        form=None,
    )


# --- what Kemensos forwarded --------------------------------------------------------------------

FORWARDED = "dtsen.submissions_import"


@bp.post("/import")
@require(P.IMPORTS_RUN)
def import_forwarded():
    """The usul and sanggah Kemensos forwarded (CSV/XLSX), imported by a job; an item already
    imported (same reference) is left alone."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        problem = field_problem(
            422,
            "file",
            Msg(
                "Pilih berkas dari Kemensos (CSV atau XLSX).",
                "Choose the file from Kemensos (CSV or XLSX).",
            ),
        )
        return _forwarded_refused(problem)
    try:
        job = actions.start_submissions_import(upload.filename, upload.read())
    except Problem as exc:
        return _forwarded_refused(exc)
    notice(Msg("Berkas diterima; impor berjalan.", "File received; the import is running."))
    return redirect(url_for(".forwarded", job_id=job.id))


def _forwarded_refused(exc: Problem):
    page = page_of(submission_list({}), Submission.due_on, Submission.id)
    return render_template(
        "dtsen/submissions.html",
        page=page,
        rows=[(s, label("submission", s.status)) for s in page.items],
        today=local_today(),
        query={},
        kinds=list(KIND_WORDS.items()),
        states=[(s, label("submission", s)) for s in SUBMISSION_STATES],
        can_record=_can(P.PROPOSALS_MANAGE),
        can_import=True,
        form=problem_form(exc, {}),
    ), exc.code or 422


@bp.get("/import/<uuid:job_id>")
@require(P.IMPORTS_RUN)
def forwarded(job_id: uuid.UUID):
    """The import's progress, counts and error report."""
    from slrt.tenants.dtsen.web.imports import job_view

    job = access_job_by_id(job_id)
    if job.kind != FORWARDED:
        raise Problem(404, Msg("Impor tidak ditemukan.", "Import not found."))
    view = job_view(job)
    return render_template(
        "dtsen/forwarded.html",
        job=view,
        refresh=view["running"],
        refused=[
            (row["row"], Msg(row["message"], row["message_en"]))
            for row in (job.result or {}).get("refused") or []
        ],
        file_url=lambda name: url_for(".forwarded_file", job_id=job.id, name=name),
    )


@bp.get("/import/<uuid:job_id>/files/<string:name>")
@require(P.IMPORTS_RUN)
def forwarded_file(job_id: uuid.UUID, name: str):
    job = access_job_by_id(job_id)
    if job.kind != FORWARDED:
        raise Problem(404, Msg("Berkas tidak ditemukan.", "File not found."))
    return file_response(access_job_file(job, name))


# --- recording one ------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@require(P.PROPOSALS_MANAGE)
def new():
    """Record an usul or a sanggah at the Puskesos (of a registered person: `?person_id=`), with
    the house photo if taken now; the verification clock starts today."""
    person = None
    person_id = request.values.get("person_id", "").strip()
    if person_id:
        try:
            person = access_person_by_id(uuid.UUID(person_id))
        except ValueError:
            person = None
    form: Form | None = None
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in NEW_FIELDS}
        values = {k: v for k, v in values.items() if v}
        loaded = dict(values)
        if person is not None:
            for key in ("nik", "name", "kk_number", "address", "village_code"):
                loaded.pop(key, None)
            loaded["person_id"] = str(person.id)
        data, form = parse_form(SubmissionSchema(), loaded)
        form = Form(values, form.errors)
        status = 422
        if data is not None:
            if person is not None:
                data.pop("person_id", None)
                data["person"] = person
            try:
                submission = actions.create_submission(data)
            except Problem as exc:
                form = problem_form(exc, values)
                status = exc.code or 422
            else:
                return _with_photo(submission)
    return render_template(
        "dtsen/submission_new.html",
        form=form,
        person=person,
        kinds=KINDS,
        villages=village_options(),
    ), status


def _with_photo(submission: Submission):
    """The photo posted with the new item, added by the evidence action (checked by content):
    a refused file is shown on the item's page, which now exists."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        item = access_submission_by_id(submission.id, lock=True)
        try:
            actions.add_evidence(item, "photo", upload.filename, upload.read())
        except Problem as exc:
            return _detail_page(
                access_submission_by_id(submission.id), problem_form(exc, {}), exc.code or 422
            )
    what = KIND_WORDS[submission.kind]
    notice(
        Msg(
            f"{what} dicatat. Verifikasi lapangan paling lambat {submission.due_on.isoformat()}.",
            f"{what.en} recorded. Home visit due by {submission.due_on.isoformat()}.",
        )
    )
    return redirect(url_for(".detail", submission_id=submission.id))


# --- one item -----------------------------------------------------------------------------------


def _detail_page(submission: Submission, form: Form | None = None, status: int = 200):
    with_evidence(submission)
    actions.record_reads("dtsen_submission", "dtsen_submission.read", [submission.id])
    moves = allowed_actions("submission", submission.status)
    offered = {m for m in moves if m != "deem_reject" and _can(permission_of("submission", m))}
    overdue = submission.status == "received" and local_today() > submission.due_on
    return render_template(
        "dtsen/submission.html",
        s=submission,
        state=label("submission", submission.status),
        overdue=overdue,
        offered=offered,
        can_evidence=_can(P.PROPOSALS_MANAGE) and submission.status in ("received", "verified"),
        verval=VERVAL,
        evidence_kinds=list(EVIDENCE_KINDS.items()),
        evidence_words=EVIDENCE_KINDS,
        verification=verification_url(g.tenant, submission.token) if submission.token else None,
        form=form,
    ), status


@bp.get("/<uuid:submission_id>")
@require(P.REGISTRY_READ)
def detail(submission_id: uuid.UUID):
    return _detail_page(access_submission_by_id(submission_id))


def _refused(submission_id: uuid.UUID, exc: Problem, values: dict[str, Any] | None = None):
    return _detail_page(
        access_submission_by_id(submission_id), problem_form(exc, values or {}), exc.code or 422
    )


@bp.post("/<uuid:submission_id>/evidence")
@require(P.PROPOSALS_MANAGE)
def add_evidence(submission_id: uuid.UUID):
    """A house photo from the phone camera, or a document (image or PDF)."""
    upload = request.files.get("file")
    kind = request.form.get("kind", "photo")
    if kind not in EVIDENCE_KINDS or upload is None or not upload.filename:
        problem = field_problem(
            422, "file", Msg("Pilih foto atau berkas bukti.", "Choose the photo or file.")
        )
        return _refused(submission_id, problem)
    submission = access_submission_by_id(submission_id, lock=True)
    try:
        actions.add_evidence(submission, kind, upload.filename, upload.read())
    except Problem as exc:
        return _refused(submission_id, exc)
    notice(Msg("Bukti ditambahkan.", "Evidence added."))
    return redirect(url_for(".detail", submission_id=submission_id))


@bp.get("/<uuid:submission_id>/evidence/<uuid:evidence_id>")
@require(P.REGISTRY_READ)
def evidence(submission_id: uuid.UUID, evidence_id: uuid.UUID):
    return evidence_response(access_submission_by_id(submission_id), evidence_id)


@bp.post("/<uuid:submission_id>/verval")
@require(permission_of("submission", "verify"))
def verval(submission_id: uuid.UUID):
    """The home visit's result, within the clock."""
    values = {
        k: request.form.get(k, "").strip()
        for k in ("result", "visited_on", "note", "latitude", "longitude")
    }
    values = {k: v for k, v in values.items() if v}
    data, form = parse_form(VervalSchema(), values)
    if data is None:
        return _detail_page(access_submission_by_id(submission_id), form, 422)
    submission = access_submission_by_id(submission_id, lock=True)
    try:
        actions.record_verval(submission, data)
    except Problem as exc:
        return _refused(submission_id, exc, values)
    notice(Msg("Hasil verifikasi lapangan dicatat.", "Home visit result recorded."))
    return redirect(url_for(".detail", submission_id=submission_id))


@bp.post("/<uuid:submission_id>/decide")
@require(P.PROPOSALS_VERIFY)
def decide(submission_id: uuid.UUID):
    """Accept or reject after the home visit (`action` = accept / reject); the outcome letter
    is issued."""
    move = request.form.get("action", "")
    if move not in ("accept", "reject") or not _can(permission_of("submission", move)):
        return _refused(
            submission_id,
            Problem(422, Msg("Pilih terima atau tolak.", "Choose accept or reject.")),
        )
    # The decision's note has its own name on the page (the visit's form has a note too).
    note = request.form.get("decision_note", "").strip()
    values = {"decision_note": note} if note else {}
    data, form = parse_form(DecisionSchema(), {"note": note} if note else {})
    if data is None:
        return _detail_page(access_submission_by_id(submission_id), _decision(form, values), 422)
    submission = access_submission_by_id(submission_id, lock=True)
    try:
        actions.decide_submission(submission, move == "accept", data.get("note"))
    except Problem as exc:
        form = _decision(problem_form(exc, values), values)
        return _detail_page(access_submission_by_id(submission_id), form, exc.code or 422)
    state = label("submission", submission.status)
    notice(
        Msg(
            f"Keputusan dicatat: {state}. Surat hasil {submission.letter_number} terbit.",
            f"Decision recorded: {state.en}. Outcome letter {submission.letter_number} issued.",
        )
    )
    return redirect(url_for(".detail", submission_id=submission_id))


def _decision(form: Form, values: dict[str, Any]) -> Form:
    errors = dict(form.errors)
    if "note" in errors:
        errors["decision_note"] = errors.pop("note")
    return Form(values, errors)


@bp.get("/<uuid:submission_id>/letter.pdf")
@require(P.REGISTRY_READ)
def letter(submission_id: uuid.UUID):
    """The outcome letter (audited as a print)."""
    return letter_response(access_submission_by_id(submission_id))
