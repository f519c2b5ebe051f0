"""A district's kecamatan and desa/kelurahan, and the helpers other features resolve them with.

Rows are created at onboarding from the bundled Kemendagri 2025 reference; district admins may
rename them, mark intervention villages, deactivate a village (never delete it: cases and
registry rows keep pointing at its code) and add villages the reference lacks (`local`).

Other features use only the helpers at the bottom: `access_village_by_id`,
`access_village_by_code` (404), `resolve_village_code` (422 naming the field),
`villages_in_scope` and `village_facts`.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform import regions as reference
from slrt.platform.audit import AuditKind, apply_and_audit, create_and_audit, record
from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.service_points import active_puskesos_in


class VillageKind(enum.StrEnum):
    kelurahan = "kelurahan"
    desa = "desa"
    desa_adat = "desa_adat"


class FundingSource(enum.StrEnum):
    apbn_kemensos = "apbn_kemensos"
    apbd = "apbd"
    dana_desa = "dana_desa"


class RegionSource(enum.StrEnum):
    reference = "reference"  # from the Kemendagri 2025 reference
    local = "local"  # added by the district (the reference lacks it)


class Kecamatan(TenantScoped, Timestamps, Base):
    __tablename__ = "kecamatan"

    code: Mapped[str] = mapped_column(sa.String(8))  # PP.KK.CC
    name: Mapped[str] = mapped_column(sa.String(120))
    reference_name: Mapped[str | None] = mapped_column(sa.String(120))

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="uq_kecamatan_tenant_code"),
        sa.CheckConstraint("code ~ '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}$'", name="code_format"),
    )


class Village(TenantScoped, Timestamps, Base):
    """A desa, kelurahan or desa adat of the district."""

    __tablename__ = "villages"

    kecamatan_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    code: Mapped[str] = mapped_column(sa.String(13))  # PP.KK.CC.XDDD
    name: Mapped[str] = mapped_column(sa.String(120))
    reference_name: Mapped[str | None] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(16))
    source: Mapped[str] = mapped_column(sa.String(16), default=RegionSource.reference.value)
    is_intervention: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    funding_source: Mapped[str] = mapped_column(
        sa.String(16), default=FundingSource.apbd.value, server_default="apbd"
    )
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (
        tenant_fk("kecamatan_id", "kecamatan", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_villages_tenant_code"),
        sa.Index("ix_villages_tenant_kecamatan", "tenant_id", "kecamatan_id", "code"),
        sa.CheckConstraint(
            "code ~ '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[123][0-9]{3}$'", name="code_format"
        ),
        sa.CheckConstraint("kind IN ('kelurahan', 'desa', 'desa_adat')", name="kind_values"),
        # The kind is written in the code (X of XDDD); the two can never disagree.
        sa.CheckConstraint(
            "kind = CASE substr(code, 10, 1) WHEN '1' THEN 'kelurahan' WHEN '2' THEN 'desa' "
            "ELSE 'desa_adat' END",
            name="kind_matches_code",
        ),
        sa.CheckConstraint("source IN ('reference', 'local')", name="source_values"),
        sa.CheckConstraint(
            "funding_source IN ('apbn_kemensos', 'apbd', 'dana_desa')", name="funding_values"
        ),
        # An intervention village is by definition the Kemensos-funded (APBN) one.
        sa.CheckConstraint(
            "is_intervention = (funding_source = 'apbn_kemensos')", name="intervention_funding"
        ),
    )


# --- onboarding ----------------------------------------------------------------------------


def create_regions(tenant: Tenant) -> None:
    """Onboarding hook: every kecamatan and desa/kelurahan of the district from the reference.

    Bulk inserts (two statements), and idempotent: codes already present are left alone."""
    kecamatan_rows = []
    village_rows = []
    existing_kec = dict(db.session.execute(sa.select(Kecamatan.code, Kecamatan.id)).all())
    for kec in reference.children_of(tenant.code):
        kec_id = existing_kec.get(kec.code)
        if kec_id is None:
            kec_id = uuid7()
            kecamatan_rows.append(
                {
                    "tenant_id": tenant.id,
                    "id": kec_id,
                    "code": kec.code,
                    "name": kec.name,
                    "reference_name": kec.name,
                }
            )
        for village in reference.children_of(kec.code):
            village_rows.append(
                {
                    "tenant_id": tenant.id,
                    "id": uuid7(),
                    "kecamatan_id": kec_id,
                    "code": village.code,
                    "name": village.name,
                    "reference_name": village.name,
                    "kind": reference.village_kind(village.code),
                    "source": RegionSource.reference.value,
                    "is_intervention": False,
                    "funding_source": FundingSource.apbd.value,
                    "active": True,
                }
            )
    if kecamatan_rows:
        db.session.execute(postgresql.insert(Kecamatan.__table__), kecamatan_rows)
    if village_rows:
        db.session.execute(
            postgresql.insert(Village.__table__).on_conflict_do_nothing(
                index_elements=["tenant_id", "code"]
            ),
            village_rows,
        )


def sync_regions(tenant: Tenant) -> tuple[int, int]:
    """Add what the reference has and the district lacks (districts onboarded before regions
    existed) with the onboarding hook, which only inserts missing codes: renamed, deactivated
    and local rows stay as they are, nothing is deleted. Returns (kecamatan, villages) added;
    additions are in the district's audit trail. Runs in the district's context."""

    def counts() -> tuple[int, int]:
        return (
            db.session.execute(sa.select(sa.func.count()).select_from(Kecamatan)).scalar_one(),
            db.session.execute(sa.select(sa.func.count()).select_from(Village)).scalar_one(),
        )

    kec_before, villages_before = counts()
    create_regions(tenant)
    kec_after, villages_after = counts()
    added = (kec_after - kec_before, villages_after - villages_before)
    if any(added):
        record(
            AuditKind.config,
            "regions.sync",
            "tenant",
            tenant.id,
            after={"kecamatan_added": added[0], "villages_added": added[1]},
        )
    return added


# --- access helpers -------------------------------------------------------------------------

VILLAGE_NOT_FOUND = Msg("Desa/kelurahan tidak ditemukan.", "Village not found.")
KECAMATAN_NOT_FOUND = Msg("Kecamatan tidak ditemukan.", "Kecamatan not found.")


def access_kecamatan_by_id(kecamatan_id: uuid.UUID) -> Kecamatan:
    kec = db.session.execute(
        sa.select(Kecamatan).where(Kecamatan.id == kecamatan_id)
    ).scalar_one_or_none()
    if kec is None:
        raise Problem(404, KECAMATAN_NOT_FOUND)
    return kec


def kecamatan_by_code(code: str) -> Kecamatan | None:
    return db.session.execute(
        sa.select(Kecamatan).where(Kecamatan.code == code)
    ).scalar_one_or_none()


def access_village_by_id(village_id: uuid.UUID) -> Village:
    """The current district's village with this id; another district's id answers 404."""
    village = db.session.execute(
        sa.select(Village).where(Village.id == village_id)
    ).scalar_one_or_none()
    if village is None:
        raise Problem(404, VILLAGE_NOT_FOUND)
    return village


def village_by_code(code: str) -> Village | None:
    return db.session.execute(
        sa.select(Village).where(Village.code == (code or "").strip())
    ).scalar_one_or_none()


def access_village_by_code(code: str) -> Village:
    """The current district's village with this Kemendagri code (404 if it has none)."""
    village = village_by_code(code)
    if village is None:
        raise Problem(404, VILLAGE_NOT_FOUND)
    return village


