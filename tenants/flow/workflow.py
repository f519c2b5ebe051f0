"""Every state machine of a district's work, enforced on the server: the service flow (cases and
their referrals), the DTSEN proposals (proposals and their village batches) and the residents'
usul and sanggah.

`TRANSITIONS` is the only place that says which action moves a record from which state to which,
and with which permission. `apply` checks it, changes the state, stores the trail (for cases and
referrals a `Transition` row: actor, time, note) and an audit event in the caller's transaction;
anything else answers 409 naming the current state and the allowed actions.

Case:      registered -assess-> assessed -decide-> decided -refer-> referred -follow_up-> follow_up
           assessed -return-> returned -assess-> assessed            follow_up -close-> closed
           registered | assessed -close-> closed (a question answered, a suggestion noted)
Referral:  pending -send-> sent -receive-> received -accept-> accepted -fulfil-> fulfilled
           received -reject-> rejected
Proposal:  proposed -batch-> in_batch -accept-> accepted
           in_batch -reject-> not_accepted
Batch:     open -minutes-> held -verify-> verified -export-> exported
           (minutes may be replaced while held; an exported batch may be exported again, and
           the SIKS-NG result of its proposals is recorded only then: its `result` step)
Submission (usul / sanggah):
           received -verify-> verified -accept-> accepted -listed | not_listed-> (SIKS-NG result)
           verified -reject-> rejected;  received -deem_reject-> deemed_rejected (clock ran out)
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from slrt.auth.permissions import P
from slrt.platform import db
from slrt.platform.actor import current_actor
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem
from slrt.tenants.flow.models import Transition


@dataclass(frozen=True)
class Step:
    to: str
    permission: P
    note_required: bool = False


@dataclass(frozen=True)
class Machine:
    """How a machine's records are named in messages and in the audit trail."""

    noun: Msg  # "Kasus" / "case", as in "the case is 'closed'"
    audit_prefix: str  # audit actions are "<prefix>.<action>"
    entity_type: str  # the audit events' entity type
    trail: bool  # its moves are also stored as `Transition` rows (cases and referrals)


MACHINES: dict[str, Machine] = {
    "case": Machine(Msg("Kasus", "case"), "case", "case", trail=True),
    "referral": Machine(Msg("Rujukan", "referral"), "referral", "referral", trail=True),
    "proposal": Machine(Msg("Usulan", "proposal"), "proposal", "dtks_proposal", trail=False),
    "batch": Machine(
        Msg("Berkas usulan", "proposal batch"),
        "proposal_batch",
        "dtks_proposal_batch",
        trail=False,
    ),
    "submission": Machine(
        Msg("Usul/sanggah", "proposal or objection"),
        "dtsen_submission",
        "dtsen_submission",
        trail=False,
    ),
}


