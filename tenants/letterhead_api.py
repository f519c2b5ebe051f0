"""The district letterhead (kop surat) used on referral letters: /api/v1/t/<tenant>/letterhead."""

from __future__ import annotations

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.audit import AuditKind, changes, record
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.flow_support import FlowBlueprint, check_if_match
from slrt.tenants.letterhead import LetterheadSchema, letterhead

blp = FlowBlueprint(
    "letterhead", __name__, "/letterhead", description="Letterhead of referral letters"
)


class LetterheadOutSchema(LetterheadSchema):
    pass


def _tenant() -> Tenant:
    return db.session.get(Tenant, current_tenant().id, with_for_update=True)


@blp.route("")
@blp.etag
@blp.response(200, LetterheadOutSchema)
@require(P.TENANT_READ)
def get_letterhead() -> dict:
    """The effective letterhead (stored fields over defaults from the district's name)."""
    return letterhead(db.session.get(Tenant, current_tenant().id))


@blp.route("", methods=["PUT"])
@blp.etag
@blp.arguments(LetterheadSchema)
@blp.response(200, LetterheadOutSchema)
@require(P.TENANT_CONFIGURE)
def put_letterhead(data: dict) -> dict:
    """Set letterhead fields (If-Match required); fields left out keep their current value."""
    tenant = _tenant()
    before = letterhead(tenant)
    check_if_match(blp, before, LetterheadOutSchema)
    settings = dict(tenant.settings or {})
    settings["letterhead"] = {**(settings.get("letterhead") or {}), **data}
    tenant.settings = settings
    after = letterhead(tenant)
    old, new = changes(before, after)
    record(AuditKind.config, "letterhead.update", "tenant", tenant.id, before=old, after=new)
    db.session.commit()
    return after
