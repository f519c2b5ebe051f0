"""The DTSEN import, shared by its dry run (`dtsen.check`) and its application (`dtsen.apply`).

1. The file is read through the platform's pipeline (`platform.tabular.imports.run_import`) with
   the mapped header: every bad row goes to the error report, good rows to a staging database on
   local disk (SQLite), so a file of half a million persons does not sit in memory.
2. The staged rows are read back family by family (rows with the same KK number; a row without
   one is its own family) and matched to the registry, in this order:
   - `kk`: the family's KK number is a household's;
   - `nik`: a row's own NIK is a registered person's (their household);
   - `member_nik`: the household of another row of the same family, matched by its NIK.
   Each row shows the rule that matched it; a family takes the rule of its head (the row whose
   relation says kepala keluarga, else its first row).
3. Each family's standing for the period is compared with what is stored: `new` (no record for
   this period yet), `changed` (a different desil for this period), `unchanged`; a desil cell
   left empty never erases a stored desil. A family whose village lies outside the uploader's
   region is not touched (listed in the error report).
4. The dry run writes nothing and reports it all (counts, a preview file, the first rows on the
   page); the application adds a record for each new or changed family, the persons the file
   listed, and brings the matched households' current DTSEN fields up to date. A family is
   written once per chunk transaction, under a district-wide advisory lock so two imports never
   interleave; a re-import of the same file finds everything unchanged and writes nothing.
"""

from __future__ import annotations

import csv
import itertools
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from uuid6 import uuid7

from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.jobs.runner import JobContext, JobRejected
from slrt.platform.tabular.import_job import ERROR_REPORT_STEM
from slrt.platform.tabular.imports import run_import
from slrt.platform.tabular.read import FileRejected, estimate_rows
from slrt.platform.tabular.validate import CellError
from slrt.platform.tabular.write import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    CsvWriter,
    ErrorReport,
    XlsxWriter,
)
from slrt.platform.tenancy import current_tenant
from slrt.tenants.dtsen.columns import (
    VillageIndex,
    dtsen_sheet,
    is_head,
    mapped_rows,
    parse_desil,
)
from slrt.tenants.dtsen.models import DtsenImport, DtsenMember, DtsenRecord
from slrt.tenants.dtsen.standing import NEWEST_FIRST, sync_households
from slrt.tenants.registry.jobs import region_test
from slrt.tenants.registry.models import Household, Person

CHUNK_FAMILIES = 500
PREVIEW_ROWS = 50
PREVIEW_STEM = "pratinjau"
# One DTSEN import writes at a time in a district ("DTSN" in ASCII, then the district's id).
LOCK_SPACE = 0x4454534E

RULE_LABELS: dict[str | None, Msg] = {
    "kk": Msg("Nomor KK", "KK number"),
    "nik": Msg("NIK", "NIK"),
    "member_nik": Msg("NIK anggota keluarga", "a family member's NIK"),
    None: Msg("tidak cocok", "no match"),
}

PREVIEW_HEADER = [
    "baris / row",
    "NIK",
    "nama / name",
    "no_kk",
    "desil",
    "cocok lewat / matched by",
    "KK di registri / registry KK",
    "kode_desa / village",
    "perubahan",
    "change",
]

COUNT_KEYS = (
    "families",
    "matched_kk",
    "matched_nik",
    "matched_member_nik",
    "unmatched",
    "new_families",
    "changed_families",
    "unchanged_families",
    "desil_changed_since_previous",
    "out_of_region_families",
    "out_of_region_rows",
    "records_written",
    "members_written",
    "households_updated",
)


@dataclass
class FileRow:
    row: int
    nik: str
    name: str
    kk: str | None
    desil: int | None
    relation: str | None
    address: str | None
    village: str | None

    @property
    def key(self) -> str:
        return self.kk or f"nik:{self.nik}"


