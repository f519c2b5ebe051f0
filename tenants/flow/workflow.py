"""The service flow as one explicit state machine, enforced on the server.

`TRANSITIONS` is the only place that says which action moves a case or a referral from which state
to which, and with which permission. `apply` checks it, locks the row, changes the state, stores
a `Transition` (actor, time, note) and an audit event in the same transaction; anything else
answers 409 naming the current state and the allowed actions.

Case:      registered -assess-> assessed -decide-> decided -refer-> referred -follow_up-> follow_up
           assessed -return-> returned -assess-> assessed            follow_up -close-> closed
           registered | assessed -close-> closed (a question answered, a suggestion noted)
Referral:  pending -send-> sent -receive-> received -accept-> accepted -fulfil-> fulfilled
           received -reject-> rejected
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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
}


CASE_STATES = list(TRANSITIONS["case"])

REFERRAL_STATES = list(TRANSITIONS["referral"])

REFERRAL_DONE = {"rejected", "fulfilled"}


# Indonesian / English labels, shown to staff and on the public status page.
STATE_LABELS: dict[str, tuple[str, str]] = {
    "registered": ("Terdaftar", "Registered"),
    "assessed": ("Sudah dinilai (asesmen)", "Assessed"),
    "returned": ("Dikembalikan untuk perbaikan asesmen", "Returned for correction"),
    "decided": ("Sudah diputuskan", "Decided"),
    "referred": ("Dirujuk ke program", "Referred"),
    "follow_up": ("Tindak lanjut oleh fasilitator", "Follow-up by the facilitator"),
    "closed": ("Selesai", "Closed"),
    "pending": ("Menunggu dikirim", "Waiting to be sent"),
    "sent": ("Terkirim ke OPD", "Sent to the agency"),
    "received": ("Diterima OPD", "Received by the agency"),
    "accepted": ("Disetujui OPD", "Accepted by the agency"),
    "rejected": ("Ditolak OPD", "Rejected by the agency"),
    "fulfilled": ("Layanan sudah diberikan", "Service delivered"),
}


def label(state: str) -> Msg:
    id_text, en_text = STATE_LABELS.get(state, (state, state))
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
        what = ("Kasus", "case") if machine == "case" else ("Rujukan", "referral")
        state_label = label(state)
        allowed_text = ", ".join(allowed) or "-"
        raise Problem(
            409,
            Msg(
                f"{what[0]} berstatus '{state}' ({state_label}); tindakan '{action}' tidak "
                f"diizinkan. Tindakan yang diizinkan: {allowed_text}.",
                f"The {what[1]} is '{state}' ({state_label.en}); '{action}' is not allowed. "
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


def apply(
    machine: str,
    obj,
    action: str,
    *,
    case_id: uuid.UUID,
    note: str | None = None,
    note_field: str = "note",
) -> Step:
    """Move `obj` (a Case or a Referral, already locked by the caller) by `action`."""
    step = step_for(machine, obj.status, action)
    if step.note_required and not (note or "").strip():
        raise note_missing(note_field)
    actor = current_actor()
    before = obj.status
    obj.status = step.to
    db.session.add(
        Transition(
            case_id=case_id,
            referral_id=obj.id if machine == "referral" else None,
            machine=machine,
            action=action,
            from_state=before,
            to_state=step.to,
            actor_account_id=actor.account_id,
            actor_label=actor.label[:200],
            note=(note or "").strip() or None,
        )
    )
    record(
        AuditKind.workflow,
        f"{machine}.{action}",
        machine,
        obj.id,
        before={"status": before},
        after={"status": step.to},
        note=note,
    )
    return step
