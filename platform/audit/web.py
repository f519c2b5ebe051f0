"""The district's audit trail page: /t/<slug>/audit, newest first, filtered by who, what kind,
when (days in the district's own zone) and which record; each event in words: the action, the
record it concerns by name, and what changed as a small before/after table.

Needs `audit.read`; personal-data events (reads, exports, letters, erasure) are shown only to
holders of `personal_data.audit`, and asking for them without it is refused: the same rule as
the API (`access.visible_events`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import render_template, request

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import like_pattern
from slrt.platform.audit.access import PERSONAL_KINDS, visible_events
from slrt.platform.audit.api import AuditQuerySchema, event_filters
from slrt.platform.audit.models import AuditEvent, AuditKind
from slrt.platform.audit.words import (
    ENTITIES,
    KINDS,
    action_label,
    change_rows,
    entity_label,
    ids_in,
    kind_label,
)
from slrt.platform.errors import Msg
from slrt.platform.i18n import current_zone
from slrt.platform.web import Form, TenantPages, page_of, parse_form

bp = TenantPages("audit_web", __name__, "/audit")

NOT_A_DAY = Msg("Bukan tanggal yang sah (format YYYY-MM-DD).", "Not a valid date (YYYY-MM-DD).")
ACTOR_KINDS = {
    "system": Msg("Sistem", "System"),
    "client": Msg("Aplikasi klien", "Client application"),
}


def _day_start(text: str, field: str, errors: dict[str, Msg]) -> str | None:
    """The start of a day in the district's zone, as the API's datetime filter reads it."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors[field] = NOT_A_DAY
        return None
    if field == "until":
        day += dt.timedelta(days=1)  # up to the end of that day
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(current_zone())).isoformat()


def _filters() -> tuple[dict[str, Any], Form]:
    """The page's filters, read with the API's audit query schema (days in the district's zone
    become the instants the API filters on)."""
    names = ("kind", "entity_type", "entity_id", "actor", "who", "since", "until")
    values = {k: request.args[k].strip() for k in names if request.args.get(k, "").strip()}
    errors: dict[str, Msg] = {}
    body: dict[str, Any] = {
        k: values[k] for k in ("kind", "entity_type", "entity_id") if k in values
    }
    if "actor" in values:
        body["actor_account_id"] = values["actor"]
    for field in ("since", "until"):
        if field in values:
            start = _day_start(values[field], field, errors)
            if start is not None:
                body[field] = start
    data, parsed = parse_form(AuditQuerySchema(), body)
    for key, message in parsed.errors.items():
        errors.setdefault("actor" if key == "actor_account_id" else key, message)
    query = data or {}
    if errors:
        query = {}
    if values.get("who") and not errors:
        query["who"] = values["who"][:200]
    return query, Form(values, errors)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, TypeError):
        return None


def _names(ids: set[str]) -> dict[str, str]:
    """The names of the records these ids are (villages, kecamatan, service points, agencies,
    programs, roles), looked up in one query per kind."""
    from slrt.auth.memberships.models import Role
    from slrt.tenants.agencies.models import Agency
    from slrt.tenants.programs.models import Program
    from slrt.tenants.regions.models import Kecamatan, Village
    from slrt.tenants.service_points.models import ServicePoint

    wanted = [u for u in (_uuid(i) for i in ids) if u is not None]
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for model, label in (
        (Village, Village.name),
        (Kecamatan, Kecamatan.name),
        (ServicePoint, ServicePoint.name),
        (Agency, Agency.name),
        (Program, Program.code + " · " + Program.name),
        (Role, Role.name),
    ):
        rows = db.session.execute(sa.select(model.id, label).where(model.id.in_(wanted))).all()
        found.update({str(i): name for i, name in rows})
    return found


@bp.get("")
@require(P.AUDIT_READ)
def audit_trail():
    principal = current_principal()
    query, form = _filters()
    stmt = visible_events(principal, query.get("kind")).where(
        *event_filters(AuditEvent, query, ("entity_type", "entity_id", "actor_account_id"))
    )
    if query.get("who"):
        stmt = stmt.where(AuditEvent.actor_label.ilike(like_pattern(query["who"])))
    page = page_of(stmt, AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    ids = {e.entity_id for e in page.items if e.entity_id}
    for event in page.items:
        ids |= ids_in(event.before, event.after)
    names = _names(ids)
    events = [
        {
            "event": e,
            "kind": kind_label(e.kind),
            "action": action_label(e.action),
            "entity": entity_label(e.entity_type),
            "entity_name": names.get(e.entity_id or ""),
            "who": ACTOR_KINDS.get(e.actor_kind) if e.actor_kind != "account" else None,
            "changes": change_rows(e.before, e.after, names, e.entity_type),
        }
        for e in page.items
    ]
    personal = principal.can(str(P.PERSONAL_DATA_AUDIT))
    kinds = [(str(k), KINDS[k]) for k in AuditKind if personal or k not in PERSONAL_KINDS]
    return render_template(
        "audit/trail.html",
        page=page,
        events=events,
        form=form,
        kinds=kinds,
        entities=sorted(ENTITIES.items(), key=lambda item: str(item[1])),
        entity_filter=(
            entity_label(form.values.get("entity_type", "")),
            _names({form.values["entity_id"]}).get(form.values["entity_id"], "")
            if form.values.get("entity_id")
            else "",
        ),
        filtered=bool(form.values),
        personal=personal,
    ), (422 if form.errors else 200)