class Staging:
    """A file's good rows on local disk, read back family by family in a fixed order."""

    def __init__(self, directory: Path) -> None:
        self._db = sqlite3.connect(directory / "staging.sqlite3")
        self._db.execute(
            "CREATE TABLE rows (key, row, nik, name, kk, desil, relation, address, village)"
        )

    def add(self, rows: list[FileRow]) -> None:
        self._db.executemany(
            "INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.key, r.row, r.nik, r.name, r.kk, r.desil, r.relation, r.address, r.village)
                for r in rows
            ],
        )

    def family_count(self) -> int:
        return self._db.execute("SELECT count(DISTINCT key) FROM rows").fetchone()[0]

    def families(self, skip: int = 0) -> Iterator[list[FileRow]]:
        self._db.execute("CREATE INDEX IF NOT EXISTS rows_key ON rows (key, row)")
        cursor = self._db.execute(
            "SELECT key, row, nik, name, kk, desil, relation, address, village FROM rows "
            "ORDER BY key, row"
        )
        grouped = itertools.groupby(cursor, key=lambda r: r[0])
        for _, rows in itertools.islice(grouped, skip, None):
            yield [FileRow(*r[1:]) for r in rows]

    def close(self) -> None:
        self._db.close()


@dataclass
class Family:
    rows: list[FileRow]
    household_id: uuid.UUID | None = None
    household_kk: str | None = None
    village: str | None = None
    rule: str | None = None
    row_rules: dict[str, str | None] = field(default_factory=dict)
    desil: int | None = None
    change: str = "new"  # new, changed, unchanged, outside
    current: Any = None  # this period's latest record, if any
    previous: Any = None  # the latest record of an earlier period, if any

    @property
    def key(self) -> str:
        return self.rows[0].key

    @property
    def head(self) -> FileRow:
        return next((r for r in self.rows if is_head(r.relation)), self.rows[0])

    @property
    def kk(self) -> str | None:
        return self.rows[0].kk or self.household_kk

    @property
    def file_desil(self) -> int | None:
        head = self.head
        if head.desil is not None:
            return head.desil
        return next((r.desil for r in self.rows if r.desil is not None), None)

    def outcome(self) -> Msg:
        """What the import does to this family, in words."""
        if self.change == "outside":
            return Msg("di luar wilayah Anda, tidak ditulis", "outside your region, not written")
        if self.change == "unchanged":
            return Msg("sama, tidak ada perubahan", "the same, nothing changes")
        if self.change == "changed":
            before = self.current.desil if self.current is not None else None
            return Msg(
                f"berubah pada periode ini: desil {before or '-'} menjadi {self.desil or '-'}",
                f"changed in this period: desil {before or '-'} becomes {self.desil or '-'}",
            )
        text = Msg("baru untuk periode ini", "new for this period")
        if self.household_id is None:
            text = Msg(
                f"{text}; keluarga belum ada di registri", f"{text.en}; family not in the registry"
            )
        prev = self.previous
        if prev is not None and not prev.listed:
            text = Msg(
                f"{text}; pada {prev.period} tidak terdaftar",
                f"{text.en}; not listed in {prev.period}",
            )
        elif prev is not None and prev.desil and self.desil and prev.desil != self.desil:
            text = Msg(
                f"{text}; desil berubah dari {prev.period}: {prev.desil} menjadi {self.desil}",
                f"{text.en}; desil changed since {prev.period}: {prev.desil} becomes {self.desil}",
            )
        return text

    @property
    def desil_moved(self) -> bool:
        prev = self.previous
        return bool(
            self.change == "new"
            and prev is not None
            and prev.listed
            and prev.desil
            and self.desil
            and prev.desil != self.desil
        )


