"""Which of the district's audit events a caller may read: configuration, workflow and security
events need `audit.read` (checked by the route); personal-data events (reads, exports, letters,
erasure) need `personal_data.audit` as well, since the trail itself says who was looked at.
The API and the audit trail page read through the same `visible_events`.

Kemensos and provincial staff may read a district's trail without being its members (oversight);
they never see what residents said or what was written about them: `shown_event` gives them
each event about a resident without its note and with only the states of its before/after."""

from __future__ import annotations

from types import SimpleNamespace
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


def is_oversight(principal: Any) -> bool:
    """A platform role (Kemensos, a province) reading a district it is no member of."""
    return principal.membership is None and bool(getattr(principal, "platform_roles", None))


_KEPT_FOR_OVERSIGHT = ("status",)


def shown_event(event: AuditEvent, principal: Any) -> Any:
    """The event as `principal` may see it: whole for the district's own staff; for oversight,
    an event about a resident (or any workflow step) loses its note and keeps only the states
    in its before/after. A detached copy: the stored event is never touched."""
    from slrt.platform.audit.reads import names_resident

    if not is_oversight(principal) or not (
        event.kind == AuditKind.workflow or names_resident(event.entity_type)
    ):
        return event
    copy = SimpleNamespace(
        **{column.key: getattr(event, column.key) for column in AuditEvent.__mapper__.column_attrs}
    )
    copy.note = None
    for side in ("before", "after"):
        value = getattr(event, side)
        if value is not None:
            setattr(copy, side, {k: v for k, v in value.items() if k in _KEPT_FOR_OVERSIGHT})
    return copy
