"""Village code -> funding source, for splitting usage in statements.

Within a district some villages are Kemensos (APBN) intervention villages and the rest run on
the district's own budget (APBD) or village funds (Dana Desa); the district configuration
records which. Usage that carries a village code (intakes, referrals) is attributed to that
village's funding source when it is flushed; usage without one is district-level.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Funding(enum.StrEnum):
    APBN_KEMENSOS = "apbn_kemensos"  # Kemensos-funded intervention (lokus) village
    APBD = "apbd"
    DANA_DESA = "dana_desa"
    UNCLASSIFIED = "unclassified"  # a village code the district configuration does not know
    DISTRICT = "district"  # usage not tied to a village (API calls, imports, exports...)


DISTRICT_LEVEL = str(Funding.DISTRICT)

FUNDING_LABELS: dict[str, tuple[str, str]] = {
    Funding.APBN_KEMENSOS: (
        "Desa/kelurahan intervensi (APBN Kemensos)",
        "Intervention villages (APBN Kemensos)",
    ),
    Funding.APBD: ("Desa/kelurahan APBD", "APBD villages"),
    Funding.DANA_DESA: ("Desa (Dana Desa)", "Villages (Dana Desa)"),
    Funding.UNCLASSIFIED: ("Desa/kelurahan belum diklasifikasi", "Villages not classified"),
    Funding.DISTRICT: ("Tingkat kabupaten/kota", "District level"),
}


def funding_sources(village_codes: Iterable[str]) -> dict[str, str]:
    """Funding source of each village code of the current district, as its configuration says
    now (runs in the district's tenant context). Codes the district does not know come back as
    `unclassified`."""
    import sqlalchemy as sa

    from slrt.platform import db
    from slrt.tenants.regions.models import Village

    codes = sorted(set(village_codes))
    if not codes:
        return {}
    known = dict(
        db.session.execute(
            sa.select(Village.code, Village.funding_source).where(Village.code.in_(codes))
        ).all()
    )
    return {code: known.get(code, str(Funding.UNCLASSIFIED)) for code in codes}
