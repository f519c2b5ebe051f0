"""What Kemensos and a district do to the district itself: onboarding from the Kemendagri code,
suspension and reactivation, lokus designations, and the district's letterhead. Each is one
action, called alike by the API and by `slrt tenants ...`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from slrt.auth.memberships.actions import create_default_roles
from slrt.billing_free.actions import assign_default_plan
from slrt.platform import db, region_codes
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, record, record_both
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.i18n import local_today
from slrt.platform.region_codes import WIB, WIT, WITA
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, TenantStatus, tenant_by_code
from slrt.platform.transaction import action
from slrt.tenants.districts.models import LOKUS_FIELDS as FIELDS
from slrt.tenants.districts.models import LokusDesignation
from slrt.tenants.districts.settings import letterhead
from slrt.tenants.regions.actions import create_regions


def validate_regency_code(code: str) -> str:
    """Return the code if it names a kabupaten/kota in the reference, else raise 422."""
    code = (code or "").strip()
    if not region_codes.REGENCY_RE.match(code):
        if (
            region_codes.PROVINCE_RE.match(code)
            or region_codes.KECAMATAN_RE.match(code)
            or region_codes.VILLAGE_RE.match(code)
        ):
            raise field_problem(
                422,
                "code",
                Msg(
                    f"'{code}' bukan kode kabupaten/kota; gunakan format PP.KK, mis. 73.72.",
                    f"'{code}' is not a kabupaten/kota code; use PP.KK, e.g. 73.72.",
                ),
            )
        raise field_problem(
            422,
            "code",
            Msg(
                f"Format kode '{code}' salah; gunakan PP.KK, mis. 33.24.",
                f"Code '{code}' is malformed; use PP.KK, e.g. 33.24.",
            ),
        )
    if not region_codes.is_regency(code):
        raise field_problem(
            422,
            "code",
            Msg(
                f"Kode {code} tidak ada dalam referensi wilayah Kemendagri 2025.",
                f"Code {code} is not in the Kemendagri 2025 region reference.",
            ),
        )
    return code


@action
def onboard_tenant(code: str) -> tuple[Tenant, bool]:
    """Create the tenant for `code` with its regions; returns (tenant, created).

    Idempotent: onboarding an existing district returns it unchanged."""
    code = validate_regency_code(code)
    existing = tenant_by_code(code)
    if existing is not None:
        return existing, False
    name = region_codes.name_of(code) or code
    province = code[:2]
    tenant = Tenant(
        code=code,
        slug=region_codes.slugs()[code],
        name=name,
        province_code=province,
        province_name=region_codes.name_of(province) or province,
        status="active",
    )
    db.session.add(tenant)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        # Onboarded at the same moment by someone else; the action rolls back.
        raise Problem(
            409, Msg("Kabupaten/kota ini sudah terdaftar.", "This district is already onboarded.")
        ) from exc
    # The district's own trail starts with its onboarding.
    record_both(
        tenant,
        AuditKind.config,
        "tenant.onboard",
        "tenant",
        tenant.id,
        after={"code": code, "name": name},
        platform_after={"code": code, "name": name, "slug": tenant.slug},
    )
    with tenant_context(tenant.ref()):
        for hook in ONBOARDING_HOOKS:
            hook(tenant)
        db.session.flush()
    return tenant, True


# Called inside the onboarding transaction, in the new tenant's context (regions, roles...).
ONBOARDING_HOOKS: list[Callable[[Tenant], None]] = [
    create_default_roles,
    create_regions,
    assign_default_plan,
]


# --- suspension -------------------------------------------------------------------------------


@action
def set_tenant_status(tenant: Tenant, status: TenantStatus, reason: str) -> Tenant:
    """Suspend (read-only for its users, 404 to everyone else, data kept) or reactivate a
    district; recorded in the platform audit and in the district's own audit."""
    if tenant.status == status:
        raise Problem(
            409,
            Msg(
                f"{tenant.name} sudah berstatus {status.value}.",
                f"{tenant.name} is already {status.value}.",
            ),
        )
    before = {"status": tenant.status}
    tenant.status = status.value
    db.session.flush()
    name = "tenant.suspend" if status == TenantStatus.suspended else "tenant.reactivate"
    record_both(
        tenant,
        AuditKind.config,
        name,
        "tenant",
        tenant.id,
        before=before,
        after={"status": tenant.status},
        note=reason,
    )
    return tenant


