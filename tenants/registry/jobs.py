"""Registry bulk work as background jobs: the spreadsheet import (households by KK, persons by
NIK), applying the rows an import held back, and the exports of the registry, cases and
referrals.

The import template uses the same column names as the registry export, so an export can be
corrected in Excel and imported back. Re-running a file changes nothing (counted as
"unchanged"), and checkpoints commit each batch with the job's progress, so a worker killed
mid-import resumes after the last committed batch without doubling anything.

What an import never does to stored data:
- an empty cell never erases a stored value (the stored one is kept);
- a person changed in the system after the file was uploaded (while the job waited, was held
  by a quota, or ran) is not written over: the row is held back as a conflict, listed in the
  error report with the stored value beside the file's, and applied only if the district asks
  (`registry.apply_conflicts`, audited), and then only if the person did not change again;
- a person registered in a village outside the uploader's region is not touched.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.platform.tabular import conflicts
from slrt.platform.tabular.exports import region_clause, write_export
from slrt.platform.tabular.import_job import ERROR_REPORT_STEM, run_import_job
from slrt.platform.tabular.models import ConflictReason
from slrt.platform.tabular.validate import Column, Sheet
from slrt.platform.tabular.write import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, ErrorReport
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


def region_test(scope: dict[str, Any]) -> Callable[[str], bool]:
    """Whether a village code lies in the requester's region (the scope saved with the job)."""
    kind, codes = scope.get("scope_kind", "district"), scope.get("scope_codes") or []

    def in_scope(code: str) -> bool:
        if kind == "district":
            return True
        if kind == "village":
            return code in codes
        return any(code.startswith(c + ".") for c in codes)

    return in_scope


def nik_birth_date(values: dict[str, Any]) -> dt.date | None:
    """The birth date a row's NIK carries (settles a date cell that reads two ways)."""
    parts = parse_nik(values.get("nik") or "")
    return parts.birth_date if parts else None


