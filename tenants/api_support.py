"""Small pieces shared by the district-configuration blueprints.

- `ConfigTenantBlueprint` / `ConfigPlatformBlueprint`: the platform blueprints with one change:
  the If-Match precondition is checked inside the view (`check_if_match`), after authorization
  and the access helper, so a stranger or a foreign id answers 404 rather than 428.
- `page_of`: offset pagination with a total count and a stable order.
- `bool_arg`: a query boolean that also accepts ya/tidak.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import inspect

from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, TenantBlueprint
from slrt.platform.errors import Msg, Problem

PRECONDITION_REQUIRED = Msg(
    "Kirim header If-Match berisi ETag yang Anda baca terakhir.",
    "Send an If-Match header with the ETag you last read.",
)


class _LateEtagCheck:
    def _check_precondition(self) -> None:
        """flask-smorest checks If-Match before the view; we do it in `check_if_match`."""


# Path parameter name -> access helper (raises 404). The district blueprints resolve every id in
# the path before the request body is validated, so a foreign or unknown id answers 404 whatever
# the body, and never a 422 that would echo it.
PATH_LOOKUPS: dict[str, Callable[[Any], Any]] = {}


def _resolve_path_ids() -> None:
    for name, value in (request.view_args or {}).items():
        lookup = PATH_LOOKUPS.get(name)
        if lookup is not None:
            lookup(value)


class ConfigTenantBlueprint(_LateEtagCheck, TenantBlueprint):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.before_request(_resolve_path_ids)  # after the district guard (registered first)


class ConfigPlatformBlueprint(_LateEtagCheck, PlatformBlueprint):
    pass


def check_if_match(blp: Blueprint, obj: Any, schema: Any) -> None:
    """428 without If-Match, 412 when it does not match the current representation.

    An ORM row is re-read FOR UPDATE first, so two updates sent with the same ETag cannot both
    pass: the second waits, then sees the new state and gets 412."""
    if not request.if_match:
        raise Problem(428, PRECONDITION_REQUIRED)
    if inspect(obj, raiseerr=False) is not None:
        db.session.refresh(obj, with_for_update=True)
    blp.check_etag(obj, schema)


def page_of(stmt: sa.Select, pagination_parameters: Any, *order_by: Any) -> list[Any]:
    """One page of `stmt` (ORM entities), counting the total for the X-Pagination header."""
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    pagination_parameters.item_count = total
    stmt = (
        stmt.order_by(*order_by)
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    )
    return list(db.session.execute(stmt).scalars())


def bool_arg(**kw: Any) -> fields.Boolean:
    return fields.Boolean(
        truthy={"true", "1", "yes", "ya", "True"},
        falsy={"false", "0", "no", "tidak", "False"},
        **kw,
    )


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern with LIKE wildcards in the input escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snapshot(obj: Any, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row, for audit before/after records."""
    return {name: getattr(obj, name) for name in names}


def apply_and_audit(obj: Any, data: dict[str, Any], names: tuple[str, ...], action: str) -> bool:
    """Set `data` on a tenant row and record the before/after of what really changed (config
    audit, same transaction). Returns whether anything changed."""
    from slrt.platform.audit import AuditKind, changes, record

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
    from slrt.platform.audit import AuditKind, record

    db.session.add(obj)
    db.session.flush()
    record(AuditKind.config, action, action.split(".")[0], obj.id, after=snapshot(obj, names))
    return obj


class Text(fields.String):
    """A string with surrounding whitespace removed before validation (so "  " is empty)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip() if isinstance(result, str) else result
