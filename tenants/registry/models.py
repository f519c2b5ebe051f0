"""The district registry: households (KK) and persons (NIK), plus the platform-level NIK signal.

Persons carry their own village code (domicile) so region scope is one indexed column away.
`NikRegistration` is a platform table holding only a keyed hash of each NIK and the district that
registered it: Kemensos sees that a NIK appears in several districts, nobody sees another
district's record.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.api import like_pattern
from slrt.platform.audit.reads import personal_rows
from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class DtksStatus(enum.StrEnum):
    unknown = "unknown"  # not checked yet
    in_dtks = "in_dtks"
    not_in_dtks = "not_in_dtks"


class Relation(enum.StrEnum):
    kepala_keluarga = "kepala_keluarga"
    suami = "suami"
    istri = "istri"
    anak = "anak"
    menantu = "menantu"
    cucu = "cucu"
    orang_tua = "orang_tua"
    mertua = "mertua"
    famili_lain = "famili_lain"
    lainnya = "lainnya"


class Household(TenantScoped, Timestamps, Base):
    __tablename__ = "households"

    # Nullable: erased households keep their row (statistics) without the KK number.
    kk_number: Mapped[str | None] = mapped_column(sa.String(16))
    address: Mapped[str | None] = mapped_column(sa.Text)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    dtks_status: Mapped[str] = mapped_column(sa.String(16), default=DtksStatus.unknown.value)
    desil: Mapped[int | None] = mapped_column(sa.SmallInteger)
    dtks_checked_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "kk_number", name="uq_households_tenant_kk"),
        sa.Index("ix_households_village", "tenant_id", "village_code", "id"),
        sa.CheckConstraint(
            "dtks_status IN ('unknown', 'in_dtks', 'not_in_dtks')", name="dtks_status_values"
        ),
        sa.CheckConstraint("desil IS NULL OR desil BETWEEN 1 AND 10", name="desil_range"),
    )


class Person(TenantScoped, Timestamps, Base):
    __tablename__ = "persons"

    household_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    nik: Mapped[str | None] = mapped_column(sa.String(16))  # NULL once erased
    name: Mapped[str] = mapped_column(sa.String(200))
    sex: Mapped[str] = mapped_column(sa.String(1))
    birth_place: Mapped[str | None] = mapped_column(sa.String(120))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    relation: Mapped[str | None] = mapped_column(sa.String(20))
    has_disability: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    village_code: Mapped[str] = mapped_column(sa.String(13))
    erased_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        tenant_fk("household_id", "households", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "nik", name="uq_persons_tenant_nik"),
        sa.Index("ix_persons_village", "tenant_id", "village_code", "id"),
        sa.Index("ix_persons_household", "tenant_id", "household_id"),
        # Name search, one district's entries at a time (btree_gin for tenant_id; used through
        # person_ids_by_name, see name_matches).
        sa.Index(
            "ix_persons_tenant_name_trgm",
            "tenant_id",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        sa.CheckConstraint("sex IN ('L', 'P')", name="sex_values"),
    )


def name_matches(text: str) -> sa.ColumnElement[bool]:
    """Persons of the current district whose name contains `text`, case-insensitive.

    Through the SQL function person_ids_by_name, which can use the per-district trigram index
    ix_persons_tenant_name_trgm: a plain `name ILIKE` cannot under row-level security. Combine
    with the caller's region clause as usual."""
    return name_pattern_matches(like_pattern(text))


def name_pattern_matches(pattern: str | sa.BindParameter[str]) -> sa.ColumnElement[bool]:
    """`name_matches` for a LIKE pattern already made (`like_pattern`), or bound later."""
    ids = sa.func.person_ids_by_name(pattern).column_valued("person_id", sa.Uuid)
    return Person.id.in_(sa.select(ids))


class NikRegistration(Base):
    """Platform table: keyed NIK hash x district. No names, no NIKs, no record ids."""

    __tablename__ = "nik_registrations"

    nik_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tenant_ref: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    district_code: Mapped[str] = mapped_column(sa.String(5))
    registered_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


# Whose personal data these rows hold: reads of them are recorded by construction.
personal_rows(Person, lambda person: ("person", person.id))
personal_rows(Household, lambda household: ("household", household.id))
