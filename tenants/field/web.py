"""The field app for facilitators: /t/<tenant>/field/. An installable app shell (a page, its
service worker whose scope is this folder, a web app manifest) that captures households, visits
with photos and follow-up notes without signal, keeps them encrypted on the device, and syncs
them through the same functions as the API (`sync.sync_items`, `actions`): one permission check,
one region scope, one audit per item.

Only members who may register visits and households get the app (anyone else gets the 403
page, and nothing of theirs is ever cached). The JSON routes below are the app's own (session
cookie and CSRF header); `key` hands the device its encryption key and is never cached.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, ValidationError

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db, region_codes
from slrt.platform.errors import Msg, Problem, flatten_messages
from slrt.platform.web import TenantPages
from slrt.tenants.field import actions
from slrt.tenants.field.access import access_upload_by_id
from slrt.tenants.field.keys import device_key
from slrt.tenants.field.models import FieldUpload
from slrt.tenants.field.reference import draft_days, offline_hours, reference
from slrt.tenants.field.sync import (
    PieceQuerySchema,
    SyncRequestSchema,
    SyncResponseSchema,
    UploadSchema,
    UploadStartSchema,
    sync_items,
)
from slrt.tenants.flow.models import AttachmentKind, CaseKind
from slrt.tenants.regions.access import villages_in_scope
from slrt.tenants.registry.models import Relation

bp = TenantPages("field_web", __name__, "/field", lookups={"upload_id": access_upload_by_id})

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "field" / "sw.js"
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def field_app(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The app is for those who register both households and visits in the field."""

    @require(P.CASES_REGISTER)
    @require(P.REGISTRY_WRITE)
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise Problem(
            422,
            Msg("Periksa kolom yang ditandai.", "Check the fields listed in errors."),
            errors=flatten_messages(exc.messages),
        ) from None


def _json(schema: Schema, value: Any) -> Response:
    return jsonify(schema.dump(value))


# --- the app shell ---------------------------------------------------------------------------


KIND_LABELS = {
    CaseKind.service_request: Msg("Permohonan layanan", "Service request"),
    CaseKind.complaint: Msg("Pengaduan", "Complaint"),
    CaseKind.question: Msg("Pertanyaan", "Question"),
    CaseKind.suggestion: Msg("Saran", "Suggestion"),
}
PHOTO_LABELS = {
    AttachmentKind.ktp: Msg("KTP", "KTP"),
    AttachmentKind.kk: Msg("Kartu Keluarga", "Family card"),
    AttachmentKind.sktm: Msg("SKTM", "SKTM"),
    AttachmentKind.photo: Msg("Foto rumah atau kondisi warga", "Photo of the house or person"),
    AttachmentKind.other: Msg("Lainnya", "Other"),
}
RELATION_LABELS = {
    Relation.kepala_keluarga: Msg("Kepala keluarga", "Head of household"),
    Relation.istri: Msg("Istri", "Wife"),
    Relation.suami: Msg("Suami", "Husband"),
    Relation.anak: Msg("Anak", "Child"),
    Relation.orang_tua: Msg("Orang tua", "Parent"),
    Relation.mertua: Msg("Mertua", "Parent-in-law"),
    Relation.menantu: Msg("Menantu", "Child-in-law"),
    Relation.cucu: Msg("Cucu", "Grandchild"),
    Relation.famili_lain: Msg("Famili lain", "Other relative"),
    Relation.lainnya: Msg("Lainnya", "Other"),
}


@bp.get("/")
@field_app
def app_shell() -> str:
    # Nothing personal on this page: the service worker keeps it for offline use.
    villages = [
        (v.code, v.name)
        for v in db.session.execute(villages_in_scope(current_principal())).scalars()
    ]
    return render_template(
        "field/app.html",
        villages=villages,
        kinds=KIND_LABELS,
        photos=PHOTO_LABELS,
        relations=RELATION_LABELS,
        draft_days=draft_days(),
        district=g.tenant.code.replace(".", ""),
        regencies=" ".join(sorted(r.code.replace(".", "") for r in region_codes.regencies())),
        kecamatan=" ".join(
            k.code.replace(".", "") for k in region_codes.children_of(g.tenant.code)
        ),
    )


def _shell_assets() -> list[str]:
    manifest = current_app.extensions["slrt_assets"]
    return [f"/static/{manifest[name]}" for name in ("slrt.css", "field/app.js", "field/field.css")]


@bp.get("/sw.js")
@field_app
def service_worker() -> Response:
    """The service worker, served from the app's folder so its scope covers the app; it knows
    the fingerprinted names of the shell's assets (a new release has new names, so a new
    worker)."""
    source = SERVICE_WORKER.read_bytes()
    config = {
        "shell": url_for(".app_shell"),
        "assets": _shell_assets(),
        "never": [
            url_for(".device_key_json"),
            url_for(".sync_json"),
            url_for(".reference_json"),
            url_for(".upload_start_json"),
        ],
    }
    body = f"const FIELD = {json.dumps(config)};\n".encode() + source
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for(".app_shell")
    return response


@bp.get("/manifest.webmanifest")
@field_app
def manifest() -> Response:
    from flask_babel import gettext as _

    body = {
        "name": _("SLRT Lapangan") + " · " + g.tenant.name,
        "short_name": _("SLRT Lapangan"),
        "start_url": url_for(".app_shell"),
        "scope": url_for(".app_shell"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5394",
        "lang": "id",
        "icons": [
            {
                "src": "/static/" + current_app.extensions["slrt_assets"]["field/icon.svg"],
                "sizes": "any",
                "type": "image/svg+xml",
            }
        ],
    }
    return Response(json.dumps(body), mimetype="application/manifest+json")


@bp.get("/key")
@field_app
def device_key_json() -> Response:
    """This device's key for its drafts, to a live session only (no-store, like every page of
    the district), with how long the device may keep using it offline."""
    device = request.args.get("device", "")
    if not DEVICE_ID.match(device):
        raise Problem(422, Msg("Kode perangkat tidak sah.", "Invalid device id."))
    principal = current_principal()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=offline_hours())
    return jsonify(
        {
            "key": device_key(principal.account_id, device),
            "usable_until": until.isoformat(),
            "account": str(principal.account_id),
            "csrf_token": generate_csrf(),
            "draft_days": draft_days(),
        }
    )


# --- the app's JSON routes (the API's functions, through the session) ------------------------


@bp.post("/sync")
@field_app
def sync_json() -> Response:
    body = _load(SyncRequestSchema(), request.get_json(silent=True))
    return _json(SyncResponseSchema(), sync_items(body["items"]))


@bp.get("/reference")
@field_app
def reference_json() -> Response:
    return jsonify(reference())


@bp.post("/uploads")
@field_app
def upload_start_json() -> Response:
    body = _load(UploadStartSchema(), request.get_json(silent=True))
    upload = actions.start_upload(body["key"], body["size"], body["sha256"])
    return _json(UploadSchema(), upload)


@bp.get("/uploads/<uuid:upload_id>")
@field_app
def upload_json(upload_id: uuid.UUID) -> Response:
    return _json(UploadSchema(), access_upload_by_id(upload_id))


@bp.post("/uploads/<uuid:upload_id>/pieces")
@field_app
def upload_piece_json(upload_id: uuid.UUID) -> Response:
    query = _load(PieceQuerySchema(), request.args.to_dict())
    upload: FieldUpload = access_upload_by_id(upload_id, lock=True)
    upload = actions.add_piece(upload, query["offset"], request.get_data(cache=False))
    return _json(UploadSchema(), upload)
