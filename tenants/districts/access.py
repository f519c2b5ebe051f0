"""Lokus designations: Kemensos designates districts as SLRT lokus in waves (tahap), by decree.

A district can be designated several times over the years (a new wave, an extension); each
designation is kept (append-only for the app role): a wrong entry is corrected by recording the
right one with a note, so the history of decrees stays intact.
"""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.models import LokusDesignation


def designations_of(tenant: Tenant) -> list[LokusDesignation]:
    with tenant_context(tenant.ref()):
        return list(
            db.session.execute(
                sa.select(LokusDesignation).order_by(
                    LokusDesignation.year, LokusDesignation.wave, LokusDesignation.id
                )
            ).scalars()
        )