def staging_sink(staging: Staging, villages: VillageIndex) -> Callable[..., dict[str, int]]:
    def sink(batch: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
        staging.add(
            [
                FileRow(
                    row=row,
                    nik=values["nik"],
                    name=values["nama"],
                    kk=values.get("no_kk"),
                    desil=parse_desil(values.get("desil")),
                    relation=values.get("hubungan") or None,
                    address=values.get("alamat") or None,
                    village=villages.resolve(values)[0],
                )
                for row, values in batch
            ]
        )
        return {}

    return sink


def match(families: list[Family]) -> None:
    """Find each family's household (see the module's order of rules), in three queries."""
    niks = [r.nik for f in families for r in f.rows]
    kks = {r.kk for f in families for r in f.rows if r.kk}
    person_households = dict(
        db.session.execute(
            sa.select(Person.nik, Person.household_id).where(
                Person.nik.in_(niks), Person.household_id.is_not(None), Person.erased_at.is_(None)
            )
        ).all()
    )
    households = db.session.execute(
        sa.select(Household.id, Household.kk_number, Household.village_code).where(
            sa.or_(Household.kk_number.in_(kks), Household.id.in_(set(person_households.values())))
        )
    ).all()
    by_kk = {h.kk_number: h for h in households if h.kk_number}
    by_id = {h.id: h for h in households}
    for family in families:
        own = {r.nik: person_households.get(r.nik) for r in family.rows}
        found = by_kk.get(family.rows[0].kk) if family.rows[0].kk else None
        if found is not None:
            family.rule = "kk"
            family.row_rules = {r.nik: "kk" for r in family.rows}
        else:
            head = family.head
            chosen = own.get(head.nik) or next((h for h in own.values() if h), None)
            found = by_id.get(chosen) if chosen else None
            if found is not None:
                family.row_rules = {
                    r.nik: "nik" if own.get(r.nik) == found.id else "member_nik"
                    for r in family.rows
                }
                family.rule = family.row_rules[head.nik]
        if found is not None:
            family.household_id, family.household_kk = found.id, found.kk_number
            family.village = found.village_code
        else:
            family.row_rules = {r.nik: None for r in family.rows}
            family.village = next((r.village for r in family.rows if r.village), None)


def compare(families: list[Family], period: str, region: Region) -> None:
    """Each family's change for `period` against the records stored (one query)."""
    keys = {f.key for f in families}
    kks = {k for f in families for k in (f.rows[0].kk, f.household_kk) if k}
    households = {f.household_id for f in families if f.household_id}
    records = db.session.execute(
        sa.select(DtsenRecord)
        .where(
            sa.or_(
                DtsenRecord.family_key.in_(keys),
                DtsenRecord.kk_number.in_(kks),
                DtsenRecord.household_id.in_(households),
            )
        )
        .order_by(*NEWEST_FIRST)
    ).scalars()
    by: dict[Any, list[DtsenRecord]] = {}
    for record in records:
        for ref in {record.family_key, record.kk_number, record.household_id} - {None}:
            by.setdefault(ref, []).append(record)
    for family in families:
        refs = {family.key, family.rows[0].kk, family.household_kk, family.household_id} - {None}
        seen: dict[uuid.UUID, DtsenRecord] = {}
        for ref in refs:
            for record in by.get(ref, []):
                seen[record.id] = record
        mine = sorted(seen.values(), key=lambda r: (r.period, r.recorded_at, r.id), reverse=True)
        if family.village is None:  # a desil file names no village: the family's last one
            family.village = next((r.village_code for r in mine if r.village_code), None)
        if not region.covers(family.village):
            family.change = "outside"
            continue
        family.current = next((r for r in mine if r.period == period), None)
        family.previous = next((r for r in mine if r.period < period), None)
        file_desil = family.file_desil
        current = family.current
        if file_desil is None and current is not None and current.listed:
            file_desil = current.desil  # an empty cell never erases what is stored
        family.desil = file_desil
        if current is None:
            family.change = "new"
        elif current.listed and current.desil == file_desil:
            family.change = "unchanged"
        else:
            family.change = "changed"


@dataclass(frozen=True)
class Region:
    """The uploader's region, as saved with the job; a family whose village is unknown lies in
    it only for a member of the whole district."""

    params: dict[str, Any]

    def covers(self, village: str | None) -> bool:
        if village is None:
            return self.params.get("scope_kind", "district") == "district"
        return region_test(self.params)(village)


@dataclass
class Writer:
    """Writes one chunk's new and changed families (only in the application)."""

    dtsen_import: DtsenImport
    job_id: uuid.UUID
    actor_label: str

    def __call__(self, families: list[Family]) -> dict[str, int]:
        tenant_id = current_tenant().id
        period = self.dtsen_import.period
        records, members = [], []
        for family in families:
            if family.change == "outside":
                continue
            record_id = None
            if family.change in ("new", "changed"):
                record_id = uuid7()
                head = family.head
                records.append(
                    {
                        "tenant_id": tenant_id,
                        "id": record_id,
                        "period": period,
                        "family_key": family.key,
                        "kk_number": family.kk,
                        "head_nik": head.nik,
                        "head_name": head.name,
                        "household_id": family.household_id,
                        "village_code": family.village,
                        "listed": True,
                        "desil": family.desil,
                        "source": "import",
                        "match_rule": family.rule,
                        "import_id": self.dtsen_import.id,
                        "job_id": self.job_id,
                        "recorded_by_label": self.actor_label[:200],
                    }
                )
            else:
                record_id = family.current.id
            for row in family.rows:
                members.append(
                    {
                        "tenant_id": tenant_id,
                        "id": uuid7(),
                        "period": period,
                        "record_id": record_id,
                        "import_id": self.dtsen_import.id,
                        "nik": row.nik,
                        "name": row.name,
                        "kk_number": row.kk or family.household_kk,
                        "relation": row.relation,
                        "village_code": family.village,
                    }
                )
        if records:
            db.session.execute(sa.insert(DtsenRecord.__table__), records)
        members_written = 0
        if members:
            table = DtsenMember.__table__
            stmt = insert(table).values(members)
            changing = ("record_id", "import_id", "name", "kk_number", "relation", "village_code")
            stmt = stmt.on_conflict_do_update(
                constraint="uq_dtsen_members_period_nik",
                set_={c: stmt.excluded[c] for c in changing},
                where=sa.tuple_(
                    *(table.c[c] for c in changing if c != "import_id")
                ).is_distinct_from(
                    sa.tuple_(*(stmt.excluded[c] for c in changing if c != "import_id"))
                ),
            ).returning(table.c.id)
            members_written = len(db.session.execute(stmt).all())
        updated = sync_households(
            sorted({f.household_id for f in families if f.household_id and f.change != "outside"})
        )
        return {
            "records_written": len(records),
            "members_written": members_written,
            "households_updated": updated,
        }


def _tally(counts: dict[str, int], families: list[Family]) -> None:
    for family in families:
        counts["families"] += 1
        if family.change == "outside":
            counts["out_of_region_families"] += 1
            counts["out_of_region_rows"] += len(family.rows)
            continue
        counts[f"matched_{family.rule}" if family.rule else "unmatched"] += 1
        counts[f"{family.change}_families"] += 1
        counts["desil_changed_since_previous"] += family.desil_moved


def preview_rows(families: list[Family]) -> Iterator[list[Any]]:
    for family in families:
        outcome = family.outcome()
        for row in family.rows:
            rule = RULE_LABELS[family.row_rules.get(row.nik)]
            yield [
                row.row,
                row.nik,
                row.name,
                row.kk,
                row.desil,
                rule if family.change != "outside" else "",
                family.household_kk,
                family.village,
                str(outcome),
                outcome.en,
            ]


def outside_errors(families: list[Family]) -> Iterator[CellError]:
    for family in families:
        if family.change != "outside":
            continue
        for row in family.rows:
            yield CellError(
                row.row,
                "kode_desa",
                family.village or "",
                "Keluarga ini di luar wilayah tugas Anda (atau desanya tidak diketahui); "
                "baris tidak ditulis.",
                "This family is outside your region (or its village is unknown); the row is "
                "not written.",
            )


def _reread_errors(path: Path) -> Iterator[CellError]:
    """The rows' errors the pipeline wrote (its CSV report), to be joined by the region's."""
    if not path.exists():
        return
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            number, column, value, message, message_en = row[:5]
            yield CellError(int(number), column, value, message, message_en)


def run_dtsen_import(ctx: JobContext, dtsen_import: DtsenImport, *, apply: bool) -> dict[str, Any]:
    """The dry run (`apply=False`) or the application of one uploaded file; returns the job's
    result (counts, and for the dry run the first preview rows)."""
    state = ctx.state
    counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
    done_before = int(state.get("families_done", 0)) if apply else 0
    if done_before:
        counts.update(state.get("counts") or {})
    villages = VillageIndex()
    region = Region(ctx.params)
    with tempfile.TemporaryDirectory(prefix="slrt-dtsen-") as tmp:
        work = Path(tmp)
        src = work / "upload"
        src.write_bytes(dtsen_import.content or b"")
        total_rows = estimate_rows(src)
        staging = Staging(work)
        pass_one = work / "pass-one"
        pass_one.mkdir()

        def checkpoint(done: int, total: int | None, message: str, **_: Any) -> None:
            ctx.progress(done, total, f"Membaca berkas: {message}")

        try:
            outcome = run_import(
                src,
                dtsen_sheet(villages),
                staging_sink(staging, villages),
                pass_one,
                checkpoint=checkpoint,
                total_hint=total_rows,
                reshape=lambda rows: mapped_rows(
                    rows, dtsen_import.header_row, dtsen_import.mapping or []
                ),
            )
        except FileRejected as exc:
            staging.close()
            raise JobRejected(exc.msg) from None
        read = outcome.summary()
        for key in ("rows", "good_rows", "bad_rows", "errors", "file_kind", "encoding"):
            counts[key] = read.get(key)  # type: ignore[assignment]
        total = staging.family_count()
        writer = Writer(dtsen_import, ctx.job_id, ctx.job.started_by_label) if apply else None
        preview: list[dict[str, Any]] = []
        previews = [] if apply else [CsvWriter(work / f"{PREVIEW_STEM}.csv", PREVIEW_HEADER)]
        if not apply:
            previews.append(XlsxWriter(work / f"{PREVIEW_STEM}.xlsx", PREVIEW_HEADER, "Pratinjau"))
        outside: list[CellError] = []
        done = done_before
        chunks = _chunks(staging.families(skip=done_before), CHUNK_FAMILIES)
        for chunk in chunks:
            families = [Family(rows) for rows in chunk]
            if writer is not None:
                # One import writes at a time: a family is compared and written under the lock.
                db.session.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(LOCK_SPACE, current_tenant().id))
                )
            match(families)
            compare(families, dtsen_import.period, region)
            _tally(counts, families)
            outside.extend(outside_errors(families))
            if writer is not None:
                for key, value in writer(families).items():
                    counts[key] += value
                meter.count(Metric.IMPORT_ROWS, sum(len(f.rows) for f in families))
            else:
                for line in preview_rows(families):
                    for out in previews:
                        out.write(line)
                    if len(preview) < PREVIEW_ROWS:
                        preview.append(dict(zip(PREVIEW_KEYS, line, strict=True)))
            done += len(families)
            ctx.progress(
                done,
                total,
                f"{done} dari {total} keluarga dicocokkan / {done} of {total} families matched",
                counts=counts,
                state={"families_done": done, "counts": counts} if apply else None,
            )
        staging.close()
        for out in previews:
            out.close()
        report_errors = list(_reread_errors(pass_one / f"{ERROR_REPORT_STEM}.csv"))
        report_errors += outside
        if report_errors:
            report = ErrorReport(work)
            report.add(sorted(report_errors, key=lambda e: e.row))
            report.close()
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.csv", CSV_MEDIA_TYPE, report.csv_path, role="errors"
            )
            ctx.save_file(
                f"{ERROR_REPORT_STEM}.xlsx", XLSX_MEDIA_TYPE, report.xlsx_path, role="errors"
            )
        if not apply:
            ctx.save_file(f"{PREVIEW_STEM}.csv", CSV_MEDIA_TYPE, work / f"{PREVIEW_STEM}.csv")
            ctx.save_file(f"{PREVIEW_STEM}.xlsx", XLSX_MEDIA_TYPE, work / f"{PREVIEW_STEM}.xlsx")
    result: dict[str, Any] = {**counts, "period": dtsen_import.period, "dry_run": not apply}
    if not apply:
        result["preview"] = preview
    message = done_message(counts, apply=apply)
    ctx.progress(done, total, f"{message} / {message.en}", counts=counts)
    return result


