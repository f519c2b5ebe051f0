"""The writes to the program catalog, each one action: a district adds its own programs, enables
national ones and changes them; Kemensos keeps the national catalog, and a change there is
carried into every district that enabled the program.

Every change of a district program bumps its version, adds an immutable `ProgramVersion` and an
audit entry (`_change`), so a referral keeps the exact program it was made under.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import _json_safe, changes, record, record_platform
from slrt.platform.errors import Msg, Problem, field_error, field_problem
from slrt.platform.tenancy import platform_bypass, tenant_context
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action
from slrt.tenants.agencies.access import resolve_agency_id
from slrt.tenants.agencies.models import Agency
from slrt.tenants.programs.models import CATALOG_FIELDS, NationalProgram, Program, ProgramVersion
from slrt.tenants.programs.rule_schemas import parse_rule_or_422

# --- writing ---------------------------------------------------------------------------------

AUDITED_FIELDS = (*CATALOG_FIELDS, "active", "agency_id", "national_program_id", "version")


def program_state(program: Program | NationalProgram) -> dict[str, Any]:
    names = (
        AUDITED_FIELDS if isinstance(program, Program) else (*CATALOG_FIELDS, "active", "version")
    )
    state = {name: getattr(program, name) for name in names}
    state.pop("rule_ast", None)  # the text says the same, and the audit stays readable
    return state


def _snapshot(program: Program, national_version: int | None) -> ProgramVersion:
    state = {name: getattr(program, name) for name in AUDITED_FIELDS}
    state["id"] = program.id
    return ProgramVersion(
        program_id=program.id,
        version=program.version,
        name=program.name,
        agency_id=program.agency_id,
        deadline_days=program.deadline_days,
        rule_text=program.rule_text,
        rule_ast=program.rule_ast,
        national_version=national_version,
        snapshot=_json_safe(state),
    )


def _with_rule(values: dict[str, Any]) -> dict[str, Any]:
    """When `rule_text` is given: the rule is stored parsed too (`rule_ast`; a wrong one answers
    422 with line and column) and the text trimmed, a blank one meaning no rule."""
    values = dict(values)
    if "rule_text" in values:
        values["rule_ast"] = parse_rule_or_422(values["rule_text"])
        values["rule_text"] = (values["rule_text"] or "").strip() or None
    return values


def _new_version(program: Program, national_version: int | None = None) -> None:
    db.session.flush()  # the program row exists before its version points at it
    db.session.add(_snapshot(program, national_version))


@action
def create_local_program(data: dict[str, Any]) -> Program:
    """A district's own program (APBD...), version 1, handled by an active agency."""
    data = _with_rule({"rule_text": None, **data})
    resolve_agency_id(data["agency_id"])
    program = Program(national_program_id=None, version=1, **data)
    db.session.add(program)
    _flush_unique(program)
    _new_version(program)
    record(AuditKind.config, "program.create", "program", program.id, after=program_state(program))
    return program


# Fields of an enabled national program that the district may change; the rest is Kemensos's.
NATIONAL_EDITABLE = {"agency_id", "active", "deadline_days"}
KEMENSOS_FIELD = Msg(
    "Ditetapkan oleh Kemensos untuk program nasional.", "Set by Kemensos for a national program."
)


@action
def update_program(program: Program, values: dict[str, Any]) -> Program:
    """A district's change of one of its programs. For an enabled national program only the
    agency, the deadline and `active` are the district's; a new agency must be active."""
    if program.national_program_id:
        foreign = sorted(set(values) - NATIONAL_EDITABLE)
        if foreign:
            raise Problem(422, errors=[field_error(name, KEMENSOS_FIELD) for name in foreign])
    values = _with_rule(values)
    if "agency_id" in values:
        resolve_agency_id(values["agency_id"])
    return _change(program, values)


