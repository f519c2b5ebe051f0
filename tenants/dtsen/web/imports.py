"""DTSEN import pages (/t/<slug>/dtsen/imports/...): upload a SIKS-NG file as it came, map its
columns (the recognised headers chosen already, the district's earlier choices remembered), run
the dry run and read what would change, then apply it; each step's job shows its progress, its
counts and its error report.

Every write is an action of `dtsen.actions` (`start_import`, `check_import`, `apply_import`)
with the API's schemas, so the mapping rules, the period rule and the audit are the API's own.
A page whose job is still running refreshes itself (a meta refresh: no script needed).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import local_today
from slrt.platform.jobs.access import access_job_file
from slrt.platform.jobs.api import file_response
from slrt.platform.jobs.models import TERMINAL, Job, JobFile, JobStatus
from slrt.platform.jobs.web import JOB_LINKS, JOB_STARTS, KIND_WORDS, JobStart
from slrt.platform.web import Form, TenantPages, notice, page_of, parse_form, problem_form
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.access import access_import_by_id, import_scope
from slrt.tenants.dtsen.api import CheckSchema, ImportFormSchema
from slrt.tenants.dtsen.columns import FIELDS, recognise, sample_values
from slrt.tenants.dtsen.imports import RULE_LABELS
from slrt.tenants.dtsen.models import DtsenImport
from slrt.tenants.dtsen.periods import recent_periods
from slrt.tenants.dtsen.settings import saved_columns

bp = TenantPages(
    "dtsen_imports_web", __name__, "/dtsen/imports", lookups={"import_id": access_import_by_id}
)

KINDS: list[tuple[str, Msg]] = [
    ("bnba", Msg("BNBA (daftar nama dan alamat)", "BNBA (list by name and address)")),
    ("desil", Msg("Desil", "Desil")),
]

STATES: dict[str, Msg] = {
    "mapping": Msg("Menunggu pemetaan kolom", "Waiting for the column mapping"),
    "checking": Msg("Uji coba berjalan", "Dry run running"),
    "checked": Msg("Uji coba selesai, belum diterapkan", "Dry run done, not applied yet"),
    "applying": Msg("Sedang diterapkan", "Being applied"),
    "applied": Msg("Sudah diterapkan", "Applied"),
}

JOB_STATES: dict[str, Msg] = {
    JobStatus.queued: Msg("Menunggu giliran", "Waiting"),
    JobStatus.running: Msg("Berjalan", "Running"),
    JobStatus.succeeded: Msg("Selesai", "Done"),
    JobStatus.failed: Msg("Gagal", "Failed"),
    JobStatus.cancelled: Msg("Dibatalkan", "Cancelled"),
}

# The counts a job reports, in the order and words the page shows them.
COUNTS: list[tuple[str, Msg]] = [
    ("rows", Msg("Baris dibaca", "Rows read")),
    ("bad_rows", Msg("Baris bermasalah", "Rows with errors")),
    ("families", Msg("Keluarga", "Families")),
    ("matched_kk", Msg("Cocok lewat nomor KK", "Matched by KK number")),
    ("matched_nik", Msg("Cocok lewat NIK kepala keluarga", "Matched by the head's NIK")),
    ("matched_member_nik", Msg("Cocok lewat NIK anggota", "Matched by a member's NIK")),
    ("unmatched", Msg("Tidak ada di registri", "Not in the registry")),
    ("new_families", Msg("Baru untuk periode ini", "New for this period")),
    ("changed_families", Msg("Berubah", "Changed")),
    ("unchanged_families", Msg("Sama seperti tersimpan", "Same as stored")),
    ("desil_changed_since_previous", Msg("Desil berubah dari triwulan lalu", "Desil changed")),
    ("submissions_created", Msg("Usul/sanggah baru", "New proposals/objections")),
    ("submissions_unchanged", Msg("Sudah pernah diimpor", "Imported before")),
    ("out_of_region_families", Msg("Di luar wilayah Anda", "Outside your region")),
    ("records_written", Msg("Data ditulis", "Records written")),
]

# What only an application reports (a dry run writes nothing).
WRITTEN = {"records_written"}

IGNORE = Msg("(abaikan kolom ini)", "(ignore this column)")

FILE_LABELS: dict[str, Msg] = {
    "laporan-kesalahan.csv": Msg("Laporan kesalahan (CSV)", "Error report (CSV)"),
    "laporan-kesalahan.xlsx": Msg("Laporan kesalahan (XLSX)", "Error report (XLSX)"),
    "pratinjau.csv": Msg("Pratinjau lengkap (CSV)", "Full preview (CSV)"),
    "pratinjau.xlsx": Msg("Pratinjau lengkap (XLSX)", "Full preview (XLSX)"),
}


# The district's job pages name DTSEN jobs in words, link each to its own page here, and offer
# the upload among the pages that start jobs.
KIND_WORDS.update(
    {
        "dtsen.check": Msg("Uji coba impor DTSEN", "DTSEN import dry run"),
        "dtsen.apply": Msg("Penerapan impor DTSEN", "Applying a DTSEN import"),
        "dtsen.submissions_import": Msg(
            "Impor usul/sanggah dari Kemensos", "Proposals and objections from Kemensos"
        ),
        "dtsen.deem_overdue": Msg(
            "Usul/sanggah lewat batas verifikasi", "Proposals and objections past their clock"
        ),
    }
)
JOB_STARTS.append(
    JobStart("dtsen_imports_web.index", Msg("Impor DTSEN", "DTSEN import"), P.IMPORTS_RUN)
)


def _import_link(job: Job) -> list[tuple[str, Msg]]:
    import_id = (job.params or {}).get("import_id")
    if not import_id:
        return []
    return [
        (
            url_for("dtsen_imports_web.detail", import_id=import_id),
            Msg("Buka impor DTSEN", "Open the DTSEN import"),
        )
    ]


JOB_LINKS["dtsen.check"] = JOB_LINKS["dtsen.apply"] = _import_link


def _period_options() -> list[tuple[str, str]]:
    return [(p, p) for p in recent_periods(local_today())]


# --- the list and the upload --------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@require(P.IMPORTS_RUN)
def index():
    """The district's DTSEN imports, newest first, and the upload form."""
    form: Form | None = None
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("kind", "period")}
        data, form = parse_form(ImportFormSchema(), {k: v for k, v in values.items() if v})
        upload = request.files.get("file")
        if data is not None and (upload is None or not upload.filename):
            form = Form(
                values,
                {"file": Msg("Pilih berkas SIKS-NG (CSV atau XLSX).", "Choose the file.")},
            )
            data = None
        if data is None:
            status = 422
        else:
            try:
                dtsen_import = actions.start_import(
                    data["kind"], data["period"], upload.filename, upload.read()
                )
            except Problem as exc:
                form = problem_form(exc, values)
                status = exc.code or 422
            else:
                notice(
                    Msg(
                        "Berkas diunggah. Periksa kolom-kolomnya, lalu jalankan uji coba.",
                        "File uploaded. Check its columns, then run the dry run.",
                    )
                )
                return redirect(url_for(".detail", import_id=dtsen_import.id))
    page = page_of(
        import_scope(sa.select(DtsenImport)), DtsenImport.created_at.desc(), DtsenImport.id
    )
    return render_template(
        "dtsen/imports.html",
        form=form,
        page=page,
        kinds=KINDS,
        kind_labels=dict(KINDS),
        states=STATES,
        periods=_period_options(),
    ), status


