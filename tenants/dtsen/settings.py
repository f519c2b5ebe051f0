"""A district's DTSEN settings, kept in `tenants.settings["dtsen"]` (JSON):

- `stale_quarters`: a family's latest official standing older than this many quarters is shown
  as stale (default 2);
- `verification_days`: the clock of an usul or sanggah: unverified after this many days, it is
  deemed rejected (default 14);
- `columns`: the column headers the district's admin mapped by hand (normalised header ->
  field), reused for the next files.

`dtsen_settings()` always answers with every key, defaults filled in.
"""

from __future__ import annotations

from typing import Any

from slrt.platform import db
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant

DEFAULTS: dict[str, Any] = {"stale_quarters": 2, "verification_days": 14}
LIMITS = {"stale_quarters": (1, 20), "verification_days": (1, 90)}


def district() -> Tenant:
    return db.session.get(Tenant, current_tenant().id)


def stored(tenant: Tenant | None = None) -> dict[str, Any]:
    tenant = tenant or district()
    return dict((tenant.settings or {}).get("dtsen") or {})


def dtsen_settings(tenant: Tenant | None = None) -> dict[str, Any]:
    """stale_quarters and verification_days, defaults filled in."""
    values = stored(tenant)
    return {key: int(values.get(key) or default) for key, default in DEFAULTS.items()}


def saved_columns(tenant: Tenant | None = None) -> dict[str, str]:
    """Normalised header -> field, as the district mapped them before."""
    return dict(stored(tenant).get("columns") or {})
