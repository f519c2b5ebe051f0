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
from slrt.platform.i18n import Today
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
from slrt.tenants.registry.nik import kk_problems, nik_hasher, nik_problems, parse_nik

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE

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


def registry_sheet(villages: set[str], scope: dict[str, Any]) -> Sheet:
    """The import spec for one district and one requester's region scope."""
    in_scope = region_test(scope)
    today = Today()

    def nik_birth_date(values: dict[str, Any]) -> dt.date | None:
        """The birth date a row's NIK carries (settles a date cell that reads two ways)."""
        parts = parse_nik(values.get("nik") or "", today=today())
        return parts.birth_date if parts else None

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
            values["nik"],
            sex=values.get("jenis_kelamin"),
            birth_date=values.get("tanggal_lahir"),
            today=today(),
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


# Each batch is staged in a temporary table (COPY: PostgreSQL refuses COPY into a table under
# row-level security, and a temporary table is private to the transaction and gone at its
# commit), then written set-wise: a few statements per batch whatever its size, each under the
# district's row-level security. New persons are staged with what the NIK says filled in; the
# stored persons the batch names are read and locked first (RegistryWriter), and only those the
# file changes are sent again, already merged. `since` guards against a person changed after
# that read (held back, not overwritten).
STAGE = sa.text(
    """
    CREATE TEMPORARY TABLE import_rows (
        line integer, id uuid, household_id uuid, nik text, nik_hash text, kk text,
        name text, sex text, birth_place text, birth_date date, relation text,
        has_disability boolean, phone text, village text, address text
    ) ON COMMIT DROP
    """
)
STAGE_COPY = (
    "COPY import_rows (line, id, household_id, nik, nik_hash, kk, name, sex, birth_place,"
    " birth_date, relation, has_disability, phone, village, address) FROM STDIN"
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

# The district's id as the planner cannot see it, for the lookups below. Statistics taken
# before a district's rows arrived say it has none (a new district, or one the statistics'
# most common values cover without it): with the id in sight, the planner then finds any index
# that starts with tenant_id as cheap as the key's own and may read the district's every row
# through it once per staged row, so a first import grew quadratic with its size. Unseen, the
# id is estimated as an average district's, and the key's index wins.
DISTRICT = "(SELECT CAST(:tenant_id AS smallint))"

# The statements below look each staged row's person and household up by index, in lateral or
# scalar subqueries the planner cannot turn into joins: a batch is small and the district may
# be large, and a join would read the district's every row for each batch (which the planner
# prefers below a few hundred thousand persons), a cost that grows with the district.
STORED = sa.text(
    f"""
    SELECT s.line, p.*
    FROM import_rows s
    CROSS JOIN LATERAL (
        SELECT p.nik, p.updated_at, h.kk_number,
               {", ".join(f"p.{f}" for f in PERSON_COLUMNS)}
        FROM persons p
        LEFT JOIN households h ON h.tenant_id = p.tenant_id AND h.id = p.household_id
        WHERE p.tenant_id = {DISTRICT} AND p.nik = s.nik
        FOR UPDATE OF p
    ) p
    """  # noqa: S608 (composed from constant column names only)
)
# A KK named by several rows takes the last row's village and address, as a reader of the file
# would expect; an empty address keeps the stored one.
UPSERT_HOUSEHOLDS = sa.text(
    """
    INSERT INTO households (tenant_id, id, kk_number, village_code, address, dtks_status)
    SELECT DISTINCT ON (s.kk) :tenant_id, s.household_id, s.kk, s.village, s.address, 'unknown'
    FROM import_rows s
    WHERE s.line <> ALL(CAST(:skip AS integer[]))
    ORDER BY s.kk, s.line DESC
    ON CONFLICT ON CONSTRAINT uq_households_tenant_kk DO UPDATE
       SET village_code = EXCLUDED.village_code,
           address = COALESCE(EXCLUDED.address, households.address),
           updated_at = now()
     WHERE (households.village_code, households.address)
           IS DISTINCT FROM (EXCLUDED.village_code, COALESCE(EXCLUDED.address, households.address))
    RETURNING (xmax = 0)
    """
)
# Persons not stored when the batch was read, each registered (the keyed hash of its NIK) for the
# national duplicate signal. Tried first as plain inserts in a savepoint: a NIK no one else
# registered between the read and the write (nearly always) needs no conflict check and nothing
# returned (measured alone on 100,000 rows: the writing took 3.7 s instead of 4.5). Should one
# have been (a unique key refused), the savepoint goes and the guarded statement below runs.
NEW_PERSONS = f"""
    INSERT INTO persons (tenant_id, id, household_id, nik, name, sex, birth_place, birth_date,
                         relation, has_disability, phone, village_code)
    SELECT :tenant_id, s.id,
           (SELECT h.id FROM households h WHERE h.tenant_id = {DISTRICT} AND h.kk_number = s.kk),
           s.nik, s.name, s.sex, s.birth_place, s.birth_date, s.relation, s.has_disability,
           s.phone, s.village
    FROM import_rows s
    WHERE s.line <> ALL(CAST(:stored AS integer[]))
"""  # noqa: S608 (composed from the constant DISTRICT only)
INSERT_NEW_PERSONS = sa.text(NEW_PERSONS)
REGISTER_NEW_PERSONS = sa.text(
    """
    INSERT INTO nik_registrations (nik_hash, tenant_ref, district_code)
    SELECT s.nik_hash, :tenant_id, :district_code
    FROM import_rows s
    WHERE s.line <> ALL(CAST(:stored AS integer[]))
    """
)
# The same with each conflict left alone: a person created meanwhile by someone else is not
# returned, and is looked at again.
INSERT_PERSONS = sa.text(
    f"""
    WITH inserted AS (
        {NEW_PERSONS}
        ON CONFLICT ON CONSTRAINT uq_persons_tenant_nik DO NOTHING
        RETURNING nik
    ), registered AS (
        INSERT INTO nik_registrations (nik_hash, tenant_ref, district_code)
        SELECT s.nik_hash, :tenant_id, :district_code
        FROM import_rows s JOIN inserted i ON i.nik = s.nik
        ON CONFLICT DO NOTHING
    )
    SELECT nik FROM inserted
    """  # noqa: S608 (composed from the constant NEW_PERSONS only)
)
# Stored persons the file changes, with the values already merged.
UPDATE_PERSONS = sa.text(
    f"""
    UPDATE persons
       SET household_id = (SELECT h.id FROM households h
                            WHERE h.tenant_id = {DISTRICT} AND h.kk_number = u.kk),
           {", ".join(f"{f} = u.{f}" for f in PERSON_COLUMNS)},
           updated_at = now()
    FROM unnest(CAST(:niks AS text[]), CAST(:kks AS text[]), CAST(:names AS text[]),
                CAST(:sexes AS text[]), CAST(:places AS text[]), CAST(:births AS date[]),
                CAST(:relations AS text[]), CAST(:disabilities AS boolean[]),
                CAST(:phones AS text[]), CAST(:villages AS text[]))
         AS u(nik, kk, name, sex, birth_place, birth_date, relation, has_disability, phone,
              village_code)
    WHERE persons.tenant_id = {DISTRICT} AND persons.nik = u.nik
      AND persons.erased_at IS NULL AND persons.updated_at <= :since
    RETURNING persons.nik
    """  # noqa: S608 (composed from the constant PERSON_COLUMNS only)
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
        self._digest = nik_hasher()
        self._today = Today()
        self._household: tuple[str, str] = ("", str(uuid7()))

    def prepare(self, row: int, values: dict[str, Any]) -> tuple[Any, ...]:
        """The row as `import_rows` holds it: as a new person would be stored. Called by the
        import as each good row is read (in the reading process, when it has one), so the
        row's Python work is done there and the write is all database. Ids go as text: the
        row crosses a pipe, and text crosses it cheapest."""
        new = self._merged(values, None, self._today())
        # The household's id, should its KK be new. Any of its rows' ids will do (one is
        # taken), so the rows of a family listed together share one, made once.
        if self._household[0] != values["no_kk"]:
            self._household = (values["no_kk"], str(uuid7()))
        return (
            row,
            str(uuid7()),
            self._household[1],
            values["nik"],
            self._digest(values["nik"]),
            values["no_kk"],
            new["nama"],
            new["jenis_kelamin"],
            new["tempat_lahir"],
            new["tanggal_lahir"],
            new["hubungan"],
            bool(new["disabilitas"]),
            new["telepon"],
            new["kode_desa"],
            values.get("alamat") or None,
        )

    def _stage(
        self, batch: list[tuple[int, dict[str, Any]]], prepared: list[tuple[Any, ...]] | None
    ) -> None:
        """The batch into `import_rows`."""
        db.session.execute(STAGE)
        if prepared is None:
            prepared = [self.prepare(row, values) for row, values in batch]
        cursor = db.session.connection().connection.driver_connection.cursor()
        with cursor, cursor.copy(STAGE_COPY) as copy:
            for staged in prepared:
                copy.write_row(staged)

    @staticmethod
    def _stored_again(nik: str) -> Any:
        """One stored person by NIK (after the batch's write missed it), locked."""
        return db.session.execute(
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
            .where(Person.nik == nik)
            .with_for_update(of=Person)
        ).first()

    @staticmethod
    def _merged(
        values: dict[str, Any], stored: Any, today: dt.date | None = None
    ) -> dict[str, Any]:
        """The person the row describes, in template columns: an empty cell keeps the stored
        value (or what the NIK says, for a new person)."""
        parts = parse_nik(values["nik"], today=today)
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

    def __call__(
        self,
        batch: list[tuple[int, dict[str, Any]]],
        prepared: list[tuple[Any, ...]] | None = None,
    ) -> dict[str, int]:
        """`prepared`: `prepare` of each row of `batch`, when the import made them already."""
        tenant = current_tenant()
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
        by_row = dict(batch)
        self._stage(batch, prepared)
        stored = db.session.execute(STORED, {"tenant_id": tenant.id}).all()
        skip: list[int] = []  # rows that touch no household
        updates: dict[str, tuple[int, dict[str, Any]]] = {}
        for old in stored:
            row, values = old.line, by_row[old.line]
            new = self._merged(values, old)
            differs = self._differs(new, old)
            if not differs:
                counts["persons_unchanged"] += 1
                if not self.in_scope(old.village_code):
                    skip.append(row)  # identical, but its household is not the requester's
            elif not self.in_scope(new["kode_desa"]) or not self.in_scope(old.village_code):
                self._hold(row, ConflictReason.region, values, {"nik": None})
                counts["out_of_region_rows"] += 1
                skip.append(row)
            elif old.updated_at > self.since:
                self._hold(row, ConflictReason.changed, values, differs, old.updated_at)
                counts["conflict_rows"] += 1
                skip.append(row)
            else:
                updates[values["nik"]] = (row, new)
        changed_households = (
            db.session.execute(UPSERT_HOUSEHOLDS, {"tenant_id": tenant.id, "skip": skip})
            .scalars()
            .all()
        )
        counts["households_inserted"] = sum(1 for x in changed_households if x)
        counts["households_updated"] = len(changed_households) - counts["households_inserted"]
        stored_rows = {o.line for o in stored}
        inserted = self._insert_persons(tenant, batch, stored_rows)
        updated = self._update_persons(tenant, updates)
        counts["persons_inserted"], counts["persons_updated"] = len(inserted), len(updated)
        missed = [
            (row, values)
            for row, values in batch
            if (values["nik"] not in inserted if row not in stored_rows else False)
            or (values["nik"] in updates and values["nik"] not in updated)
        ]
        for row, values in missed:
            # Created or changed by someone else between the read above and the write.
            if values["nik"] in updates:
                new = updates[values["nik"]][1]
            else:
                new = self._merged(values, None)
            again = self._stored_again(values["nik"])
            differs = self._differs(new, again)
            if again is not None and not differs:
                counts["persons_unchanged"] += 1
                continue
            changed_at = again.updated_at if again is not None else None
            self._hold(row, ConflictReason.changed, values, differs or {"nik": None}, changed_at)
            counts["conflict_rows"] += 1
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
    def _insert_persons(
        tenant: Any, batch: list[tuple[int, dict[str, Any]]], stored_rows: set[int]
    ) -> set[str]:
        """The NIKs of the new persons written (each registered)."""
        params = {
            "tenant_id": tenant.id,
            "district_code": tenant.code,
            "stored": sorted(stored_rows),
        }
        try:
            with db.session.begin_nested():
                db.session.execute(INSERT_NEW_PERSONS, params)
                db.session.execute(REGISTER_NEW_PERSONS, params)
        except sa.exc.IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            return set(db.session.execute(INSERT_PERSONS, params).scalars())
        return {values["nik"] for row, values in batch if row not in stored_rows}

    def _update_persons(
        self, tenant: Any, updates: dict[str, tuple[int, dict[str, Any]]]
    ) -> set[str]:
        """The NIKs of the stored persons written."""
        if not updates:
            return set()
        rows = [new for _, new in updates.values()]
        return set(
            db.session.execute(
                UPDATE_PERSONS,
                {
                    "tenant_id": tenant.id,
                    "since": self.since,
                    "niks": list(updates),
                    "kks": [r["no_kk"] for r in rows],
                    "names": [r["nama"] for r in rows],
                    "sexes": [r["jenis_kelamin"] for r in rows],
                    "places": [r["tempat_lahir"] for r in rows],
                    "births": [r["tanggal_lahir"] for r in rows],
                    "relations": [r["hubungan"] for r in rows],
                    "disabilities": [bool(r["disabilitas"]) for r in rows],
                    "phones": [r["telepon"] for r in rows],
                    "villages": [r["kode_desa"] for r in rows],
                },
            ).scalars()
        )


def _scope(ctx: JobContext) -> dict[str, Any]:
    return {k: ctx.params.get(k) for k in ("scope_kind", "scope_codes")}


def _villages() -> set[str]:
    return set(db.session.execute(sa.select(Village.code)).scalars())


@job_handler("registry.import", timeout=4 * 3600)
def import_registry(ctx: JobContext) -> dict[str, Any]:
    """Import households and persons from the uploaded CSV/XLSX."""
    writer = RegistryWriter(ctx.job_id, ctx.job.created_at, region_test(ctx.params))
    summary = run_import_job(ctx, registry_sheet(_villages(), ctx.params), writer, overlap=True)
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


# --- retention -----------------------------------------------------------------------------------


def retention_days(name: str) -> int:
    """A retention period from its setting (days); 0 turns that purge off."""
    from slrt.platform.config import setting

    return int(setting(name) or 0)


@job_handler("privacy.retention", timeout=3600)
def apply_retention(ctx: JobContext) -> dict[str, Any]:
    """Nightly, in every district: what the law no longer lets the district keep goes, each
    step audited. Audit events older than SLRT_RETAIN_AUDIT_DAYS leave through the audit
    trail's break-glass (which records the purge in the chain itself); cases closed more than
    SLRT_RETAIN_CLOSED_CASE_DAYS ago are anonymised (their counts, states and referral
    statistics stay); persons with no activity for SLRT_RETAIN_INACTIVE_PERSON_DAYS are erased
    like on a request. Idempotent: a second run finds nothing more to do."""
    from slrt.platform.audit.chain import purge_district_before
    from slrt.tenants.flow.models import Case
    from slrt.tenants.proposals.models import Proposal
    from slrt.tenants.registry.actions import ERASED_NAME, anonymise_cases, erase_person

    now = dt.datetime.now(dt.UTC)
    counts = {"audit_events": 0, "cases": 0, "persons": 0}
    days = retention_days("SLRT_RETAIN_AUDIT_DAYS")
    if days:
        counts["audit_events"] = purge_district_before(
            now - dt.timedelta(days=days), f"retensi: jejak audit lebih dari {days} hari"
        )
    days = retention_days("SLRT_RETAIN_CLOSED_CASE_DAYS")
    if days:
        cutoff = now - dt.timedelta(days=days)
        cases = list(
            db.session.execute(
                sa.select(Case).where(Case.closed_at < cutoff, Case.description != ERASED_NAME)
            ).scalars()
        )
        anonymise_cases(cases)
        counts["cases"] = len(cases)
        if cases:
            record(
                AuditKind.erasure,
                "case.retention",
                "case",
                None,
                after={"cases": len(cases), "closed_before": cutoff.isoformat()},
                note=f"retensi: layanan ditutup lebih dari {days} hari",
            )
    ctx.progress(1, 2, "jejak audit dan layanan / audit trail and cases", counts=counts)
    days = retention_days("SLRT_RETAIN_INACTIVE_PERSON_DAYS")
    if days:
        cutoff = now - dt.timedelta(days=days)
        recent_case = sa.select(Case.person_id).where(Case.updated_at >= cutoff)
        recent_proposal = sa.select(Proposal.person_id).where(Proposal.updated_at >= cutoff)
        idle = list(
            db.session.execute(
                sa.select(Person).where(
                    Person.erased_at.is_(None),
                    Person.updated_at < cutoff,
                    Person.id.not_in(recent_case.where(Case.person_id.is_not(None))),
                    Person.id.not_in(recent_proposal),
                )
            ).scalars()
        )
        for person in idle:
            erase_person(person, f"retensi: tidak ada kegiatan lebih dari {days} hari")
        counts["persons"] = len(idle)
    ctx.progress(2, 2, "selesai / done", counts=counts)
    return counts