# --- one import ---------------------------------------------------------------------------------


def job_view(job: Job | None) -> dict[str, Any] | None:
    """What the page shows of a job: state, progress, counts, preview and files."""
    if job is None:
        return None
    files = [
        name
        for name in db.session.execute(
            sa.select(JobFile.name)
            .where(JobFile.job_id == job.id, JobFile.role != "input")
            .order_by(JobFile.role, JobFile.name)
        ).scalars()
    ]
    counts = job.counts or {}
    # The job writes its progress in both languages, "Indonesian / English".
    said = (job.progress_message or "").split(" / ")
    return {
        "message": Msg(said[0], said[-1]) if said[0] else None,
        "job": job,
        "state": JOB_STATES.get(job.status, Msg(job.status, job.status)),
        "running": job.status not in TERMINAL,
        "counts": [
            (label, counts[key])
            for key, label in COUNTS
            if counts.get(key) is not None and (job.kind == "dtsen.apply" or key not in WRITTEN)
        ],
        "preview": [_preview_row(row) for row in (job.result or {}).get("preview") or []],
        "files": [(name, FILE_LABELS.get(name, Msg(name, name))) for name in files],
        "percent": (
            int(100 * job.progress_done / job.progress_total) if job.progress_total else None
        ),
    }


RULES_BY_TEXT: dict[str, Msg] = {str(m): m for m in RULE_LABELS.values()}


def _preview_row(row: dict[str, Any]) -> dict[str, Any]:
    """A dry run's preview row with its match rule and change in the page's language."""
    rule = row.get("rule") or ""
    return {
        **row,
        "rule": RULES_BY_TEXT.get(rule, Msg(rule, rule)) if rule else None,
        "change": Msg(row.get("change") or "", row.get("change_en") or ""),
    }


