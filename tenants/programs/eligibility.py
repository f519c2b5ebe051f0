"""Where the service flow meets the district's program catalog: a person's facts for
the eligibility rules, program suggestions with their explanations, and the program version and
agency a referral is made under.

The DTSEN facts (`in_dtks`, its newer name `in_dtsen`, `desil`) come from the family's latest
official DTSEN record; their explanations name its period and say when it is stale
(`fact_notes`, re-exported here for the service flow).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg, field_problem
from slrt.platform.i18n import local_today
from slrt.tenants.agencies.models import Agency
from slrt.tenants.dtsen.standing import standing_of
from slrt.tenants.programs.access import current_version
from slrt.tenants.programs.models import Program
from slrt.tenants.programs.rules import evaluate
from slrt.tenants.regions.access import village_by_code, village_facts
from slrt.tenants.registry.models import DtksStatus, Household, Person, Relation


def age_on(born: dt.date | None, today: dt.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def person_facts(person: Person | None, household: Household | None) -> dict[str, Any]:
    """The rule fields (tenants.rule_fields) for one person; unknown facts are None."""
    today = local_today()
    members: list[Person] = []
    if household is not None:
        members = list(
            db.session.execute(
                sa.select(Person).where(
                    Person.household_id == household.id, Person.erased_at.is_(None)
                )
            ).scalars()
        )
    in_dtks, desil = None, None
    standing = standing_of(household)
    if standing is not None:  # the latest official DTSEN record
        in_dtks, desil = standing.listed, standing.desil
    elif household is not None and household.dtks_status != DtksStatus.unknown:
        in_dtks = household.dtks_status == DtksStatus.in_dtks
        desil = household.desil if in_dtks else None
    ages = [age_on(m.birth_date, today) for m in members]
    village_code = (person.village_code if person else None) or (
        household.village_code if household else None
    )
    facts: dict[str, Any] = {
        "in_dtks": in_dtks,
        "in_dtsen": in_dtks,
        "desil": desil,
        "age": age_on(person.birth_date, today) if person else None,
        "sex": person.sex if person else None,
        "has_disability": person.has_disability if person else None,
        "is_head_of_family": (person.relation == Relation.kepala_keluarga)
        if person is not None and person.relation
        else None,
        "household_size": len(members) or None,
        "has_school_age_children": any(a is not None and 6 <= a <= 21 for a in ages)
        if members
        else None,
    }
    facts.update(village_facts(village_by_code(village_code) if village_code else None))
    return facts


def suggestions(facts: dict[str, Any], notes: dict[str, Msg] | None = None) -> list[dict[str, Any]]:
    """Every active program of the district, eligible ones first, each with its explanation;
    `notes` (fact -> words) are added to the explanation of each condition on that fact (the
    DTSEN period the desil comes from, and whether it is stale)."""
    notes = notes or {}
    rows = db.session.execute(
        sa.select(Program, Agency.name)
        .join(
            Agency, sa.and_(Agency.tenant_id == Program.tenant_id, Agency.id == Program.agency_id)
        )
        .where(Program.active.is_(True))
        .order_by(Program.code)
    ).all()
    out = []
    for program, agency_name in rows:
        result = evaluate(program.rule_ast, facts)
        out.append(
            {
                "program_id": str(program.id),
                "program_code": program.code,
                "program_name": program.name,
                "program_version": program.version,
                "sector": program.sector,
                "agency_id": str(program.agency_id),
                "agency_name": agency_name,
                "rule": program.rule_text,
                "eligible": result.eligible,
                "explanation": [_noted(c.explanation, notes, c.field) for c in result.conditions],
                "explanation_en": [
                    _noted(c.explanation_en, notes, c.field, en=True) for c in result.conditions
                ],
                "failed": result.failed,
            }
        )
    out.sort(key=lambda s: (not s["eligible"], s["program_code"]))
    return out


def _noted(text: str, notes: dict[str, Msg], fact: str, *, en: bool = False) -> str:
    note = notes.get(fact)
    if note is None:
        return text
    return f"{text} ({note.en if en else note})"


@dataclass(frozen=True)
class ReferralTarget:
    program_id: uuid.UUID
    program_version_id: uuid.UUID
    program_version: int
    program_name: str
    agency_id: uuid.UUID
    agency_name: str
    deadline_days: int


def referral_target(program_id: uuid.UUID, field: str) -> ReferralTarget:
    """The current version of an active program of this district and the agency mapped to it."""
    program = db.session.execute(
        sa.select(Program).where(Program.id == program_id)
    ).scalar_one_or_none()
    if program is None or not program.active:
        raise field_problem(
            422,
            field,
            Msg(
                "Program tidak ada atau tidak aktif di kabupaten/kota ini.",
                "No such active program in this district.",
            ),
        )
    version = current_version(program)
    agency = db.session.execute(
        sa.select(Agency).where(Agency.id == version.agency_id)
    ).scalar_one()
    return ReferralTarget(
        program_id=program.id,
        program_version_id=version.id,
        program_version=version.version,
        program_name=version.name,
        agency_id=agency.id,
        agency_name=agency.name,
        deadline_days=version.deadline_days,
    )
