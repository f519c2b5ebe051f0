"""Access to programs: the district's programs and their versions, and Kemensos's national
catalog; 404 for anything else."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.api import like_pattern
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, field_problem
from slrt.tenants.programs.models import NationalProgram, Program, ProgramVersion

PROGRAM_NOT_FOUND = Msg("Program tidak ditemukan.", "Program not found.")
NATIONAL_NOT_FOUND = Msg("Program nasional tidak ditemukan.", "National program not found.")
VERSION_NOT_FOUND = Msg("Versi program tidak ditemukan.", "Program version not found.")


@reuse_in_request
def access_program_by_id(program_id: uuid.UUID) -> Program:
    return one_or_404(sa.select(Program).where(Program.id == program_id), PROGRAM_NOT_FOUND)


def programs_query(query: dict) -> sa.Select:
    """The district's programs a list asks for (API and pages alike): by kind (national or
    local), sector, funding, agency, active, part of the name or code."""
    stmt = sa.select(Program)
    if query.get("kind") == "national":
        stmt = stmt.where(Program.national_program_id.is_not(None))
    elif query.get("kind") == "local":
        stmt = stmt.where(Program.national_program_id.is_(None))
    for key in ("sector", "funding", "agency_id"):
        if query.get(key):
            stmt = stmt.where(getattr(Program, key) == query[key])
    if query.get("active") is not None:
        stmt = stmt.where(Program.active.is_(query["active"]))
    if query.get("q"):
        pattern = like_pattern(query["q"])
        stmt = stmt.where(sa.or_(Program.name.ilike(pattern), Program.code.ilike(pattern)))
    return stmt


@reuse_in_request
def access_national_program_by_id(program_id: uuid.UUID) -> NationalProgram:
    return one_or_404(
        sa.select(NationalProgram).where(NationalProgram.id == program_id), NATIONAL_NOT_FOUND
    )


def resolve_national_program_id(
    program_id: uuid.UUID, *, field: str = "national_program_id"
) -> NationalProgram:
    """For request bodies: the national program an id names, or 422 naming the field."""
    program = db.session.get(NationalProgram, program_id)
    if program is None:
        raise field_problem(
            422, field, Msg("Program nasional tidak ditemukan.", "No such national program.")
        )
    return program


def current_version(program: Program) -> ProgramVersion:
    """The version a referral made now is made under."""
    return db.session.execute(
        sa.select(ProgramVersion).where(
            ProgramVersion.program_id == program.id, ProgramVersion.version == program.version
        )
    ).scalar_one()


def access_program_version(program: Program, version_id: uuid.UUID) -> ProgramVersion:
    stmt = sa.select(ProgramVersion).where(
        ProgramVersion.program_id == program.id, ProgramVersion.id == version_id
    )
    return one_or_404(stmt, VERSION_NOT_FOUND)


@reuse_in_request
def access_version_by_id(version_id: uuid.UUID) -> ProgramVersion:
    """A version of any of the district's programs (the path also names the program, which its
    own lookup checks)."""
    stmt = sa.select(ProgramVersion).where(ProgramVersion.id == version_id)
    return one_or_404(stmt, VERSION_NOT_FOUND)