PREVIEW_KEYS = (
    "row",
    "nik",
    "name",
    "kk",
    "desil",
    "rule",
    "household_kk",
    "village",
    "change",
    "change_en",
)


def _chunks(families: Iterator[list[FileRow]], size: int) -> Iterator[list[list[FileRow]]]:
    while chunk := list(itertools.islice(families, size)):
        yield chunk


def done_message(counts: dict[str, Any], *, apply: bool) -> Msg:
    families = counts.get("families", 0)
    new, changed = counts.get("new_families", 0), counts.get("changed_families", 0)
    unchanged, bad = counts.get("unchanged_families", 0), counts.get("bad_rows", 0)
    if apply:
        return Msg(
            f"Selesai: {families} keluarga, {new} baru, {changed} berubah, {unchanged} sama; "
            f"{bad} baris bermasalah",
            f"Done: {families} families, {new} new, {changed} changed, {unchanged} the same; "
            f"{bad} rows with errors",
        )
    return Msg(
        f"Uji coba selesai (belum ada yang ditulis): {families} keluarga, {new} akan baru, "
        f"{changed} akan berubah, {unchanged} sama; {bad} baris bermasalah",
        f"Dry run done (nothing written yet): {families} families, {new} would be new, "
        f"{changed} would change, {unchanged} the same; {bad} rows with errors",
    )
