"""Public, sign-in-free routes of a district: /api/v1/t/<tenant>/public/...

- `POST /public/status`: ticket number + last four NIK digits -> the status and the next step,
  nothing else; rate-limited against guessing without letting a stranger lock the resident out
  (see `ticket_status`; 429 with Retry-After). A wrong pair and an unknown ticket get the same
  answer. The receipt's secret status link opens the same answer without the digits.
- `GET /public/letters/<token>`: is this referral letter genuine, and what is its status? No
  personal data.
"""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import request
from marshmallow import fields

from slrt.auth.policy import public
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import local_date
from slrt.platform.tenancy import current_tenant
from slrt.platform.throttle import check, hit, over, too_many
from slrt.tenants.flow import workflow
from slrt.tenants.flow.models import Case, Letter, Referral
from slrt.tenants.registry.models import Person, Relation

blp = TenantBlueprint(
    "public",
    __name__,
    "/public",
    public=True,
    description="Public status check and letter verification",
)

# The four NIK digits are a weak secret (10,000 values), so guessing them is limited; but a limit
# per ticket alone let any stranger lock a resident out of their own ticket with five wrong
# guesses. So:
# - per address: 20 checks per 10 minutes over all tickets, against scanning ticket numbers;
# - per address and ticket: 5 checks per 15 minutes, against guessing one ticket's digits from
#   one place; a stranger's guesses use up their own allowance, not the resident's, who checks
#   from another address;
# - per ticket, wrong answers only, from all addresses together: 50 a day. Only a guesser with
#   many addresses gets there (5 per address per 15 minutes), and stops there with under 0.5%
#   chance of having hit the digits. Reaching it closes this guessing path for that ticket for
#   the day, never the receipt's secret status link, which needs no digits, cannot be guessed
#   and is limited per address only: the resident always has a way in.
# Behind a reverse proxy the address is the client's own (ProxyFix, SLRT_TRUSTED_PROXIES).
IP_LIMIT = (20, 600)
PAIR_LIMIT = (5, 900)
TICKET_FAILURES = (50, 86400)

NEXT_STEP: dict[str, tuple[str, str]] = {
    "registered": (
        "Petugas akan menilai kebutuhan Anda (asesmen). Siapkan KTP dan KK.",
        "Staff will assess your needs. Have your KTP and KK ready.",
    ),
    "returned": (
        "Penilaian sedang diperbaiki oleh petugas.",
        "Staff are correcting the assessment.",
    ),
    "assessed": (
        "Menunggu keputusan Manajer SLRT / Koordinator Puskesos.",
        "Waiting for the decision of the SLRT manager / Puskesos coordinator.",
    ),
    "decided": (
        "Surat rujukan sedang disiapkan untuk dikirim ke OPD.",
        "The referral letter is being prepared for the agency.",
    ),
    "referred": (
        "Rujukan sudah dikirim ke OPD; tunggu dihubungi atau datang dengan membawa surat rujukan.",
        "The referral was sent to the agency; wait to be contacted or visit it with the letter.",
    ),
    "follow_up": (
        "Fasilitator akan menghubungi Anda untuk memastikan layanan sudah diterima.",
        "A facilitator will contact you to check that you received the service.",
    ),
    "closed": ("Layanan selesai.", "The service is complete."),
}

NO_MATCH = Msg(
    "Nomor tiket tidak ditemukan atau 4 digit terakhir NIK tidak cocok.",
    "Ticket not found or the last four NIK digits do not match.",
)


class StatusQuerySchema(Schema):
    # Not required: a missing field gets the same answer as a wrong one.
    ticket_number = Text(load_default="")
    nik_last4 = Text(load_default="")


class StatusSchema(Schema):
    ticket_number = Text()
    status = Text()
    status_label = Text()
    status_label_en = Text()
    next_step = Text()
    next_step_en = Text()
    referrals = fields.List(fields.Dict())
    updated_at = fields.DateTime()


class VerificationSchema(Schema):
    genuine = fields.Boolean()
    number = Text()
    issued_on = fields.Date()
    district = Text()
    program = Text()
    status = Text()
    status_label = Text()
    status_label_en = Text()


def _nik_of(case: Case) -> str | None:
    """The NIK whose last four digits open the case: its person's, else its household head's,
    else the one the writer gave on the public form (a case with no registry subject yet)."""
    if case.person_id:
        return db.session.execute(sa.select(Person.nik).where(Person.id == case.person_id)).scalar()
    if case.household_id is None:
        return case.reporter_nik
    head = db.session.execute(
        sa.select(Person.nik)
        .where(Person.household_id == case.household_id, Person.nik.is_not(None))
        .order_by((Person.relation == Relation.kepala_keluarga).desc(), Person.id)
        .limit(1)
    ).scalar()
    return head