def registry_sheet(villages: set[str], scope: dict[str, Any]) -> Sheet:
    """The import spec for one district and one requester's region scope."""
    in_scope = region_test(scope)

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
        if values.get("nik") is None:  # the cell itself was refused; its message says why
            return []
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
            Column(
                "nik",
                "id16",
                required=True,
                aliases=("no nik", "nomor nik"),
                label="NIK",
                unique=True,
            ),
            Column("nama", required=True, aliases=("nama lengkap",), label="Nama"),
            Column(
                "jenis_kelamin",
                "choice",
                aliases=("jk", "sex"),
                choices=SEXES,
                label="Jenis kelamin",
            ),
            Column("tempat_lahir", max_length=120, label="Tempat lahir"),
            Column("tanggal_lahir", "date", label="Tanggal lahir", settle=nik_birth_date),
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
# (unnest), so the SQL is compiled once and PostgreSQL does the upsert set-wise. The stored rows
# were read and locked first (RegistryWriter), so the values sent are already final: empty
# cells filled from what is stored, held rows left out. `since` guards against a record created
# or changed after that read (it would be held back, not overwritten).
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
# Person field -> template column.
PERSON_COLUMNS = {
    "name": "nama",
    "sex": "jenis_kelamin",
    "birth_place": "tempat_lahir",
    "birth_date": "tanggal_lahir",
    "relation": "hubungan",
    "has_disability": "disabilitas",
    "phone": "telepon",
    "village_code": "kode_desa",
}
PERSON_FIELDS = ("household_id", *PERSON_COLUMNS)
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
       AND persons.updated_at <= :since
       AND ({", ".join(f"persons.{f}" for f in PERSON_FIELDS)})
           IS DISTINCT FROM ({", ".join(f"EXCLUDED.{f}" for f in PERSON_FIELDS)})
    RETURNING nik, (xmax = 0)
    """  # noqa: S608 (composed from the constant PERSON_FIELDS only)
)
REGISTER_NIKS = sa.text(
    """
    INSERT INTO nik_registrations (nik_hash, tenant_ref, district_code)
    SELECT unnest(CAST(:hashes AS text[])), :tenant_id, :district_code
    ON CONFLICT DO NOTHING
    """
)


def _shown(value: Any) -> Any:
    """A stored value as the template writes it (so the report compares like with like)."""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return value


class RegistryWriter:
    """The import's sink: households by KK and persons by NIK, a few statements per batch.

    `job_id` is the job the rows belong to (held rows are kept under it); `since` is when the
    file was uploaded (or, when held rows are applied, when that was asked for): a person
    changed after it is held back, not written over; `in_scope` is the requester's region."""

    def __init__(
        self, job_id: uuid.UUID, since: dt.datetime, in_scope: Callable[[str], bool]
    ) -> None:
        self.job_id, self.since, self.in_scope = job_id, since, in_scope

    def _stored(self, niks: list[str]) -> dict[str, Any]:
        """The batch's stored persons with their KK number, locked until the checkpoint."""
        rows = db.session.execute(
            sa.select(
                Person.nik,
                Person.updated_at,
                Household.kk_number,
                *(getattr(Person, f) for f in PERSON_COLUMNS),
            )
            .select_from(Person)
            .outerjoin(
                Household,
                sa.and_(
                    Household.tenant_id == Person.tenant_id, Household.id == Person.household_id
                ),
            )
            .where(Person.nik.in_(niks))
            .with_for_update(of=Person)
        ).all()
        return {r.nik: r for r in rows}

    @staticmethod
    def _merged(values: dict[str, Any], stored: Any) -> dict[str, Any]:
        """The person the row describes, in template columns: an empty cell keeps the stored
        value (or what the NIK says, for a new person)."""
        parts = parse_nik(values["nik"])
        from_nik = {
            "jenis_kelamin": parts.sex if parts else None,
            "tanggal_lahir": parts.birth_date if parts else None,
            "disabilitas": False,
        }
        merged = {"no_kk": values["no_kk"]}
        for field, column in PERSON_COLUMNS.items():
            value = values.get(column)
            if value is None or value == "":
                value = getattr(stored, field) if stored is not None else None
            if value is None:
                value = from_nik.get(column)
            merged[column] = value
        return merged

    @staticmethod
    def _differs(new: dict[str, Any], old: Any) -> dict[str, Any]:
        """Template column -> stored value, for each the row would change."""
        if old is None:
            return {}
        before = {"no_kk": old.kk_number} | {c: getattr(old, f) for f, c in PERSON_COLUMNS.items()}
        return {c: _shown(v) for c, v in before.items() if new[c] != v}

    def __call__(self, batch: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
        tenant = current_tenant()
        stored = self._stored([v["nik"] for _, v in batch])
        counts = dict.fromkeys(
            (
                "persons_inserted",
                "persons_updated",
                "persons_unchanged",
                "households_inserted",
                "households_updated",
                "conflict_rows",
                "out_of_region_rows",
            ),
            0,
        )
        households: dict[str, dict[str, Any]] = {}
        persons: dict[str, tuple[int, dict[str, Any]]] = {}
        for row, values in batch:
            old = stored.get(values["nik"])
            new = self._merged(values, old)
            differs = self._differs(new, old)
            if old is not None and not differs:
                counts["persons_unchanged"] += 1
                if not self.in_scope(old.village_code):
                    continue  # identical, but its household is not the requester's to touch
            elif not self.in_scope(new["kode_desa"]) or (
                old is not None and not self.in_scope(old.village_code)
            ):
                self._hold(row, ConflictReason.region, values, {"nik": None})
                counts["out_of_region_rows"] += 1
                continue
            elif old is not None and old.updated_at > self.since:
                self._hold(row, ConflictReason.changed, values, differs, old.updated_at)
                counts["conflict_rows"] += 1
                continue
            else:
                persons[values["nik"]] = (row, new)
            households[values["no_kk"]] = {
                "village": values["kode_desa"],
                "address": values.get("alamat") or None,
            }
        changed_households = self._upsert_households(tenant, households)
        counts["households_inserted"] = sum(1 for x in changed_households if x)
        counts["households_updated"] = len(changed_households) - counts["households_inserted"]
        written = self._upsert_persons(tenant, persons)
        for nik, (row, new) in persons.items():
            if nik in written:
                counts["persons_inserted" if written[nik] else "persons_updated"] += 1
                continue
            # Created or changed by someone else between the read above and the write.
            values = next(v for r, v in batch if r == row)
            again = self._stored([nik]).get(nik)
            differs = self._differs(new, again)
            if again is not None and not differs:
                counts["persons_unchanged"] += 1
                continue
            changed_at = again.updated_at if again is not None else None
            self._hold(row, ConflictReason.changed, values, differs or {"nik": None}, changed_at)
            counts["conflict_rows"] += 1
        db.session.execute(
            REGISTER_NIKS,
            {
                "hashes": [nik_hash(v["nik"]) for _, v in batch],
                "tenant_id": tenant.id,
                "district_code": tenant.code,
            },
        )
        return counts

    def _hold(
        self,
        row: int,
        reason: ConflictReason,
        values: dict[str, Any],
        stored: dict[str, Any],
        changed_at: dt.datetime | None = None,
    ) -> None:
        conflicts.hold_back(self.job_id, row, reason, values["nik"], values, stored, changed_at)

    @staticmethod
    def _upsert_households(tenant: Any, households: dict[str, dict[str, Any]]) -> list[bool]:
        if not households:
            return []
        return (
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

    def _upsert_persons(
        self, tenant: Any, persons: dict[str, tuple[int, dict[str, Any]]]
    ) -> dict[str, bool]:
        """nik -> True (inserted) / False (updated) for the rows written."""
        if not persons:
            return {}
        rows = [new for _, new in persons.values()]
        result = db.session.execute(
            UPSERT_PERSONS,
            {
                "tenant_id": tenant.id,
                "since": self.since,
                "ids": [uuid7() for _ in rows],
                "kks": [r["no_kk"] for r in rows],
                "niks": list(persons),
                "names": [r["nama"] for r in rows],
                "sexes": [r["jenis_kelamin"] for r in rows],
                "places": [r["tempat_lahir"] for r in rows],
                "births": [r["tanggal_lahir"] for r in rows],
                "relations": [r["hubungan"] for r in rows],
                "disabilities": [bool(r["disabilitas"]) for r in rows],
                "phones": [r["telepon"] for r in rows],
                "villages": [r["kode_desa"] for r in rows],
            },
        ).all()
        return {nik: inserted for nik, inserted in result}


def _scope(ctx: JobContext) -> dict[str, Any]:
    return {k: ctx.params.get(k) for k in ("scope_kind", "scope_codes")}


def _villages() -> set[str]:
    return set(db.session.execute(sa.select(Village.code)).scalars())


@job_handler("registry.import", timeout=4 * 3600)
def import_registry(ctx: JobContext) -> dict[str, Any]:
    """Import households and persons from the uploaded CSV/XLSX."""
    writer = RegistryWriter(ctx.job_id, ctx.job.created_at, region_test(ctx.params))
    summary = run_import_job(ctx, registry_sheet(_villages(), ctx.params), writer)
    record(
        AuditKind.config,
        "registry.import",
        "job",
        ctx.job_id,
        after={k: v for k, v in summary.items() if isinstance(v, int)},
        note=ctx.params.get("filename"),
    )
    return summary


APPLY_BATCH = 500


@job_handler("registry.apply_conflicts", timeout=3600)
def apply_import_conflicts(ctx: JobContext) -> dict[str, Any]:
    """Write the rows an import (params["source_job_id"]) held back for newer edits, on the
    district's word. A person changed again after that word was given is held back once more,
    under this job (its error report lists them; they can be applied the same way)."""
    source = uuid.UUID(ctx.params["source_job_id"])
    sheet = registry_sheet(_villages(), ctx.params)
    writer = RegistryWriter(ctx.job_id, ctx.job.created_at, region_test(ctx.params))
    done = int(ctx.state.get("done", 0))
    written: dict[str, int] = dict(ctx.state.get("written") or {})
    total = done + conflicts.count_pending(source)
    while rows := conflicts.pending(source, APPLY_BATCH):
        batch = [(r.row_number, conflicts.clean_values(sheet, r.file_values)) for r in rows]
        for key, value in writer(batch).items():
            written[key] = written.get(key, 0) + value
        conflicts.mark_applied([r.id for r in rows], ctx.job_id)
        done += len(rows)
        ctx.progress(
            done,
            total,
            f"{done} baris konflik diperiksa / {done} held rows checked",
            counts=written,
            state={"done": done, "written": written},
        )
    errors = list(conflicts.conflict_errors(ctx.job_id))
    if errors:
        with tempfile.TemporaryDirectory(prefix="slrt-apply-") as tmp:
            report = ErrorReport(Path(tmp))
            report.add(errors)
            report.close()
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.csv", CSV_MEDIA_TYPE, report.csv_path, role="errors"
            )
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.xlsx", XLSX_MEDIA_TYPE, report.xlsx_path, role="errors"
            )
    summary = {"source_job_id": str(source), "rows": done, **written}
    record(
        AuditKind.config,
        "registry.import.apply_conflicts",
        "job",
        source,
        after={"apply_job_id": str(ctx.job_id), "rows": done, **written},
    )
    applied = written.get("persons_updated", 0) + written.get("persons_inserted", 0)
    ctx.progress(
        done,
        done,
        f"Selesai: {applied} baris diterapkan, {written.get('conflict_rows', 0)} berubah lagi / "
        f"done: {applied} rows applied, {written.get('conflict_rows', 0)} changed again",
        counts=summary,
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
