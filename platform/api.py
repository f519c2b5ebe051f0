"""API conventions shared by every blueprint.

- `init_api`: one flask-smorest Api per app; errors come out as problem+json (platform.errors).
- `PlatformBlueprint`: routes under /api/v1/...
- `TenantBlueprint`: routes under /api/v1/t/<tenant>/...; the tenant is resolved from the slug
  before the view runs and the view never sees it as an argument.
- Both blueprints check If-Match inside the view (`check_if_match`, after authorization and the
  id lookup, so a stranger or a foreign id answers 404 rather than 428). A district blueprint
  declares how each id in its paths is looked up (`lookups=`), and resolves them before the
  request body is validated.
- `Schema`: the marshmallow base that refuses unknown fields, and control characters in any
  string of a body, query or form (`slrt.platform.text`); `Text` (trimmed, no-break spaces made
  plain), `bool_arg`, `page_of`, `like_pattern`: the small field and query helpers every list
  and form uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask_smorest import Api as _Api
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError, fields, pre_load, validates_schema
from marshmallow import Schema as _Schema
from sqlalchemy import inspect

from slrt.platform import db, errors
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import enter_tenant
from slrt.platform.text import control_character_problem, plain_spaces

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = "/api/docs/assets/"


class Api(_Api):
    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


class Schema(_Schema):
    """Refuses unknown fields, and control characters in any string it is given (every body,
    query and form goes through a subclass: the one place that rule is applied to requests)."""

    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load
    def _refuse_control_characters(self, data: Any, **kw: Any) -> Any:
        problems = _control_characters(data)
        if problems:
            raise ValidationError(problems)
        return data


def _control_characters(value: Any) -> Any:
    """{field: [Msg]} (nested like the input) for every string holding a control character."""
    if isinstance(value, str):
        problem = control_character_problem(value)
        return [problem] if problem is not None else None
    if isinstance(value, Mapping):
        getlist = getattr(value, "getlist", None)  # query strings and forms: every value counts
        found = {}
        for key in value:
            items = getlist(key) if getlist is not None else [value[key]]
            for item in (key, *items):
                problems = _control_characters(item)
                if problems:
                    found[str(key)] = problems
                    break
        return found or None
    if isinstance(value, list | tuple):
        found = {i: p for i, item in enumerate(value) if (p := _control_characters(item))}
        return found or None
    return None


PRECONDITION_REQUIRED = Msg(
    "Kirim header If-Match berisi ETag yang Anda baca terakhir.",
    "Send an If-Match header with the ETag you last read.",
)


class _LateEtagCheck:
    def _check_precondition(self) -> None:
        """flask-smorest checks If-Match before the view; we do it in `check_if_match`."""


def check_if_match(
    blp: Blueprint, obj: Any, schema: Any, *, view: Callable[[Any], Any] | None = None
) -> None:
    """428 without If-Match, 412 when it does not match the current representation (`obj`, or
    `view(obj)` when the response is built from more than the row).

    An ORM row is re-read FOR UPDATE first, so two updates sent with the same ETag cannot both
    pass: the second waits, then sees the new state and gets 412."""
    if not request.if_match:
        raise Problem(428, PRECONDITION_REQUIRED)
    if inspect(obj, raiseerr=False) is not None and not db.locked_in_transaction(obj):
        db.session.refresh(obj, with_for_update=True)
    blp.check_etag(view(obj) if view else obj, schema)


def page_rows(stmt: sa.Select, pagination_parameters: Any, *order_by: Any) -> list[sa.Row]:
    """One page of `stmt`'s rows and, in the same query, the total for the X-Pagination header
    (a window count: one round trip and one pass instead of a count, then the page)."""
    total = sa.func.count().over().label("slrt_total")
    rows = db.session.execute(
        stmt.add_columns(total)
        .order_by(*order_by)
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    ).all()
    if rows:
        pagination_parameters.item_count = rows[0][-1]
    elif pagination_parameters.first_item == 0:
        pagination_parameters.item_count = 0
    else:  # past the last page: only a count says how many there are
        pagination_parameters.item_count = db.session.execute(
            sa.select(sa.func.count()).select_from(stmt.subquery())
        ).scalar()
    return [row[:-1] for row in rows]


def page_of(stmt: sa.Select, pagination_parameters: Any, *order_by: Any) -> list[Any]:
    """One page of `stmt` (ORM entities), with the total for the X-Pagination header."""
    return [row[0] for row in page_rows(stmt, pagination_parameters, *order_by)]


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


class Text(fields.String):
    """A string with surrounding whitespace removed before validation (so "  " is empty) and
    no-break spaces made plain (`slrt.platform.text`)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        return plain_spaces(result).strip() if isinstance(result, str) else result


