"""Which of the district's audit events a caller may read: configuration, workflow and security
events need `audit.read` (checked by the route); personal-data events (reads, exports, letters,
erasure) need `personal_data.audit` as well, since the trail itself says who was looked at.
The API and the audit trail page read through the same `visible_events`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from slrt.auth.permissions import P
from slrt.auth.policy import authorize
from slrt.platform.audit.models import AuditEvent, AuditKind

PERSONAL_KINDS = {AuditKind.read, AuditKind.export, AuditKind.letter, AuditKind.erasure}


def visible_events(principal: Any, kind: str | None) -> sa.Select:
    """The district's events of `kind` (or of every kind) the caller may read: asking for a
    personal-data kind without `personal_data.audit` is refused (403); asking for every kind
    leaves the personal-data events out for such a caller."""
    stmt = sa.select(AuditEvent)
    if kind in PERSONAL_KINDS:
        authorize(principal, str(P.PERSONAL_DATA_AUDIT))
    elif kind is None and not principal.can(str(P.PERSONAL_DATA_AUDIT)):
        stmt = stmt.where(AuditEvent.kind.not_in([str(k) for k in PERSONAL_KINDS]))
    if kind:
        stmt = stmt.where(AuditEvent.kind == kind)
    return stmt
