"""DTKS proposal pages (/t/<slug>/dtks-proposals/...): propose a person from their page, collect a
village's new proposals into a batch for its meeting, upload the meeting's minutes (from the
phone camera), verify the batch, download the file for SIKS-NG and record each person's result.

Every step is an action of `proposals.actions` moving the "proposal" and "batch" machines of
`flow.workflow`; a page offers only the steps the batch's state and the member's permissions
allow, and a refused step is shown on the batch's page in words.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.web import Form, TenantPages, notice, page_of, parse_form, problem_form
from slrt.tenants.flow import workflow
from slrt.tenants.flow.workflow import PROPOSAL_STATES, allowed_actions, label, permission_of
from slrt.tenants.proposals import actions
from slrt.tenants.proposals.access import (
    access_batch_by_id,
    access_proposal_by_id,
    batch_scope,
    proposal_scope,
)
from slrt.tenants.proposals.api import (
    BatchSchema,
    ExportQuerySchema,
    ProposalSchema,
    ResultSchema,
    export_response,
    minutes_response,
)
from slrt.tenants.proposals.models import Proposal, ProposalBatch
from slrt.tenants.regions.access import village_name, villages_in_scope
from slrt.tenants.registry.access import access_person_by_id
from slrt.tenants.registry.actions import record_person_reads
from slrt.tenants.registry.models import Person

bp = TenantPages(
    "proposals_web",
    __name__,
    "/dtks-proposals",
    lookups={
        "batch_id": access_batch_by_id,
        "proposal_id": access_proposal_by_id,
        "person_id": access_person_by_id,
    },
)

MEETINGS = {
    "musdes": Msg("Musyawarah desa (musdes)", "Village meeting (musdes)"),
    "muskel": Msg("Musyawarah kelurahan (muskel)", "Kelurahan meeting (muskel)"),
}

# The batch's way from the village to SIKS-NG, as the page shows it.
BATCH_STEPS = ("open", "held", "verified", "exported")


def _can(permission: Any) -> bool:
    return current_principal().can(str(permission))


@bp.app_template_filter("village")
def _village(code: str | None) -> str:
    return f"{village_name(code) or code} ({code})" if code else ""


# --- the list -----------------------------------------------------------------------------------


@bp.get("/")
@require(P.REGISTRY_READ)
def index():
    """New proposals waiting per village, the batches, and the proposals by state."""
    status = request.args.get("status", "")
    status = status if status in PROPOSAL_STATES else ""
    waiting = db.session.execute(
        proposal_scope(
            sa.select(Proposal.village_code, sa.func.count())
            .where(Proposal.status == "proposed")
            .group_by(Proposal.village_code)
            .order_by(Proposal.village_code)
        )
    ).all()
    batches = list(
        db.session.execute(
            batch_scope(sa.select(ProposalBatch))
            .order_by(ProposalBatch.created_at.desc())
            .limit(50)
        ).scalars()
    )
    counts = _batch_counts([b.id for b in batches])
    stmt = proposal_scope(sa.select(Proposal))
    if status:
        stmt = stmt.where(Proposal.status == status)
    page = page_of(stmt, Proposal.created_at.desc(), Proposal.id)
    names = _names([p.person_id for p in page.items])
    record_person_reads([p.person_id for p in page.items], "person.list")
    return render_template(
        "proposals/index.html",
        waiting=waiting,
        batches=[(b, counts.get(b.id, 0), label("batch", b.status)) for b in batches],
        page=page,
        proposals=[(p, names.get(p.person_id), label("proposal", p.status)) for p in page.items],
        status=status,
        states=[(s, label("proposal", s)) for s in PROPOSAL_STATES],
        can_batch=_can(permission_of("proposal", "batch")),
    )


def _batch_counts(batch_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not batch_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Proposal.batch_id, sa.func.count())
            .where(Proposal.batch_id.in_(batch_ids))
            .group_by(Proposal.batch_id)
        ).all()
    )


def _names(person_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not person_ids:
        return {}
    return dict(
        db.session.execute(sa.select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    )


# --- proposing a person -------------------------------------------------------------------------


@bp.route("/propose/<uuid:person_id>", methods=["GET", "POST"])
@require(P.PROPOSALS_MANAGE)
def propose(person_id: uuid.UUID):
    """Propose a person missing from DTKS (the person's page posts here)."""
    person = access_person_by_id(person_id)
    form: Form | None = None
    status = 200
    if request.method == "POST":
        data, form = parse_form(ProposalSchema(), {"person_id": str(person.id), **_reason()})
        if data is not None:
            try:
                actions.propose(person, data.get("reason"))
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
            else:
                notice(
                    Msg(
                        f"{person.name} diusulkan masuk DTSEN. Usulan menunggu musyawarah desa/kelurahan.",
                        f"{person.name} was proposed for DTSEN. The proposal waits for the village meeting.",
                    )
                )
                return redirect(url_for("registry_web.person", person_id=person.id))
        else:
            status = 422
    record_person_reads([person.id])
    return render_template("proposals/propose.html", person=person, form=form), status


def _reason() -> dict[str, str]:
    reason = request.form.get("reason", "").strip()
    return {"reason": reason} if reason else {}


# --- batches ------------------------------------------------------------------------------------


@bp.route("/batches/new", methods=["GET", "POST"])
@require(permission_of("proposal", "batch"))
def new_batch():
    """Collect a village's new proposals into a batch for its meeting (musdes or muskel, as the
    village is a desa or a kelurahan)."""
    waiting = dict(
        db.session.execute(
            proposal_scope(
                sa.select(Proposal.village_code, sa.func.count())
                .where(Proposal.status == "proposed")
                .group_by(Proposal.village_code)
            )
        ).all()
    )
    villages = [
        (
            v.code,
            Msg(f"{v.name} ({waiting[v.code]} usulan)", f"{v.name} ({waiting[v.code]} proposals)"),
        )
        for v in db.session.execute(villages_in_scope(current_principal())).scalars()
        if v.code in waiting
    ]
    form: Form | None = None
    status = 200
    if request.method == "POST":
        values = {
            key: request.form[key].strip()
            for key in ("village_code", "meeting_date")
            if request.form.get(key, "").strip()
        }
        if values.get("village_code"):
            values["meeting_kind"] = actions.meeting_kind_for(values["village_code"])
        data, form = parse_form(BatchSchema(), values)
        status = 422
        if data is not None:
            try:
                batch = actions.create_batch(
                    data["village_code"], data["meeting_kind"], data.get("meeting_date")
                )
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
            else:
                notice(
                    Msg(
                        f"Berkas usulan dibuat dengan {batch.proposal_count} usulan. Setelah "
                        "musyawarah, unggah berita acaranya di sini.",
                        f"Batch created with {batch.proposal_count} proposal(s). After the "
                        "meeting, upload its minutes here.",
                    )
                )
                return redirect(url_for(".batch", batch_id=batch.id))
    return render_template(
        "proposals/batch_new.html",
        form=form,
        villages=villages,
        chosen=request.args.get("village_code"),
    ), status


def _batch_page(batch: ProposalBatch, form: Form | None = None, status: int = 200):
    rows = actions.batch_rows(batch, Person.name)
    record_person_reads([person.id for _, person, _ in rows], "person.list")
    moves = allowed_actions("batch", batch.status)
    offered = {move for move in moves if _can(permission_of("batch", move))}
    return render_template(
        "proposals/batch.html",
        batch=batch,
        state=label("batch", batch.status),
        meeting=MEETINGS.get(batch.meeting_kind, batch.meeting_kind),
        rows=[
            (p, person, household.kk_number if household else None, label("proposal", p.status))
            for p, person, household in rows
        ],
        steps=[(s, label("batch", s)) for s in BATCH_STEPS],
        step_index=BATCH_STEPS.index(batch.status) if batch.status in BATCH_STEPS else 0,
        offered=offered,
        can_result="result" in offered,
        form=form,
    ), status


@bp.get("/batches/<uuid:batch_id>")
@require(P.REGISTRY_READ)
def batch(batch_id: uuid.UUID):
    return _batch_page(access_batch_by_id(batch_id))


def _refused(batch_id: uuid.UUID, exc: Problem):
    """A refused step, shown on the batch's page (fresh, as it now stands)."""
    batch = access_batch_by_id(batch_id)
    return _batch_page(batch, problem_form(exc, {}), exc.code or 422)


@bp.post("/batches/<uuid:batch_id>/minutes")
@require(permission_of("batch", "minutes"))
def upload_minutes(batch_id: uuid.UUID):
    """The meeting's minutes (berita acara), a PDF or a photo taken with the phone."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        problem = Problem(
            422,
            errors=[
                {
                    "field": "file",
                    "message": "Pilih berkas berita acara (PDF atau foto).",
                    "message_en": "Choose the minutes file (PDF or photo).",
                }
            ],
        )
        return _refused(batch_id, problem)
    batch = access_batch_by_id(batch_id, lock=True)
    try:
        actions.upload_minutes(batch, upload.filename, upload.read())
    except Problem as exc:
        return _refused(batch_id, exc)
    notice(Msg("Berita acara diunggah.", "Minutes uploaded."))
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.get("/batches/<uuid:batch_id>/minutes")
@require(P.REGISTRY_READ)
def minutes(batch_id: uuid.UUID):
    """The minutes as uploaded, for the district's verification."""
    return minutes_response(access_batch_by_id(batch_id))


@bp.post("/batches/<uuid:batch_id>/verify")
@require(permission_of("batch", "verify"))
def verify(batch_id: uuid.UUID):
    batch = access_batch_by_id(batch_id, lock=True)
    try:
        actions.verify_batch(batch)
    except Problem as exc:
        return _refused(batch_id, exc)
    notice(
        Msg(
            "Berkas diverifikasi. Unduh berkas SIKS-NG untuk dikirim.",
            "Batch verified. Download the SIKS-NG file to send it.",
        )
    )
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.post("/batches/<uuid:batch_id>/export")
@require(permission_of("batch", "export"))
def export(batch_id: uuid.UUID):
    """The file for SIKS-NG (CSV or XLSX); every download is audited as an export."""
    data, form = parse_form(ExportQuerySchema(), {"format": request.form.get("format", "xlsx")})
    if data is None:
        return _batch_page(access_batch_by_id(batch_id), form, 422)
    batch = access_batch_by_id(batch_id, lock=True)
    try:
        return export_response(actions.export_batch(batch, data["format"]))
    except Problem as exc:
        return _refused(batch_id, exc)


@bp.post("/<uuid:proposal_id>/result")
@require(permission_of("proposal", "accept"))
def result(proposal_id: uuid.UUID):
    """The SIKS-NG result for one person of an exported batch."""
    proposal = access_proposal_by_id(proposal_id, lock=True)
    values = {
        key: request.form[key].strip()
        for key in ("accepted", "desil", "decided_on")
        if request.form.get(key, "").strip()
    }
    data, form = parse_form(ResultSchema(), values)
    if data is None:
        return _batch_page(access_batch_by_id(proposal.batch_id), _about(form, proposal), 422)
    try:
        actions.record_result(proposal, data["accepted"], data.get("desil"), data.get("decided_on"))
    except Problem as exc:
        batch = access_batch_by_id(proposal.batch_id)
        return _batch_page(batch, _about(problem_form(exc, values), proposal), exc.code or 422)
    name = _names([proposal.person_id]).get(proposal.person_id, "")
    state = workflow.label("proposal", proposal.status)
    notice(Msg(f"Hasil {name} dicatat: {state}.", f"Result for {name} recorded: {state.en}."))
    return redirect(url_for(".batch", batch_id=proposal.batch_id))


def _about(form: Form, proposal: Proposal) -> Form:
    """A result's problem, at the top of the batch's page, names the person it is about (there
    is one small form per person)."""
    name = _names([proposal.person_id]).get(proposal.person_id, "")
    first = next(iter(form.errors.values()))
    return Form(form.values, {"_": Msg(f"{name}: {first}", f"{name}: {first.en}")})