TRANSITIONS: dict[str, dict[str, dict[str, Step]]] = {
    "case": {
        "registered": {
            "assess": Step("assessed", P.CASES_ASSESS),
            "close": Step("closed", P.CASES_CLOSE),
        },
        "returned": {"assess": Step("assessed", P.CASES_ASSESS)},
        "assessed": {
            "assess": Step("assessed", P.CASES_ASSESS),
            "decide": Step("decided", P.CASES_DECIDE),
            "return": Step("returned", P.CASES_DECIDE, note_required=True),
            "close": Step("closed", P.CASES_CLOSE),
        },
        "decided": {"refer": Step("referred", P.LETTERS_ISSUE)},
        "referred": {"follow_up": Step("follow_up", P.CASES_FOLLOW_UP)},
        "follow_up": {
            "follow_up": Step("follow_up", P.CASES_FOLLOW_UP),
            "close": Step("closed", P.CASES_CLOSE),
        },
        "closed": {},
    },
    "referral": {
        "pending": {"send": Step("sent", P.LETTERS_ISSUE)},
        "sent": {"receive": Step("received", P.REFERRALS_RESPOND)},
        "received": {
            "accept": Step("accepted", P.REFERRALS_RESPOND),
            "reject": Step("rejected", P.REFERRALS_RESPOND, note_required=True),
        },
        "accepted": {"fulfil": Step("fulfilled", P.REFERRALS_RESPOND, note_required=True)},
        "rejected": {},
        "fulfilled": {},
    },
    "proposal": {
        "proposed": {"batch": Step("in_batch", P.PROPOSALS_MANAGE)},
        # One operation records the SIKS-NG result, either way: both need the same permission.
        "in_batch": {
            "accept": Step("accepted", P.PROPOSALS_VERIFY),
            "reject": Step("not_accepted", P.PROPOSALS_VERIFY),
        },
        "accepted": {},
        "not_accepted": {},
    },
    "batch": {
        "open": {"minutes": Step("held", P.PROPOSALS_MANAGE)},
        "held": {
            "minutes": Step("held", P.PROPOSALS_MANAGE),
            "verify": Step("verified", P.PROPOSALS_VERIFY),
        },
        "verified": {"export": Step("exported", P.PROPOSALS_VERIFY)},
        "exported": {
            "export": Step("exported", P.PROPOSALS_VERIFY),
            "result": Step("exported", P.PROPOSALS_VERIFY),
        },
    },
    "submission": {
        "received": {
            "verify": Step("verified", P.PROPOSALS_MANAGE),
            # Only the daily clock takes this step (the scheduler acts as the system).
            "deem_reject": Step("deemed_rejected", P.PROPOSALS_VERIFY),
        },
        "verified": {
            "verify": Step("verified", P.PROPOSALS_MANAGE),
            "accept": Step("accepted", P.PROPOSALS_VERIFY),
            "reject": Step("rejected", P.PROPOSALS_VERIFY, note_required=True),
        },
        # An accepted usul goes to the village meeting as a proposal; SIKS-NG's answer ends it.
        "accepted": {
            "listed": Step("listed", P.PROPOSALS_VERIFY),
            "not_listed": Step("not_listed", P.PROPOSALS_VERIFY),
        },
        "rejected": {},
        "deemed_rejected": {},
        "listed": {},
        "not_listed": {},
    },
}


CASE_STATES = list(TRANSITIONS["case"])

REFERRAL_STATES = list(TRANSITIONS["referral"])

REFERRAL_DONE = {"rejected", "fulfilled"}

PROPOSAL_STATES = list(TRANSITIONS["proposal"])

BATCH_STATES = list(TRANSITIONS["batch"])

SUBMISSION_STATES = list(TRANSITIONS["submission"])


# Indonesian / English labels per machine, shown to staff and on the public status page.
STATE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "case": {
        "registered": ("Terdaftar", "Registered"),
        "assessed": ("Sudah dinilai (asesmen)", "Assessed"),
        "returned": ("Dikembalikan untuk perbaikan asesmen", "Returned for correction"),
        "decided": ("Sudah diputuskan", "Decided"),
        "referred": ("Dirujuk ke program", "Referred"),
        "follow_up": ("Tindak lanjut oleh fasilitator", "Follow-up by the facilitator"),
        "closed": ("Selesai", "Closed"),
    },
    "referral": {
        "pending": ("Menunggu dikirim", "Waiting to be sent"),
        "sent": ("Terkirim ke OPD", "Sent to the agency"),
        "received": ("Diterima OPD", "Received by the agency"),
        "accepted": ("Disetujui OPD", "Accepted by the agency"),
        "rejected": ("Ditolak OPD", "Rejected by the agency"),
        "fulfilled": ("Layanan sudah diberikan", "Service delivered"),
    },
    "proposal": {
        "proposed": ("Diusulkan", "Proposed"),
        "in_batch": ("Masuk berkas usulan desa/kelurahan", "In a village batch"),
        "accepted": ("Diterima di DTSEN", "Accepted into DTSEN"),
        "not_accepted": ("Tidak diterima di DTSEN", "Not accepted into DTSEN"),
    },
    "batch": {
        "open": ("Menunggu musyawarah desa/kelurahan", "Waiting for the village meeting"),
        "held": (
            "Musyawarah sudah diadakan (berita acara diunggah)",
            "Meeting held (minutes uploaded)",
        ),
        "verified": ("Sudah diverifikasi kabupaten/kota", "Verified by the district"),
        "exported": ("Sudah diekspor untuk SIKS-NG", "Exported for SIKS-NG"),
    },
    "submission": {
        "received": (
            "Diterima, menunggu verifikasi lapangan",
            "Received, waiting for the home visit",
        ),
        "verified": ("Sudah diverifikasi lapangan (verval)", "Home visit done (verval)"),
        "accepted": ("Diterima", "Accepted"),
        "rejected": ("Ditolak", "Rejected"),
        "deemed_rejected": (
            "Dianggap ditolak: tidak diverifikasi dalam batas waktu",
            "Deemed rejected: not verified in time",
        ),
        "listed": ("Terdaftar di DTSEN (hasil SIKS-NG)", "Listed in DTSEN (SIKS-NG result)"),
        "not_listed": (
            "Tidak terdaftar di DTSEN (hasil SIKS-NG)",
            "Not listed in DTSEN (SIKS-NG result)",
        ),
    },
}


