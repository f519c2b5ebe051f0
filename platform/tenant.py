"""The Tenant: one kabupaten/kota, keyed by its Kemendagri code, addressed by a URL slug."""

from __future__ import annotations

import copy
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column

from slrt.platform import db
from slrt.platform.db import Base, Timestamps
from slrt.platform.errors import Msg, Problem
from slrt.platform.freshness import LocalCache, watch
from slrt.platform.region_codes import province_zone
from slrt.platform.tenancy import TenantRef


class TenantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


def _zone(settings: dict[str, Any] | None, province_code: str) -> str:
    return (settings or {}).get("timezone") or province_zone(province_code)


class Tenant(Timestamps, Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(5), unique=True)  # e.g. "73.72"
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    province_code: Mapped[str] = mapped_column(sa.String(2))
    province_name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default=TenantStatus.active.value)
    # Letterhead and other per-district presentation settings (validated by the tenants module).
    settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )

    __table_args__ = (
        sa.CheckConstraint("code ~ '^[0-9]{2}\\.[0-9]{2}$'", name="code_format"),
        sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="status_values"),
    )

    @property
    def zone(self) -> str:
        """The district's time zone: its own setting, else its province's (WIB, WITA or WIT)."""
        return _zone(self.settings, self.province_code)

    def ref(self) -> TenantRef:
        return TenantRef(
            id=self.id,
            slug=self.slug,
            code=self.code,
            name=self.name,
            status=self.status,
            zone=self.zone,
        )


NOT_FOUND = Msg("Kabupaten/kota tidak ditemukan.", "District not found.")


def access_tenant_by_slug(slug: str, *, allow_suspended: bool = False) -> Tenant:
    """The tenant a URL names; unknown (and, unless allowed, suspended) answers 404."""
    tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None or (tenant.status == TenantStatus.suspended and not allow_suspended):
        raise Problem(404, NOT_FOUND)
    return tenant


# Every district request starts by naming its district: kept in the process (slrt.platform.
# freshness: a suspension, rename or zone change is seen on the next request).
_BY_SLUG: LocalCache[str, dict[str, Any] | None] = LocalCache("tenants", max_entries=1024)
watch(Tenant.__tablename__)


def _tenant_values(slug: str) -> dict[str, Any] | None:
    row = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if row is None:
        return None
    return {c.key: getattr(row, c.key) for c in sa.inspect(Tenant).column_attrs}


def cached_tenant_by_slug(slug: str, *, allow_suspended: bool = False) -> Tenant:
    """`access_tenant_by_slug` from the process's cache: a detached copy, for reading only
    (every request of a district resolves its slug; this keeps that off the database)."""
    values = _BY_SLUG.get(slug, lambda: _tenant_values(slug))
    if values is None or (values["status"] == TenantStatus.suspended and not allow_suspended):
        raise Problem(404, NOT_FOUND)
    tenant = Tenant(**{**values, "settings": copy.deepcopy(values["settings"])})
    make_transient_to_detached(tenant)
    return tenant


def tenant_by_code(code: str) -> Tenant | None:
    return db.session.execute(sa.select(Tenant).where(Tenant.code == code)).scalar_one_or_none()
