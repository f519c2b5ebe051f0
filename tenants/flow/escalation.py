"""Hourly SLA escalation of overdue referrals (the `referrals.escalate` job, fanned out to every
district by the scheduler).

A referral still open past its due date (`flow.deadlines`) climbs one level per step:

1. the supervisor(s) whose region covers the referral's village are notified;
2. still overdue ESCALATION_STEP after that: the manager(s) covering the village;
3. still overdue ESCALATION_STEP later: the district admins, and the referral is flagged to the
   district (`escalation_level` 3, shown as `district_flagged` on the referral).

Each step is stored on the referral (level and time), in the workflow trail (a `Transition`
with action "escalate") and in the audit trail, together with the notifications, in one
transaction. Idempotent: a referral moves at most one level per ESCALATION_STEP, and
notifications carry a dedup key per referral and level, so running twice in the same hour (or
retrying a killed job) never notifies twice. One run handles at most `limit` referrals (the
oldest deadlines first); the rest wait for the next hour.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from slrt.auth.accounts.models import Account, AccountStatus
from slrt.auth.memberships.models import Membership, MembershipStatus, Role
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg
from slrt.platform.tenancy import current_tenant
from slrt.tenants.flow.deadlines import overdue_clause
from slrt.tenants.flow.models import Case, Referral
from slrt.tenants.flow.workflow import add_transition
from slrt.tenants.notifications.actions import notify

ESCALATION_STEP = dt.timedelta(hours=24)

BATCH = 500  # referrals escalated per run at most

FLAGGED = 3


@dataclass(frozen=True)
class Level:
    number: int
    role_key: str
    who: Msg


LEVELS = {
    1: Level(1, "supervisor", Msg("supervisor", "supervisor")),
    2: Level(2, "manager", Msg("manajer SLRT", "SLRT manager")),
    3: Level(3, "district_admin", Msg("Dinas Sosial kabupaten/kota", "the district")),
}


def covers(scope_kind: str, scope_codes: list[str] | None, village_code: str) -> bool:
    """Does a membership's region include this desa/kelurahan (same rule as Principal.covers)?"""
    if scope_kind == "district":
        return True
    return any(village_code == c or village_code.startswith(c + ".") for c in scope_codes or [])


def recipients(role_key: str, village_code: str) -> list[uuid.UUID]:
    """Active members with the built-in role `role_key` whose region covers the village."""
    rows = db.session.execute(
        sa.select(Membership.account_id, Membership.scope_kind, Membership.scope_codes)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id))
        .join(Account, Account.id == Membership.account_id)
        .where(
            Role.key == role_key,
            Membership.status == MembershipStatus.active.value,
            Account.status == AccountStatus.active.value,
        )
    ).all()
    return sorted(r.account_id for r in rows if covers(r.scope_kind, r.scope_codes, village_code))


def due_for_escalation(at: dt.datetime, limit: int) -> list[tuple[Referral, str]]:
    """Overdue referrals whose next step is due at `at`, with their case's ticket number, locked
    (another run at the same time skips them)."""
    ready = sa.or_(
        Referral.escalation_level == 0,
        sa.and_(
            Referral.escalation_level.between(1, FLAGGED - 1),
            Referral.escalated_at <= at - ESCALATION_STEP,
        ),
    )
    rows = db.session.execute(
        sa.select(Referral, Case.ticket_number)
        .join(Case, sa.and_(Case.tenant_id == Referral.tenant_id, Case.id == Referral.case_id))
        .where(overdue_clause(at), ready)
        .order_by(Referral.due_at, Referral.id)
        .limit(limit)
        .with_for_update(of=Referral, skip_locked=True)
    ).all()
    return [(r, ticket) for r, ticket in rows]


def escalate(referral: Referral, ticket: str, at: dt.datetime) -> int:
    """Take one referral one level up; returns how many people were newly notified."""
    level = LEVELS[referral.escalation_level + 1]
    before = referral.escalation_level
    referral.escalation_level = level.number
    referral.escalated_at = at
    people = recipients(level.role_key, referral.village_code)
    days = max(0, (at - referral.due_at).days)
    title = Msg(
        f"Rujukan {ticket} melewati tenggat (eskalasi tingkat {level.number})",
        f"Referral {ticket} is overdue (escalation level {level.number})",
    )
    body = Msg(
        f"Rujukan {ticket} ke {referral.agency_name} ({referral.program_name}) belum dijawab "
        f"{days} hari setelah tenggat {referral.due_at:%d-%m-%Y}. Diteruskan kepada "
        f"{level.who}.",
        f"Referral {ticket} to {referral.agency_name} ({referral.program_name}) is still "
        f"unanswered {days} day(s) after its deadline {referral.due_at:%Y-%m-%d}. Escalated to "
        f"{level.who.en}.",
    )
    slug = current_tenant().slug
    sent = notify(
        people,
        "referral.escalation",
        title,
        body,
        dedup_key=f"escalation:{referral.id}:{level.number}",
        referral_id=referral.id,
        link=f"/t/{slug}/referrals/{referral.id}",  # the page a person opens
    )
    note = (
        f"Eskalasi tingkat {level.number} ({level.who}): {len(people)} penerima / "
        f"escalation level {level.number} ({level.who.en}): {len(people)} recipient(s)"
    )
    add_transition(
        referral.case_id,
        "escalate",
        referral.status,
        referral.status,
        machine="referral",
        referral_id=referral.id,
        note=note,
        occurred_at=at,
    )
    record(
        AuditKind.workflow,
        "referral.escalate",
        "referral",
        referral.id,
        before={"escalation_level": before},
        after={"escalation_level": level.number, "recipients": len(people)},
    )
    return sent


def escalate_overdue(at: dt.datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """One escalation round in the current district, in the caller's transaction."""
    at = at or dt.datetime.now(dt.UTC)
    counts = {"escalated": 0, "notified": 0, "level_1": 0, "level_2": 0, "level_3": 0}
    for referral, ticket in due_for_escalation(at, limit):
        counts["notified"] += escalate(referral, ticket, at)
        counts["escalated"] += 1
        counts[f"level_{referral.escalation_level}"] += 1
    return counts