def resolve_village_code(
    code: str, *, field: str = "village_code", active_only: bool = True
) -> Village:
    """For request bodies: the village a submitted code names, or 422 naming the field."""
    village = village_by_code(code)
    if village is None or (active_only and not village.active):
        district = current_tenant().name
        if village is None:
            message = Msg(
                f"Kode desa/kelurahan '{code}' tidak ada di {district}.",
                f"Village code '{code}' does not exist in {district}.",
            )
        else:
            message = Msg(
                f"Desa/kelurahan {village.code} {village.name} sudah tidak aktif.",
                f"Village {village.code} {village.name} is deactivated.",
            )
        raise field_problem(422, field, message)
    return village


def villages_in_scope(principal: Any, *, active_only: bool = True) -> sa.Select:
    """SELECT of the villages inside the caller's region scope (whole district, some kecamatan
    or some villages), ordered by code."""
    stmt = sa.select(Village).where(principal.region_clause(Village.code))
    if active_only:
        stmt = stmt.where(Village.active.is_(True))
    return stmt.order_by(Village.code)


def village_facts(village: Village | None) -> dict[str, Any]:
    """The village facts the eligibility rules know (see tenants.rule_fields)."""
    if village is None:
        return {"village_is_intervention": None, "village_kind": None}
    return {"village_is_intervention": village.is_intervention, "village_kind": village.kind}