def _change(program: Program, values: dict[str, Any]) -> Program:
    """Apply changes; a real change bumps the version and writes a new snapshot."""
    before = program_state(program)
    for key, value in values.items():
        setattr(program, key, value)
    after = program_state(program)
    if before == after:
        return program
    program.version += 1
    _flush_unique(program)
    national_version = None
    if program.national_program_id:
        national_version = db.session.get(NationalProgram, program.national_program_id).version
    _new_version(program, national_version)
    # The version it became is part of what changed: the trail says which version each
    # change made.
    old, new = changes(before, {**after, "version": program.version})
    record(AuditKind.config, "program.update", "program", program.id, before=old, after=new)
    return program


@action
def enable_national_program(national: NationalProgram, agency: Agency) -> tuple[Program, bool]:
    """Enable a national program in the current district, handled by `agency`. Enabling again
    re-activates it (and re-maps the agency) rather than duplicating it."""
    if not national.active:
        raise Problem(
            409,
            Msg(
                f"Program nasional {national.code} sedang tidak aktif di katalog Kemensos.",
                f"National program {national.code} is inactive in the Kemensos catalog.",
            ),
        )
    existing = db.session.execute(
        sa.select(Program).where(Program.national_program_id == national.id)
    ).scalar_one_or_none()
    if existing is not None:
        _change(existing, {"active": True, "agency_id": agency.id})
        return existing, False
    program = Program(
        national_program_id=national.id,
        agency_id=agency.id,
        version=1,
        active=True,
        **{name: getattr(national, name) for name in CATALOG_FIELDS},
    )
    db.session.add(program)
    _flush_unique(program)
    _new_version(program, national.version)
    record(AuditKind.config, "program.enable", "program", program.id, after=program_state(program))
    return program, True


def _flush_unique(program: Program) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        if "uq_programs_tenant_code" in str(exc.orig):
            raise field_problem(
                409,
                "code",
                Msg(
                    f"Kode program '{program.code}' sudah dipakai di kabupaten/kota ini.",
                    f"Program code '{program.code}' is already used in this district.",
                ),
            ) from None
        raise


# --- the national catalog --------------------------------------------------------------------


@action
def create_national_program(data: dict[str, Any]) -> NationalProgram:
    program = NationalProgram(version=1, **_with_rule({"rule_text": None, **data}))
    db.session.add(program)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise field_problem(
            409,
            "code",
            Msg(
                f"Kode program nasional '{program.code}' sudah ada.",
                f"National program code '{program.code}' already exists.",
            ),
        ) from None
    record_platform(
        AuditKind.config,
        "national_program.create",
        "national_program",
        program.id,
        after=program_state(program),
    )
    return program


@action
def update_national_program(program: NationalProgram, values: dict[str, Any]) -> int:
    """Change a national program and carry the change into every district that enabled it
    (each gets a new program version and an audit entry). Returns how many districts."""
    values = _with_rule(values)
    before = program_state(program)
    old_deadline = program.deadline_days
    for key, value in values.items():
        setattr(program, key, value)
    after = program_state(program)
    if before == after:
        return 0
    program.version += 1
    db.session.flush()
    old, new = changes(before, after)
    record_platform(
        AuditKind.config,
        "national_program.update",
        "national_program",
        program.id,
        before=old,
        after=new,
    )
    db.session.flush()  # written as the app role, before the read-only bypass below
    with platform_bypass("carry a national catalog change into the districts that enabled it"):
        tenant_ids = list(
            db.session.execute(
                sa.select(Program.tenant_id).where(Program.national_program_id == program.id)
            ).scalars()
        )
    tenants = db.session.execute(sa.select(Tenant).where(Tenant.id.in_(tenant_ids))).scalars()
    count = 0
    for tenant in tenants:
        with tenant_context(tenant.ref()):
            local = db.session.execute(
                sa.select(Program).where(Program.national_program_id == program.id)
            ).scalar_one()
            synced = {
                name: getattr(program, name) for name in CATALOG_FIELDS if name != "deadline_days"
            }
            # A district that set its own deadline keeps it; one on the default follows it.
            if local.deadline_days == old_deadline:
                synced["deadline_days"] = program.deadline_days
            # A program Kemensos withdraws stops everywhere; re-activation is each district's
            # own decision (it enables the program again).
            if not program.active:
                synced["active"] = False
            _change(local, synced)
            db.session.flush()
        count += 1
    return count
