"""The tables of the program catalog: Kemensos's national programs and each district's programs.

- `NationalProgram` (platform table): kept by Kemensos (PKH, BPNT/Sembako, PBI-JK, PIP/KIP,
  RTLH, ATENSI...).
- `Program` (tenant table): a national program the district has enabled (fields copied from the
  national catalog, mapped to the local agency that handles it) or the district's own APBD
  program.
- `ProgramVersion` (tenant table, append-only): one immutable row per change of a district
  program. A referral stores the id of `current_version(program)` at the time it is made, so it
  keeps the exact name, agency, deadline and rule it was made under.

Every write goes through `actions`, so every change makes a version and an audit entry.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk, utcnow_column


class Sector(enum.StrEnum):
    health = "health"  # kesehatan
    education = "education"  # pendidikan
    food = "food"  # pangan
    housing = "housing"  # perumahan
    cash_transfer = "cash_transfer"  # bantuan tunai
    social_rehabilitation = "social_rehabilitation"  # rehabilitasi sosial
    civil_registration = "civil_registration"  # adminduk
    employment = "employment"  # ketenagakerjaan / ekonomi
    other = "other"


SECTOR_NAMES = {
    "health": "Kesehatan",
    "education": "Pendidikan",
    "food": "Pangan",
    "housing": "Perumahan",
    "cash_transfer": "Bantuan tunai",
    "social_rehabilitation": "Rehabilitasi sosial",
    "civil_registration": "Administrasi kependudukan",
    "employment": "Ketenagakerjaan dan ekonomi",
    "other": "Lainnya",
}


class Funding(enum.StrEnum):
    apbn = "apbn"
    apbd = "apbd"
    dana_desa = "dana_desa"
    zakat = "zakat"  # BAZNAS
    other = "other"


# Fields a program has wherever it comes from (the national catalog or the district).
CATALOG_FIELDS = (
    "code",
    "name",
    "description",
    "sector",
    "owner",
    "funding",
    "required_documents",
    "deadline_days",
    "rule_text",
    "rule_ast",
)


class _CatalogColumns:
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    sector: Mapped[str] = mapped_column(sa.String(24))
    owner: Mapped[str] = mapped_column(sa.String(200))  # institution that owns the program
    funding: Mapped[str] = mapped_column(sa.String(16))
    required_documents: Mapped[list[str]] = mapped_column(
        postgresql.ARRAY(sa.String(120)), default=list, server_default="{}"
    )
    deadline_days: Mapped[int] = mapped_column(sa.Integer)
    rule_text: Mapped[str | None] = mapped_column(sa.Text)
    rule_ast: Mapped[dict[str, Any] | None] = mapped_column(postgresql.JSONB)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")


SECTOR_CHECK = "sector IN ({})".format(", ".join(f"'{s.value}'" for s in Sector))

FUNDING_CHECK = "funding IN ({})".format(", ".join(f"'{f.value}'" for f in Funding))


class NationalProgram(_CatalogColumns, Timestamps, Base):
    __tablename__ = "national_programs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)

    __table_args__ = (
        sa.UniqueConstraint("code", name="uq_national_programs_code"),
        sa.CheckConstraint(SECTOR_CHECK, name="sector_values"),
        sa.CheckConstraint(FUNDING_CHECK, name="funding_values"),
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 365", name="deadline_range"),
    )


class Program(_CatalogColumns, TenantScoped, Timestamps, Base):
    __tablename__ = "programs"

    national_program_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("national_programs.id", ondelete="RESTRICT")
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)

    __table_args__ = (
        tenant_fk("agency_id", "agencies", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_programs_tenant_code"),
        sa.UniqueConstraint("tenant_id", "national_program_id", name="uq_programs_tenant_national"),
        sa.Index("ix_programs_national_program_id", "national_program_id"),
        sa.CheckConstraint(SECTOR_CHECK, name="sector_values"),
        sa.CheckConstraint(FUNDING_CHECK, name="funding_values"),
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 365", name="deadline_range"),
    )

    @property
    def kind(self) -> str:
        return "national" if self.national_program_id else "local"


class ProgramVersion(TenantScoped, Base):
    """An immutable snapshot of a district program (append-only for the app role)."""

    __tablename__ = "program_versions"

    program_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    version: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    deadline_days: Mapped[int] = mapped_column(sa.Integer)
    rule_text: Mapped[str | None] = mapped_column(sa.Text)
    rule_ast: Mapped[dict[str, Any] | None] = mapped_column(postgresql.JSONB)
    national_version: Mapped[int | None] = mapped_column(sa.Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(postgresql.JSONB)
    created_at: Mapped[Any] = utcnow_column()

    __table_args__ = (
        tenant_fk("program_id", "programs", ondelete="RESTRICT"),
        tenant_fk("agency_id", "agencies", ondelete="RESTRICT"),
        sa.UniqueConstraint(
            "tenant_id", "program_id", "version", name="uq_program_versions_program_version"
        ),
    )
