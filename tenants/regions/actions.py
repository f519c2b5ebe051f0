"""The writes to a district's kecamatan and desa/kelurahan.

Rows are created at onboarding from the bundled Kemendagri 2025 reference (`create_regions`, an
onboarding hook) and topped up by `sync_regions`; district admins may rename them, mark
intervention villages, deactivate a village (never delete it: cases and registry rows keep
pointing at its code) and add villages the reference lacks (`local`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform import region_codes as reference
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import apply_and_audit, create_and_audit, record
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action
from slrt.tenants.regions.access import kecamatan_by_code, village_by_code, village_version
from slrt.tenants.regions.models import FundingSource, Kecamatan, RegionSource, Village
from slrt.tenants.service_points.access import active_puskesos_in

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


@action
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


@action
def update_kecamatan(kec: Kecamatan, name: str) -> Kecamatan:
    apply_and_audit(kec, {"name": name}, ("name",), "kecamatan.update")
    return kec


@action
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


class VillagesChanged(Problem):
    """409: some villages of a change to several at once were changed by someone else since
    they were read; `villages` holds them as they are now."""

    def __init__(self, villages: list[Village]) -> None:
        names = ", ".join(v.name for v in villages)
        super().__init__(
            409,
            Msg(
                f"Diubah orang lain sejak Anda membacanya: {names}.",
                f"Changed by someone else since you read them: {names}.",
            ),
        )
        self.villages = villages


@action
def update_villages(
    village_ids: list[uuid.UUID],
    data: dict[str, Any],
    seen: Mapping[uuid.UUID, str] | None = None,
) -> int:
    """The same change (funding / intervention, active) to several villages at once, all of
    them or none: each is changed and audited as `update_village` does. With `seen` (a village's
    id -> its `village_version` when it was read), a village changed since then refuses the
    whole change (VillagesChanged), like an ETag that no longer matches. Returns how many
    villages really changed."""
    villages = list(
        db.session.execute(
            sa.select(Village)
            .where(Village.id.in_(village_ids))
            .order_by(Village.code)
            .with_for_update()
        ).scalars()
    )
    if seen:
        moved = [v for v in villages if v.id in seen and village_version(v) != seen[v.id]]
        if moved:
            raise VillagesChanged(moved)
    names = ("is_intervention", "funding_source", "active")
    changed = 0
    for village in villages:
        before = [getattr(village, name) for name in names]
        update_village(village, data)
        changed += before != [getattr(village, name) for name in names]
    return changed


@action
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
