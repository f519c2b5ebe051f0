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
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.platform.tabular.exports import region_clause, write_export
from slrt.platform.tabular.import_job import run_import_job
from slrt.platform.tabular.validate import Column, Sheet
from slrt.platform.tenancy import current_tenant
from slrt.tenants.flow.models import Case, Referral
from slrt.tenants.regions.models import Village
from slrt.tenants.registry.models import Household, Person, Relation
from slrt.tenants.registry.nik import kk_problems, nik_hash, nik_problems, parse_nik

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


# One statement per table whatever the batch size: the batch travels as one array per column
# (unnest), so the SQL is compiled once and PostgreSQL does the upsert set-wise.
UPSERT_HOUSEHOLDS = sa.text(
    """
    INSERT INTO households (tenant_id, id, kk_number, village_code, address, dtks_status)
    SELECT :tenant_id, h.id, h.kk, h.village, h.address, 'unknown'
    FROM unnest(CAST(:ids AS uuid[]), CAST(:kks AS text[]), CAST(:villages AS text[]),
                CAST(:addresses AS text[])) AS h(id, kk, village, address)
    ON CONFLICT ON CONSTRAINT uq_households_tenant_kk DO UPDATE
       SET village_code = EXCLUDED.village_code,
           address = COALESCE(EXCLUDED.address, households.address),
           updated_at = now()
     WHERE (households.village_code, households.address)
           IS DISTINCT FROM (EXCLUDED.village_code, COALESCE(EXCLUDED.address, households.address))
    RETURNING (xmax = 0)
    """
)
PERSON_FIELDS = (
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
UPSERT_PERSONS = sa.text(
    f"""
    INSERT INTO persons (tenant_id, id, household_id, nik, name, sex, birth_place, birth_date,
                         relation, has_disability, phone, village_code)
    SELECT :tenant_id, p.id, h.id, p.nik, p.name, p.sex, p.birth_place, p.birth_date,
           p.relation, p.has_disability, p.phone, p.village
    FROM unnest(CAST(:ids AS uuid[]), CAST(:kks AS text[]), CAST(:niks AS text[]),
                CAST(:names AS text[]), CAST(:sexes AS text[]), CAST(:places AS text[]),
                CAST(:births AS date[]), CAST(:relations AS text[]),
                CAST(:disabilities AS boolean[]), CAST(:phones AS text[]),
                CAST(:villages AS text[]))
         AS p(id, kk, nik, name, sex, birth_place, birth_date, relation, has_disability, phone,
              village)
    JOIN households h ON h.tenant_id = :tenant_id AND h.kk_number = p.kk
    ON CONFLICT ON CONSTRAINT uq_persons_tenant_nik DO UPDATE
       SET {", ".join(f"{f} = EXCLUDED.{f}" for f in PERSON_FIELDS)}, updated_at = now()
     WHERE persons.erased_at IS NULL
       AND ({", ".join(f"persons.{f}" for f in PERSON_FIELDS)})
           IS DISTINCT FROM ({", ".join(f"EXCLUDED.{f}" for f in PERSON_FIELDS)})
    RETURNING (xmax = 0)
    """  # noqa: S608 (composed from the constant PERSON_FIELDS only)
)
REGISTER_NIKS = sa.text(
    """
    INSERT INTO nik_registrations (nik_hash, tenant_ref, district_code)
    SELECT unnest(CAST(:hashes AS text[])), :tenant_id, :district_code
    ON CONFLICT DO NOTHING
    """
)


def upsert_batch(batch: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    """Households by KK and persons by NIK, three statements per batch; returns counts.
    Within a batch (as across batches) the last row of a KK or a NIK wins."""
    tenant = current_tenant()
    households: dict[str, dict[str, Any]] = {}
    persons: dict[str, dict[str, Any]] = {}
    for _, v in batch:
        households[v["no_kk"]] = {"village": v["kode_desa"], "address": v.get("alamat") or None}
        parts = parse_nik(v["nik"])
        persons[v["nik"]] = {
            "kk": v["no_kk"],
            "name": v["nama"],
            "sex": v.get("jenis_kelamin") or (parts.sex if parts else None),
            "place": v.get("tempat_lahir") or None,
            "birth": v.get("tanggal_lahir") or (parts.birth_date if parts else None),
            "relation": v.get("hubungan"),
            "disability": bool(v.get("disabilitas")),
            "phone": v.get("telepon") or None,
            "village": v["kode_desa"],
        }
    changed_households = (
        db.session.execute(
            UPSERT_HOUSEHOLDS,
            {
                "tenant_id": tenant.id,
                "ids": [uuid7() for _ in households],
                "kks": list(households),
                "villages": [h["village"] for h in households.values()],
                "addresses": [h["address"] for h in households.values()],
            },
        )
        .scalars()
        .all()
    )
    rows = list(persons.values())
    changed_persons = (
        db.session.execute(
            UPSERT_PERSONS,
            {
                "tenant_id": tenant.id,
                "ids": [uuid7() for _ in rows],
                "kks": [r["kk"] for r in rows],
                "niks": list(persons),
                "names": [r["name"] for r in rows],
                "sexes": [r["sex"] for r in rows],
                "places": [r["place"] for r in rows],
                "births": [r["birth"] for r in rows],
                "relations": [r["relation"] for r in rows],
                "disabilities": [r["disability"] for r in rows],
                "phones": [r["phone"] for r in rows],
                "villages": [r["village"] for r in rows],
            },
        )
        .scalars()
        .all()
    )
    db.session.execute(
        REGISTER_NIKS,
        {
            "hashes": [nik_hash(nik) for nik in persons],
            "tenant_id": tenant.id,
            "district_code": tenant.code,
        },
    )
    inserted = sum(1 for x in changed_persons if x)
    updated = len(changed_persons) - inserted
    return {
        "persons_inserted": inserted,
        "persons_updated": updated,
        "persons_unchanged": len(batch) - inserted - updated,
        "households_inserted": sum(1 for x in changed_households if x),
        "households_updated": sum(1 for x in changed_households if not x),
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


def _export(
    ctx: JobContext, stmt: sa.Select, *, stem: str, header: list[str], entity_type: str
) -> dict[str, Any]:
    """Stream `stmt` into the requested file format: counted first for progress, then read in
    batches so a large district never sits in memory; timestamps as ISO 8601 text."""
    with db.replica_session(fresh=True) as replica:
        total = replica.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
        rows = (
            [_fmt(v) for v in r]
            for r in replica.execute(stmt, execution_options={"yield_per": 2000})
        )
        # The file, its audit record and progress are written through the primary session.
        return write_export(
            ctx,
            stem=stem,
            header=header,
            rows=rows,
            fmt=ctx.params["format"],
            entity_type=entity_type,
            total=total,
        )


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
    return _export(ctx, stmt, stem="registri", header=TEMPLATE, entity_type="person")


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
    return _export(ctx, stmt, stem="kasus", header=header, entity_type="case")


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
    return _export(ctx, stmt, stem="rujukan", header=header, entity_type="referral")
