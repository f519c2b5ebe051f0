"""Writing the audit trail: `record` (the district's), `record_platform` (the platform's),
`record_both` (a platform decision about one district, in both trails), and the before/after
helpers that actions use so only what really changed is recorded. Every event is added to the
caller's transaction, so it is committed with the change it records or not at all."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request

from slrt.platform import db
from slrt.platform.actor import current_actor
from slrt.platform.audit.models import AuditEvent, AuditKind, PlatformAuditEvent

if TYPE_CHECKING:
    from slrt.platform.tenant import Tenant


# Facts about how a write reached the server that every event it records carries (a device's
# synced item: when it was captured offline and when it arrived).
_circumstances: ContextVar[dict[str, Any] | None] = ContextVar("slrt_audit_context", default=None)


@contextmanager
def recorded_with(**facts: Any) -> Iterator[None]:
    """Every tenant event recorded inside the block carries `facts` in its `after`."""
    token = _circumstances.set({**(_circumstances.get() or {}), **facts})
    try:
        yield
    finally:
        _circumstances.reset(token)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | uuid.UUID | enum.Enum):
        return str(value.value if isinstance(value, enum.Enum) else value)
    return value


def _request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {"endpoint": None, "ip": None}
    return {"endpoint": f"{request.method} {request.path}"[:200], "ip": request.remote_addr}


def _actor_fields() -> dict[str, Any]:
    actor = current_actor()
    return {
        "actor_kind": actor.kind,
        "actor_label": actor.label[:200],
        "actor_account_id": actor.account_id,
    }


def event_values(
    kind: AuditKind,
    action: str,
    entity_type: str,
    entity_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The columns of one audit event, as `record` writes them (its actor, its request)."""
    return {
        "kind": str(kind),
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": _json_safe(before),
        "after": _json_safe(after),
        **fields,
        **_actor_fields(),
        **_request_fields(),
    }


def _add(model: type, kind: AuditKind, action: str, entity_type: str, entity_id: Any, **fields):
    event = model(**event_values(kind, action, entity_type, entity_id, **fields))
    db.session.add(event)
    return event


def with_circumstances(after: dict[str, Any] | None) -> dict[str, Any] | None:
    """`after` with the facts of `recorded_with` blocks around the caller added."""
    facts = _circumstances.get()
    return {**(after or {}), **facts} if facts else after


def record(
    kind: AuditKind,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    """Add a tenant audit event to the current session (committed with the change it records).
    A read of personal data recorded here is not recorded again by the route's declaration."""
    if kind in (AuditKind.read, AuditKind.export, AuditKind.letter):
        from slrt.platform.audit.reads import remember_recorded

        if entity_id is not None:
            remember_recorded(entity_type, [entity_id])
        if after and after.get("person_id"):
            remember_recorded("person", [after["person_id"]])
    return _add(
        AuditEvent,
        kind,
        action,
        entity_type,
        entity_id,
        before=before,
        after=with_circumstances(after),
        note=note,
    )


def record_platform(
    kind: AuditKind,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    *,
    tenant_ref: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> PlatformAuditEvent:
    """Add a platform audit event (a decision about districts, accounts, plans; `tenant_ref`
    files it under the district it concerns)."""
    return _add(
        PlatformAuditEvent,
        kind,
        action,
        entity_type,
        entity_id,
        tenant_ref=tenant_ref,
        before=before,
        after=after,
        note=note,
    )


def record_both(
    tenant: Tenant,
    kind: AuditKind,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    platform_action: str | None = None,
    platform_entity: tuple[str, Any] | None = None,
    platform_after: dict[str, Any] | None = None,
) -> None:
    """A platform decision about one district (onboarding, suspension, a plan change...), in the
    platform's trail (filed under the district) and in the district's own trail, in the current
    transaction. The platform's trail may name it differently (`platform_action`,
    `platform_entity`) or say more (`platform_after`); by default both records are the same."""
    from slrt.platform.tenancy import tenant_context

    entity = platform_entity or (entity_type, entity_id)
    record_platform(
        kind,
        platform_action or action,
        entity[0],
        entity[1],
        tenant_ref=tenant.id,
        before=before,
        after=after if platform_after is None else platform_after,
        note=note,
    )
    with tenant_context(tenant.ref()):
        record(kind, action, entity_type, entity_id, before=before, after=after, note=note)


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, for compact before/after records."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def snapshot(obj: Any, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row, for audit before/after records."""
    return {name: getattr(obj, name) for name in names}


def apply_and_audit(obj: Any, data: dict[str, Any], names: tuple[str, ...], action: str) -> bool:
    """Set `data` on a tenant row and record the before/after of what really changed (config
    audit, same transaction). Returns whether anything changed."""
    before = snapshot(obj, names)
    for key, value in data.items():
        setattr(obj, key, value)
    after = snapshot(obj, names)
    if before == after:
        return False
    db.session.flush()
    old, new = changes(before, after)
    record(AuditKind.config, action, action.split(".")[0], obj.id, before=old, after=new)
    return True


def create_and_audit(obj: Any, names: tuple[str, ...], action: str) -> Any:
    db.session.add(obj)
    db.session.flush()
    record(AuditKind.config, action, action.split(".")[0], obj.id, after=snapshot(obj, names))
    return obj
