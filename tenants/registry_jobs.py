"""Registry bulk work as background jobs: the spreadsheet import (households by KK, persons by
NIK, upserted) and the exports of the registry, cases and referrals.

The import template uses the same column names as the registry export, so an export can be
corrected in Excel and imported back. Upserts make every re-run of the same file a no-op
(counted as "unchanged"), and checkpoints commit each batch with the job's progress, so a worker
killed mid-import resumes after the last committed batch without doubling anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.audit import AuditKind, record
from slrt.platform.errors import Msg
from slrt.platform.exports import region_clause, write_export
from slrt.platform.imports_job import run_import_job
from slrt.platform.jobs import job_handler
from slrt.platform.jobs_runner import JobContext
from slrt.platform.tabular_validate import Column, Sheet
from slrt.platform.tenancy import current_tenant
from slrt.tenants.cases import Case, Referral
from slrt.tenants.nik import kk_problems, nik_hash, nik_problems, parse_nik
from slrt.tenants.regions import Village
from slrt.tenants.registry import Household, NikRegistration, Person, Relation

RELATIONS = {r.value.replace("_", " "): r.value for r in Relation} | {
    r.value: r.value for r in Relation
}
YES_NO = {"ya": True, "y": True, "1": True, "tidak": False, "t": False, "0": False}
SEXES = {"l": "L", "p": "P", "laki-laki": "L", "perempuan": "P"}

# The template (and the registry export) columns, in order.
TEMPLATE = [
    "no_kk",
    "nik",
    "nama",
    "jenis_kelamin",
    "tempat_lahir",
    "tanggal_lahir",
    "hubungan",
    "disabilitas",
    "telepon",
    "kode_desa",
    "alamat",
]


def _first(problems: list[Msg]) -> Msg | None:
    return problems[0] if problems else None


def registry_sheet(villages: set[str], scope: dict[str, Any]) -> Sheet:
    """The import spec for one district and one requester's region scope."""
    kind, codes = scope.get("scope_kind", "district"), scope.get("scope_codes") or []

    def in_scope(code: str) -> bool:
        if kind == "district":
            return True
        if kind == "village":
            return code in codes
        return any(code.startswith(c + ".") for c in codes)

    def village_check(code: str) -> Msg | None:
        if code not in villages:
            return Msg(
                f"Kode desa/kelurahan '{code}' tidak ada di kabupaten/kota ini.",
                f"Village code '{code}' does not exist in this district.",
            )
        if not in_scope(code):
            return Msg(
                f"Desa/kelurahan '{code}' di luar wilayah tugas Anda.",
                f"Village '{code}' is outside your region.",
            )
        return None

    def nik_agrees(values: dict[str, Any]) -> list[tuple[str, Msg]]:
        problems = nik_problems(
            values["nik"], sex=values.get("jenis_kelamin"), birth_date=values.get("tanggal_lahir")
        )
        return [("nik", p) for p in problems]

    return Sheet(
        [
            Column(
                "no_kk",
                "id16",
                required=True,
                aliases=("nomor kk", "no kk", "kk", "nomor kartu keluarga"),
                label="Nomor KK",
                check=lambda v: _first(kk_problems(v)),
            ),
            Column("nik", "id16", required=True, aliases=("no nik", "nomor nik"), label="NIK"),
            Column("nama", required=True, aliases=("nama lengkap",), label="Nama"),
            Column(
                "jenis_kelamin",
                "choice",
                aliases=("jk", "sex"),
                choices=SEXES,
                label="Jenis kelamin",
            ),
            Column("tempat_lahir", max_length=120, label="Tempat lahir"),
            Column("tanggal_lahir", "date", label="Tanggal lahir"),
            Column(
                "hubungan",
                "choice",
                aliases=("hubungan keluarga", "shdk"),
                choices=RELATIONS,
                label="Hubungan keluarga",
            ),
            Column("disabilitas", "choice", choices=YES_NO, label="Disabilitas"),
            Column("telepon", max_length=32, aliases=("no hp", "hp"), label="Telepon"),
            Column(
                "kode_desa",
                required=True,
                aliases=("kode desa kelurahan", "kode wilayah"),
                max_length=13,
                label="Kode desa/kelurahan",
                check=village_check,
            ),
            Column("alamat", max_length=500, label="Alamat"),
        ],
        row_checks=[nik_agrees],
    )


