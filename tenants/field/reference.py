"""What the field app keeps on the device to work without signal: the facilitator's villages,
the codes an offline NIK check needs (every kabupaten/kota, this district's kecamatan), the
program list, and the cases waiting for the facilitator's follow-up, with one version for the
whole set (the device refreshes when it changes)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform import db, region_codes
from slrt.platform.config import setting
from slrt.platform.tenancy import current_tenant
from slrt.tenants.programs.models import Program
from slrt.tenants.regions.access import villages_in_scope
from slrt.tenants.registry import actions as registry
from slrt.tenants.registry.models import Person

FOLLOW_UP_LIMIT = 100


def draft_days() -> int:
    """Days a draft may wait unsynced on a device before it is erased (SLRT_FIELD_DRAFT_DAYS)."""
    return max(1, int(setting("SLRT_FIELD_DRAFT_DAYS") or 7))


def offline_hours() -> int:
    """Hours a device may keep using its key without reaching the server
    (SLRT_FIELD_OFFLINE_HOURS)."""
    return max(1, int(setting("SLRT_FIELD_OFFLINE_HOURS") or 24))


def _digits(code: str) -> str:
    return code.replace(".", "")


def _follow_ups() -> list[dict[str, Any]]:
    from slrt.tenants.flow.web.referrals import followup_scope

    cases = list(
        db.session.execute(
            followup_scope().order_by(sa.text("updated_at")).limit(FOLLOW_UP_LIMIT)
        ).scalars()
    )
    people = {
        p.id: p.name
        for p in db.session.execute(
            sa.select(Person).where(Person.id.in_([c.person_id for c in cases if c.person_id]))
        ).scalars()
    }
    # The device is shown these persons' names: reads of personal data, recorded as such.
    registry.record_person_reads(sorted(people), "person.list", note="field app")
    return [
        {
            "id": str(c.id),
            "ticket_number": c.ticket_number,
            "status": c.status,
            "village_code": c.village_code,
            "person": people.get(c.person_id),
            "person_id": str(c.person_id) if c.person_id else None,
        }
        for c in cases
    ]


def reference() -> dict[str, Any]:
    tenant = current_tenant()
    villages = [
        {"code": v.code, "name": v.name}
        for v in db.session.execute(villages_in_scope(current_principal())).scalars()
    ]
    programs = [
        {"id": str(p.id), "name": p.name}
        for p in db.session.execute(
            sa.select(Program).where(Program.active.is_(True)).order_by(Program.name)
        ).scalars()
    ]
    body = {
        "district": {"code": tenant.code, "name": tenant.name},
        "villages": villages,
        "regencies": sorted(_digits(r.code) for r in region_codes.regencies()),
        "kecamatan": sorted(_digits(k.code) for k in region_codes.children_of(tenant.code)),
        "programs": programs,
        "follow_ups": _follow_ups(),
        "draft_days": draft_days(),
    }
    body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body