# --- changes by the district admin ------------------------------------------------------------

VILLAGE_FIELDS = ("code", "name", "kind", "source", "is_intervention", "funding_source", "active")


def _settle_funding(data: dict[str, Any], current: Village | None) -> dict[str, Any]:
    """Intervention villages are the Kemensos-funded ones: keep the two fields consistent,
    deriving one from the other when only one is given, refusing a contradiction."""
    data = dict(data)
    intervention = data.get("is_intervention")
    funding = data.get("funding_source")
    if intervention is True and funding not in (None, FundingSource.apbn_kemensos):
        raise field_problem(
            422,
            "funding_source",
            Msg(
                "Desa intervensi didanai APBN-Kemensos; sumber dana lain tidak cocok.",
                "An intervention village is funded by APBN-Kemensos; another source contradicts it.",
            ),
        )
    if intervention is False and funding == FundingSource.apbn_kemensos:
        raise field_problem(
            422,
            "funding_source",
            Msg(
                "Sumber dana APBN-Kemensos hanya untuk desa intervensi.",
                "APBN-Kemensos funding is only for intervention villages.",
            ),
        )
    if intervention is True:
        data["funding_source"] = FundingSource.apbn_kemensos.value
    elif intervention is False and funding is None:
        if current is None or current.funding_source == FundingSource.apbn_kemensos:
            data["funding_source"] = FundingSource.apbd.value
    elif funding is not None and intervention is None:
        data["is_intervention"] = funding == FundingSource.apbn_kemensos
    return data


def update_kecamatan(kec: Kecamatan, name: str) -> Kecamatan:
    apply_and_audit(kec, {"name": name}, ("name",), "kecamatan.update")
    return kec


def update_village(village: Village, data: dict[str, Any]) -> Village:
    """Rename, set intervention / funding, (de)activate. Villages are never deleted."""
    data = _settle_funding(data, village)
    if data.get("active") is False and village.active:
        puskesos = active_puskesos_in(village.id)
        if puskesos is not None:
            raise field_problem(
                409,
                "active",
                Msg(
                    f"{village.name} masih memiliki Puskesos aktif ({puskesos.name}); "
                    "nonaktifkan Puskesos itu terlebih dahulu.",
                    f"{village.name} still has an active Puskesos ({puskesos.name}); "
                    "deactivate it first.",
                ),
            )
    apply_and_audit(village, data, VILLAGE_FIELDS, "village.update")
    return village


def add_local_village(data: dict[str, Any]) -> Village:
    """A village the reference lacks: its code must lie in one of the district's kecamatan and
    must not collide with any village of the district (active or not)."""
    code = data["code"].strip()
    tenant = current_tenant()
    if not reference.VILLAGE_RE.match(code):
        raise field_problem(
            422,
            "code",
            Msg(
                f"Format kode '{code}' salah; gunakan PP.KK.CC.XDDD (X: 1 kelurahan, 2 desa, "
                "3 desa adat), mis. 73.72.01.1099.",
                f"Code '{code}' is malformed; use PP.KK.CC.XDDD (X: 1 kelurahan, 2 desa, "
                "3 desa adat), e.g. 73.72.01.1099.",
            ),
        )
    kec = kecamatan_by_code(code[:8])
    if kec is None:
        raise field_problem(
            422,
            "code",
            Msg(
                f"Kecamatan {code[:8]} bukan bagian dari {tenant.name}.",
                f"Kecamatan {code[:8]} is not part of {tenant.name}.",
            ),
        )
    clash = village_by_code(code)
    if clash is not None:
        state = "" if clash.active else " (nonaktif)"
        state_en = "" if clash.active else " (deactivated)"
        raise field_problem(
            409,
            "code",
            Msg(
                f"Kode {code} sudah dipakai oleh {clash.name}{state}.",
                f"Code {code} is already used by {clash.name}{state_en}.",
            ),
        )
    settled = _settle_funding(
        {k: data.get(k) for k in ("is_intervention", "funding_source") if data.get(k) is not None},
        None,
    )
    village = Village(
        kecamatan_id=kec.id,
        code=code,
        name=data["name"].strip(),
        reference_name=None,
        kind=reference.village_kind(code),
        source=RegionSource.local.value,
        is_intervention=settled.get("is_intervention", False),
        funding_source=settled.get("funding_source", FundingSource.apbd.value),
        active=True,
    )
    return create_and_audit(village, VILLAGE_FIELDS, "village.create")