def _detail_page(dtsen_import: DtsenImport, form: Form | None = None, status: int = 200):
    check_job = job_view(actions.job_of(dtsen_import.check_job_id))
    apply_job = job_view(actions.job_of(dtsen_import.apply_job_id))
    mapping = list(dtsen_import.mapping or [])
    if form is not None:  # a refused mapping is shown as it was chosen
        mapping = [form.values.get(f"column-{i}") or None for i in range(len(dtsen_import.headers))]
    samples = sample_values(dtsen_import.content or b"", dtsen_import.header_row)
    saved = saved_columns()
    recognised = [recognise(h, saved) for h in dtsen_import.headers]
    columns = [
        {
            "index": i,
            "header": header,
            "sample": samples[i] if i < len(samples) else "",
            "chosen": mapping[i] if i < len(mapping) else None,
            "recognised": recognised[i],
        }
        for i, header in enumerate(dtsen_import.headers)
    ]
    running = any(j and j["running"] for j in (check_job, apply_job))
    return render_template(
        "dtsen/import.html",
        dtsen_import=dtsen_import,
        state=STATES.get(dtsen_import.status),
        kind=dict(KINDS).get(dtsen_import.kind),
        columns=columns,
        fields=[(f.name, f.label) for f in FIELDS.values()],
        required=[f.label for f in FIELDS.values() if f.required],
        ignore=IGNORE,
        may_map=actions.may_map(dtsen_import),
        may_apply=actions.may_apply(dtsen_import),
        check_job=check_job,
        apply_job=apply_job,
        refresh=running,
        file_url=lambda name: url_for(".job_file", import_id=dtsen_import.id, name=name),
        form=form,
    ), status


@bp.get("/<uuid:import_id>")
@require(P.IMPORTS_RUN)
def detail(import_id: uuid.UUID):
    """The mapping step, the dry run's result and the application of one file."""
    return _detail_page(access_import_by_id(import_id))


@bp.post("/<uuid:import_id>/check")
@require(P.IMPORTS_RUN)
def check(import_id: uuid.UUID):
    """Confirm the mapping (one choice per column) and start the dry run."""
    dtsen_import = access_import_by_id(import_id, lock=True)
    width = len(dtsen_import.headers)
    values = {f"column-{i}": request.form.get(f"column-{i}", "").strip() for i in range(width)}
    save = request.form.get("save_mapping") == "1"
    data, form = parse_form(
        CheckSchema(),
        {"mapping": [values[f"column-{i}"] for i in range(width)], "save_mapping": save},
    )
    if data is None:
        return _detail_page(dtsen_import, _mapping_form(form, values), 422)
    try:
        actions.check_import(dtsen_import, data["mapping"], data["save_mapping"])
    except Problem as exc:
        form = problem_form(exc, values)
        return _detail_page(
            access_import_by_id(import_id), _mapping_form(form, values), exc.code or 422
        )
    notice(
        Msg(
            "Uji coba dimulai: belum ada yang ditulis. Hasilnya tampil di halaman ini.",
            "Dry run started: nothing is written yet. Its result shows on this page.",
        )
    )
    return redirect(url_for(".detail", import_id=import_id))


def _mapping_form(form: Form, values: dict[str, str]) -> Form:
    """A mapping's problems belong to the mapping as a whole: shown at the top of the step."""
    first = next(iter(form.errors.values()), None)
    errors = {"_": first} if first is not None else {}
    return Form(values, errors)


@bp.post("/<uuid:import_id>/apply")
@require(P.IMPORTS_RUN)
def apply(import_id: uuid.UUID):
    """Write the file's standing for its period (after the dry run)."""
    dtsen_import = access_import_by_id(import_id, lock=True)
    try:
        actions.apply_import(dtsen_import)
    except Problem as exc:
        return _detail_page(access_import_by_id(import_id), problem_form(exc, {}), exc.code or 409)
    notice(
        Msg(
            "Penerapan dimulai. Kemajuannya tampil di halaman ini.",
            "Applying started. Its progress shows on this page.",
        )
    )
    return redirect(url_for(".detail", import_id=import_id))


@bp.get("/<uuid:import_id>/files/<string:name>")
@require(P.IMPORTS_RUN)
def job_file(import_id: uuid.UUID, name: str):
    """A file one of this import's jobs produced (the error report, the full preview)."""
    dtsen_import = access_import_by_id(import_id)
    for job_id in (dtsen_import.apply_job_id, dtsen_import.check_job_id):
        job = actions.job_of(job_id)
        if job is None:
            continue
        try:
            return file_response(access_job_file(job, name))
        except Problem as exc:
            if exc.code != 404:
                raise
    raise Problem(404, Msg("Berkas tidak ditemukan.", "File not found."))