def label(machine: str, state: str) -> Msg:
    id_text, en_text = STATE_LABELS[machine].get(state, (state, state))
    return Msg(id_text, en_text)


def permission_of(machine: str, action: str) -> P:
    """The one permission an action needs, whatever state it starts from."""
    found = {
        step.permission
        for steps in TRANSITIONS[machine].values()
        for a, step in steps.items()
        if a == action
    }
    assert len(found) == 1, (machine, action, found)
    return found.pop()


def allowed_actions(machine: str, state: str) -> list[str]:
    return sorted(TRANSITIONS[machine].get(state, {}))


def step_for(machine: str, state: str, action: str) -> Step:
    """The step `action` takes from `state`, or 409 naming the state and the allowed actions."""
    step = TRANSITIONS[machine].get(state, {}).get(action)
    if step is None:
        allowed = allowed_actions(machine, state)
        noun = MACHINES[machine].noun
        state_label = label(machine, state)
        allowed_text = ", ".join(allowed) or "-"
        raise Problem(
            409,
            Msg(
                f"{noun} berstatus '{state}' ({state_label}); tindakan '{action}' tidak "
                f"diizinkan. Tindakan yang diizinkan: {allowed_text}.",
                f"The {noun.en} is '{state}' ({state_label.en}); '{action}' is not allowed. "
                f"Allowed actions: {allowed_text}.",
            ),
            current_state=state,
            allowed_actions=allowed,
        )
    return step


def note_missing(field: str = "note") -> Problem:
    return Problem(
        422,
        errors=[
            {
                "field": field,
                "message": "Alasan/catatan wajib diisi untuk tindakan ini.",
                "message_en": "A reason/note is required for this action.",
            }
        ],
    )


def add_transition(
    case_id: uuid.UUID,
    action: str,
    from_state: str,
    to_state: str,
    *,
    machine: str = "case",
    referral_id: uuid.UUID | None = None,
    note: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> Transition:
    """Store one step of a case's history (its own or one of its referrals'), by the current
    actor."""
    actor = current_actor()
    transition = Transition(
        case_id=case_id,
        referral_id=referral_id,
        machine=machine,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_account_id=actor.account_id,
        actor_label=actor.label[:200],
        note=note,
    )
    if occurred_at is not None:
        transition.occurred_at = occurred_at
    db.session.add(transition)
    return transition


def apply(
    machine: str,
    obj: Any,
    action: str,
    *,
    case_id: uuid.UUID | None = None,
    note: str | None = None,
    note_field: str = "note",
    audit_kind: AuditKind = AuditKind.workflow,
    details: dict[str, Any] | None = None,
) -> Step:
    """Move `obj` (a record of `machine`, already locked by the caller) by `action`.

    Cases and referrals name their case (`case_id`) for the history; `details` adds facts of the
    move to its audit event (an export's format and row count)."""
    spec = MACHINES[machine]
    step = step_for(machine, obj.status, action)
    if step.note_required and not (note or "").strip():
        raise note_missing(note_field)
    before = obj.status
    obj.status = step.to
    if spec.trail:
        assert case_id is not None, machine
        add_transition(
            case_id,
            action,
            before,
            step.to,
            machine=machine,
            referral_id=obj.id if machine == "referral" else None,
            note=(note or "").strip() or None,
        )
    record(
        audit_kind,
        f"{spec.audit_prefix}.{action}",
        spec.entity_type,
        obj.id,
        before={"status": before},
        after={"status": step.to, **(details or {})},
        note=note,
    )
    return step
