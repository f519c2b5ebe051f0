"""Writes of the audit area itself: recording that Kemensos or a province read a district's
audit trail (in the platform's trail and in the district's, one transaction)."""

from __future__ import annotations

from typing import Any

from flask import g

from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import _json_safe, record_both
from slrt.platform.transaction import action


@action
def record_oversight_read(filters: dict[str, Any]) -> None:
    """A platform role read the current district's audit trail (with these filters)."""
    record_both(
        g.tenant,
        AuditKind.read,
        "audit.oversight_read",
        "audit_events",
        None,
        after={"filters": _json_safe(filters)},
        platform_entity=("tenant", g.tenant.id),
    )
