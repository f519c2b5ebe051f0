"""Background exports of personal data to CSV or XLSX (a job handler calls `write_export`).

The handler builds the query with the requester's region scope (captured when the export was
asked for, see `requester_scope`) and passes the rows; this module streams them into the file
(constant memory, formula injection neutralised by tabular_write), reports progress, stores the
file on the job and records the export in the personal-data audit in the same transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.jobs.runner import JobContext
from slrt.platform.tabular.write import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, CsvWriter, XlsxWriter

FORMATS = ("csv", "xlsx")
PROGRESS_EVERY = 5000


def requester_scope(principal: Any) -> dict[str, Any]:
    """The region scope to store in an export job's params when it is asked for."""
    return {"scope_kind": principal.scope_kind, "scope_codes": list(principal.scope_codes)}


def region_clause(params: dict[str, Any], village_code_column: sa.ColumnElement) -> Any:
    """The SQL condition for the scope saved in the job's params (same rule as
    Principal.region_clause: a desa code lies inside a kecamatan code by prefix)."""
    kind = params.get("scope_kind", "district")
    codes = params.get("scope_codes") or []
    if kind == "district":
        return sa.true()
    if not codes:
        return sa.false()
    if kind == "village":
        return village_code_column.in_(codes)
    return sa.or_(*(village_code_column.like(code + ".%") for code in codes))


def write_export(
    ctx: JobContext,
    *,
    stem: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    fmt: str,
    entity_type: str,
    total: int | None = None,
) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    name = f"{stem}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="slrt-export-") as tmp:
        path = Path(tmp) / name
        writer = CsvWriter(path, header) if fmt == "csv" else XlsxWriter(path, header, stem)
        count = 0
        try:
            for row in rows:
                writer.write(row)
                count += 1
                if count % PROGRESS_EVERY == 0:
                    # Progress only (no resume state): an export simply starts over on retry;
                    # the query keeps streaming in the handler's open transaction.
                    ctx.note_progress(count, total, f"{count} baris ditulis / rows written")
        finally:
            writer.close()
        ctx.save_file(name, CSV_MEDIA_TYPE if fmt == "csv" else XLSX_MEDIA_TYPE, path)
    record(
        AuditKind.export,
        f"{entity_type}.export",
        entity_type,
        None,
        after={"job_id": str(ctx.job_id), "format": fmt, "rows": count, "columns": list(header)},
        note=f"scope={ctx.params.get('scope_kind', 'district')}:"
        + ",".join(ctx.params.get("scope_codes") or []),
    )
    meter.count(Metric.EXPORTS)  # sent when this checkpoint commits
    ctx.progress(count, count, f"{count} baris diekspor / rows exported", counts={"rows": count})
    return {"file": name, "rows": count}