def has_nik_check(case: Case) -> bool:
    """Can the case be opened with the ticket number and the last four NIK digits?"""
    return bool(_nik_of(case))


@blp.route("/status", methods=["POST"])
@blp.arguments(StatusQuerySchema)
@blp.response(200, StatusSchema)
@blp.doc(security=[])
@public("residents check their own ticket with its number and the last four NIK digits")
def status(data: dict) -> dict:
    """Status and next step of a ticket, for the resident who holds it."""
    return ticket_status(data["ticket_number"], data["nik_last4"])


def ticket_status(ticket: str, nik_last4: str) -> dict:
    """The public answer for a ticket and the last four NIK digits (limits above); a wrong pair
    and an unknown ticket both answer 404 with the same message."""
    tenant = current_tenant()
    ticket = (ticket or "").strip()[:40]
    address = request.remote_addr
    check(f"status:ip:{address}", *IP_LIMIT)
    failures = f"status:failures:{tenant.id}:{ticket}"
    if ticket:
        check(f"status:pair:{tenant.id}:{address}:{ticket}", *PAIR_LIMIT)
        wait = over(failures, TICKET_FAILURES[0])
        if wait is not None:
            raise too_many(wait)
    case = None
    if ticket:
        case = db.session.execute(
            sa.select(Case).where(Case.ticket_number == ticket)
        ).scalar_one_or_none()
    nik = _nik_of(case) if case is not None else None
    given = (nik_last4 or "").strip()
    if case is None or not nik or not hmac.compare_digest(nik[-4:], given):
        if ticket:
            hit(failures, *TICKET_FAILURES)
        raise Problem(404, NO_MATCH)
    return status_of(case)


def status_of(case: Case) -> dict:
    """What the public may know about a case: its ticket, state and next step, and the state of
    each referral by program. No personal data."""
    label = workflow.label("case", case.status)
    step = NEXT_STEP.get(case.status, ("", ""))
    referrals = db.session.execute(
        sa.select(Referral.program_name, Referral.status)
        .where(Referral.case_id == case.id)
        .order_by(Referral.id)
    ).all()
    return {
        "ticket_number": case.ticket_number,
        "status": case.status,
        "status_label": str(label),
        "status_label_en": label.en,
        "next_step": step[0],
        "next_step_en": step[1],
        "referrals": [
            {
                "program": r.program_name,
                "status": r.status,
                "status_label": str(workflow.label("referral", r.status)),
                "status_label_en": workflow.label("referral", r.status).en,
            }
            for r in referrals
        ],
        "updated_at": case.updated_at,
    }


def verify_letter(token: str) -> dict | None:
    """What the public may know about a letter: genuine, number, date, program, status."""
    row = db.session.execute(
        sa.select(Letter, Referral.program_name, Referral.status)
        .join(
            Referral,
            sa.and_(Referral.tenant_id == Letter.tenant_id, Referral.id == Letter.referral_id),
        )
        .where(Letter.token == token)
    ).first()
    if row is None:
        return None
    letter, program, referral_status = row
    state = "revoked" if letter.revoked_at else referral_status
    label = (
        Msg("Dicabut", "Revoked")
        if letter.revoked_at
        else workflow.label("referral", referral_status)
    )
    return {
        "genuine": letter.revoked_at is None,
        "number": letter.number,
        "issued_on": local_date(letter.issued_at),
        "district": current_tenant().name,
        "program": program,
        "status": state,
        "status_label": str(label),
        "status_label_en": label.en,
    }


LETTER_NOT_FOUND = Msg(
    "Surat tidak dikenal: tidak diterbitkan oleh SLRT kabupaten/kota ini.",
    "Unknown letter: not issued by this district's SLRT.",
)


@blp.route("/letters/<token>")
@blp.response(200, VerificationSchema)
@blp.doc(security=[])
@public("anyone holding a referral letter can check that it is genuine (no personal data)")
def verify(token: str) -> dict:
    """Is this referral letter genuine, and what is its status?"""
    check(f"verify:ip:{request.remote_addr}", 60, 600)
    result = verify_letter(token)
    if result is None:
        raise Problem(404, LETTER_NOT_FOUND)
    return result
