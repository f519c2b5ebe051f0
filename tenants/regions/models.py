"""The tables of a district's regions: `kecamatan` and `villages` (desa/kelurahan), with the
Kemendagri code, the district's own name beside the reference name, where a row came from
(the reference or added locally), intervention status, funding source and whether it is active.
Villages are never deleted: cases and registry rows keep pointing at their code.
"""

from __future__ import annotations

import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


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