def upsert_batch(batch: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    """Households by KK and persons by NIK, in three statements per batch; returns counts."""
    tenant_id = current_tenant().id
    households: dict[str, dict[str, Any]] = {}
    persons: dict[str, dict[str, Any]] = {}
    for _, v in batch:  # within a batch the last row of a KK / NIK wins, as across batches
        households[v["no_kk"]] = {
            "tenant_id": tenant_id,
            "id": uuid7(),
            "kk_number": v["no_kk"],
            "village_code": v["kode_desa"],
            "address": v.get("alamat") or None,
        }
        parts = parse_nik(v["nik"])
        persons[v["nik"]] = {
            "tenant_id": tenant_id,
            "id": uuid7(),
            "kk": v["no_kk"],
            "nik": v["nik"],
            "name": v["nama"],
            "sex": v.get("jenis_kelamin") or (parts.sex if parts else None),
            "birth_place": v.get("tempat_lahir") or None,
            "birth_date": v.get("tanggal_lahir") or (parts.birth_date if parts else None),
            "relation": v.get("hubungan"),
            "has_disability": bool(v.get("disabilitas")),
            "phone": v.get("telepon") or None,
            "village_code": v["kode_desa"],
        }
    h = Household.__table__
    stmt = insert(h).values(list(households.values()))
    stmt = stmt.on_conflict_do_update(
        constraint="uq_households_tenant_kk",
        set_={
            "village_code": stmt.excluded.village_code,
            "address": sa.func.coalesce(stmt.excluded.address, h.c.address),
            "updated_at": sa.func.now(),
        },
        where=sa.tuple_(h.c.village_code, h.c.address).is_distinct_from(
            sa.tuple_(
                stmt.excluded.village_code, sa.func.coalesce(stmt.excluded.address, h.c.address)
            )
        ),
    ).returning(sa.literal_column("xmax = 0").label("inserted"))
    changed = db.session.execute(stmt).scalars().all()
    kk_ids = dict(
        db.session.execute(
            sa.select(h.c.kk_number, h.c.id).where(
                h.c.tenant_id == tenant_id, h.c.kk_number.in_(list(households))
            )
        ).all()
    )
    p = Person.__table__
    rows = []
    for values in persons.values():
        row = dict(values)
        row["household_id"] = kk_ids[row.pop("kk")]
        rows.append(row)
    pstmt = insert(p).values(rows)
    fields = (
        "household_id",
        "name",
        "sex",
        "birth_place",
        "birth_date",
        "relation",
        "has_disability",
        "phone",
        "village_code",
    )
    pstmt = pstmt.on_conflict_do_update(
        constraint="uq_persons_tenant_nik",
        set_={**{f: pstmt.excluded[f] for f in fields}, "updated_at": sa.func.now()},
        where=sa.and_(
            p.c.erased_at.is_(None),
            sa.tuple_(*(p.c[f] for f in fields)).is_distinct_from(
                sa.tuple_(*(pstmt.excluded[f] for f in fields))
            ),
        ),
    ).returning(sa.literal_column("xmax = 0").label("inserted"))
    person_changes = db.session.execute(pstmt).scalars().all()
    tenant = current_tenant()
    db.session.execute(
        insert(NikRegistration)
        .values(
            [
                {"nik_hash": nik_hash(nik), "tenant_ref": tenant.id, "district_code": tenant.code}
                for nik in persons
            ]
        )
        .on_conflict_do_nothing()
    )
    inserted = sum(1 for x in person_changes if x)
    updated = len(person_changes) - inserted
    return {
        "persons_inserted": inserted,
        "persons_updated": updated,
        "persons_unchanged": len(batch) - inserted - updated,
        "households_inserted": sum(1 for x in changed if x),
        "households_updated": sum(1 for x in changed if not x),
    }


@job_handler("registry.import", timeout=4 * 3600)
def import_registry(ctx: JobContext) -> dict[str, Any]:
    """Import households and persons from the uploaded CSV/XLSX."""
    villages = set(db.session.execute(sa.select(Village.code)).scalars())
    summary = run_import_job(ctx, registry_sheet(villages, ctx.params), upsert_batch)
    record(
        AuditKind.config,
        "registry.import",
        "job",
        ctx.job_id,
        after={k: v for k, v in summary.items() if isinstance(v, int)},
        note=ctx.params.get("filename"),
    )
    return summary


# --- exports -----------------------------------------------------------------------------------


def _fmt(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


@job_handler("registry.export", timeout=3600)
def export_registry(ctx: JobContext) -> dict[str, Any]:
    """Persons with their household, in the import template's columns."""
    stmt = (
        sa.select(
            Household.kk_number,
            Person.nik,
            Person.name,
            Person.sex,
            Person.birth_place,
            Person.birth_date,
            Person.relation,
            sa.case((Person.has_disability, "ya"), else_="tidak"),
            Person.phone,
            Person.village_code,
            Household.address,
        )
        .select_from(Person)
        .outerjoin(
            Household,
            sa.and_(Household.tenant_id == Person.tenant_id, Household.id == Person.household_id),
        )
        .where(Person.erased_at.is_(None), region_clause(ctx.params, Person.village_code))
        .order_by(Person.village_code, Household.kk_number, Person.nik)
    )
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    rows = db.session.execute(stmt, execution_options={"yield_per": 2000})
    return write_export(
        ctx,
        stem="registri",
        header=TEMPLATE,
        rows=rows,
        fmt=ctx.params["format"],
        entity_type="person",
        total=total,
    )


@job_handler("cases.export", timeout=3600)
def export_cases(ctx: JobContext) -> dict[str, Any]:
    stmt = (
        sa.select(
            Case.ticket_number,
            Case.kind,
            Case.channel,
            Case.status,
            Case.village_code,
            Person.nik,
            Person.name,
            Case.created_at,
            Case.decided_at,
            Case.closed_at,
            Case.resolution,
        )
        .select_from(Case)
        .outerjoin(Person, sa.and_(Person.tenant_id == Case.tenant_id, Person.id == Case.person_id))
        .where(region_clause(ctx.params, Case.village_code))
        .order_by(Case.created_at, Case.id)
    )
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    rows = (
        [_fmt(v) for v in r]
        for r in db.session.execute(stmt, execution_options={"yield_per": 2000})
    )
    header = [
        "nomor_tiket",
        "jenis",
        "kanal",
        "status",
        "kode_desa",
        "nik",
        "nama",
        "didaftarkan",
        "diputuskan",
        "ditutup",
        "hasil",
    ]
    return write_export(
        ctx,
        stem="kasus",
        header=header,
        rows=rows,
        fmt=ctx.params["format"],
        entity_type="case",
        total=total,
    )


@job_handler("referrals.export", timeout=3600)
def export_referrals(ctx: JobContext) -> dict[str, Any]:
    stmt = (
        sa.select(
            Case.ticket_number,
            Referral.program_name,
            Referral.agency_name,
            Referral.status,
            Referral.village_code,
            Referral.sent_at,
            Referral.due_at,
            Referral.responded_at,
            Referral.fulfilled_at,
            Referral.rejection_reason,
            Referral.outcome,
        )
        .select_from(Referral)
        .join(Case, sa.and_(Case.tenant_id == Referral.tenant_id, Case.id == Referral.case_id))
        .where(region_clause(ctx.params, Referral.village_code))
        .order_by(Referral.created_at, Referral.id)
    )
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    rows = (
        [_fmt(v) for v in r]
        for r in db.session.execute(stmt, execution_options={"yield_per": 2000})
    )
    header = [
        "nomor_tiket",
        "program",
        "instansi",
        "status",
        "kode_desa",
        "dikirim",
        "tenggat",
        "ditanggapi",
        "dipenuhi",
        "alasan_penolakan",
        "hasil",
    ]
    return write_export(
        ctx,
        stem="rujukan",
        header=header,
        rows=rows,
        fmt=ctx.params["format"],
        entity_type="referral",
        total=total,
    )