# --- lokus designations -----------------------------------------------------------------------

DECREE_IN_FUTURE = Msg("Tanggal SK tidak boleh di masa depan.", "The decree date is in the future.")


def decree_in_future(day: dt.date) -> bool:
    return day > local_today()


@action
def designate(tenant: Tenant, data: dict[str, Any]) -> LokusDesignation:
    """Record a designation for `tenant` (platform action, audited in both trails)."""
    if decree_in_future(data["decree_date"]):
        raise field_problem(422, "decree_date", DECREE_IN_FUTURE)
    with tenant_context(tenant.ref()):
        clash = db.session.execute(
            sa.select(LokusDesignation).where(
                LokusDesignation.year == data["year"], LokusDesignation.wave == data["wave"]
            )
        ).scalar_one_or_none()
        if clash is not None:
            raise Problem(
                409,
                errors=[
                    {
                        "field": "wave",
                        "message": (
                            f"{tenant.name} sudah ditetapkan pada tahap {data['wave']} tahun "
                            f"{data['year']} (SK {clash.decree_number})."
                        ),
                        "message_en": (
                            f"{tenant.name} is already designated in wave {data['wave']} of "
                            f"{data['year']} (decree {clash.decree_number})."
                        ),
                    }
                ],
            )
        designation = LokusDesignation(**{k: data.get(k) for k in FIELDS})
        db.session.add(designation)
        db.session.flush()
    record_both(
        tenant,
        AuditKind.config,
        "lokus.designate",
        "lokus_designation",
        designation.id,
        after={k: getattr(designation, k) for k in FIELDS},
        platform_action="tenant.lokus_designate",
    )
    return designation


# --- the district's profile: letterhead and time zone ------------------------------------------

# Indonesia's three zones; a district takes its province's unless its admin chose one (a district
# on a zone border, or a province whose default does not fit it).
ZONES = (WIB, WITA, WIT)


@action
def update_profile(tenant: Tenant, values: dict[str, Any]) -> Tenant:
    """The district admin's change of its profile: letterhead fields and/or its time zone."""
    if "letterhead" in values:
        update_letterhead(tenant, values["letterhead"])
    if "timezone" in values:
        set_timezone(tenant, values["timezone"])
    return tenant


@action
def set_timezone(tenant: Tenant, zone: str | None) -> Tenant:
    """The zone of the district's days and months (reports, quotas, usage, letters); None
    restores its province's. Audited when the zone in force changes."""
    if zone is not None and zone not in ZONES:
        raise field_problem(
            422,
            "timezone",
            Msg(
                f"Zona waktu harus salah satu dari: {', '.join(ZONES)}.",
                f"The time zone must be one of: {', '.join(ZONES)}.",
            ),
        )
    before = tenant.zone
    settings = dict(tenant.settings or {})
    if zone is None:
        settings.pop("timezone", None)
    else:
        settings["timezone"] = zone
    tenant.settings = settings
    db.session.flush()
    if tenant.zone != before:
        record(
            AuditKind.config,
            "profile.timezone",
            "tenant",
            tenant.id,
            before={"timezone": before},
            after={"timezone": tenant.zone},
        )
    return tenant


@action
def update_letterhead(tenant: Tenant, values: dict[str, Any]) -> Tenant:
    """Set letterhead fields; None or a blank one restores that field's default. Audited in the
    district's trail when the letterhead it prints really changes."""
    before = letterhead(tenant)
    stored = dict((tenant.settings or {}).get("letterhead") or {})
    for key, value in values.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            stored.pop(key, None)
        else:
            stored[key] = value.strip() if isinstance(value, str) else value
    tenant.settings = {**(tenant.settings or {}), "letterhead": stored}
    db.session.flush()
    after = letterhead(tenant)
    if before != after:
        old, new = changes(before, after)
        record(AuditKind.config, "profile.update", "tenant", tenant.id, before=old, after=new)
    return tenant