class PathLookups:
    """What every API blueprint checks before its view, in this order: the operation's
    permission (403), then every id in the path through the access helper the blueprint declares
    for it (`lookups=`, name -> helper; 404 for a foreign, out-of-scope or missing id). Both come
    before the request body is validated, so neither a caller without the permission nor one
    holding another district's id learns anything from the body's rules."""

    lookups: dict[str, Callable[[Any], Any]]

    def check_before_view(self) -> None:
        from slrt.auth.policy import authenticate, authorize

        view = current_app.view_functions.get(request.endpoint or "")
        permission = getattr(view, "required_permission", None)
        if permission is not None:
            authorize(authenticate(), permission)
        for name, value in (request.view_args or {}).items():
            lookup = self.lookups.get(name)
            if lookup is not None:
                lookup(value)


class PlatformBlueprint(PathLookups, _LateEtagCheck, Blueprint):
    def __init__(
        self,
        name: str,
        import_name: str,
        url_prefix: str,
        *,
        lookups: Mapping[str, Callable[[Any], Any]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX + url_prefix, **kw)
        self.lookups = dict(lookups or {})
        self.before_request(self.check_before_view)


class TenantBlueprint(PathLookups, _LateEtagCheck, Blueprint):
    """Tenant routes: /api/v1/t/<tenant>/<url_prefix>/...; the tenant context is entered before
    the view, from the slug, so every query in the view is scoped to it.

    Before any view runs the caller is authenticated and must belong to the district: strangers
    get 404 (as for an unknown slug) before request bodies are even validated. Suspended
    districts stay readable for their own members and look unknown to everyone else.
    `public=True` blueprints (no sign-in: status check, letter verification) never serve a
    suspended district."""

    def __init__(
        self,
        name: str,
        import_name: str,
        url_prefix: str = "",
        *,
        public: bool = False,
        lookups: Mapping[str, Callable[[Any], Any]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, import_name, url_prefix=f"{API_PREFIX}/t/<tenant>{url_prefix}", **kw)
        self.lookups = dict(lookups or {})
        self.url_value_preprocessor(
            lambda endpoint, values: enter_tenant_from_url(values, allow_suspended=not public)
        )
        if not public:
            self.before_request(_guard)
        self.before_request(self.check_before_view)  # after the guard: strangers never reach it


def enter_tenant_from_url(values: dict[str, Any] | None, *, allow_suspended: bool) -> None:
    """Pop `tenant` from the URL values and act for that district (404 if unknown)."""
    from slrt.platform.tenant import cached_tenant_by_slug

    if values is None or "tenant" not in values:
        return
    tenant = cached_tenant_by_slug(values.pop("tenant"), allow_suspended=allow_suspended)
    g.tenant = tenant
    enter_tenant(tenant.ref())


def _guard() -> None:
    from slrt.auth.policy import guard_tenant_request

    guard_tenant_request()


def init_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="SLRT API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Sistem Layanan dan Rujukan Terpadu. Errors are RFC 9457 problem+json "
                    "with Indonesian `detail` and English `detail_en`."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api = Api(app)
    app.extensions["slrt_api"] = api
    return api


class PatchSchema(Schema):
    """A change (PATCH) body: every field is optional, but an empty one is refused with 422
    rather than answered as a successful change of nothing."""

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kw: Any) -> None:
        if not data:
            raise ValidationError(Msg("Tidak ada yang diubah.", "Nothing to change."))
