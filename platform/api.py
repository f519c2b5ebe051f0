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

import functools
import http
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask_smorest import Api as _Api
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import (
    INCLUDE,
    RAISE,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)
from marshmallow import Schema as _Schema
from sqlalchemy import inspect
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from slrt.platform import db, errors
from slrt.platform.errors import Msg, Problem
from slrt.platform.input_guard import INT64_MAX, INT64_MIN, parse_json_body
from slrt.platform.tenancy import current_tenant_or_none, enter_tenant
from slrt.platform.text import control_character_problem, plain_spaces

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = "/api/docs/assets/"


PROBLEM_JSON = "application/problem+json"


class FieldProblemSchema(_Schema):
    class Meta:
        unknown = INCLUDE

    field = fields.String(metadata={"description": "The field, dotted for nested ones"})
    message = fields.String(metadata={"description": "Indonesian"})
    message_en = fields.String(metadata={"description": "English"})
    line = fields.Integer(metadata={"description": "Where in a rule's text, if any"})
    column = fields.Integer()


class ProblemSchema(_Schema):
    """RFC 9457 problem details, as every error of the API is answered. An error may add members
    of its own (e.g. `quota`, `limit`, `used`, `retry_after`, `missing_permission`)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"description": "about:blank or a problem type URI"})
    title = fields.String(metadata={"description": "Indonesian"})
    title_en = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "Indonesian"})
    detail_en = fields.String()
    instance = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(FieldProblemSchema))


class Api(_Api):
    """flask-smorest's Api answering and documenting errors as problem+json (`ProblemSchema`)."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)

    def _register_responses(self) -> None:
        # Every error response component (and the `default` response of every operation) is
        # problem+json: what `errors.problem_response` sends.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class Schema(_Schema):
    """Refuses unknown fields, and control characters in any string it is given (every body,
    query and form goes through a subclass: the one place that rule is applied to requests)."""

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        # A number past PostgreSQL's bigint would reach the database and fail there (500):
        # every integer input is refused beyond it, with the field named (422).
        bounded = any(
            isinstance(v, validate.Range) and v.min is not None and v.max is not None
            for v in field_obj.validators
        )
        if isinstance(field_obj, fields.Integer) and not field_obj.dump_only and not bounded:
            field_obj.validators.append(validate.Range(min=INT64_MIN, max=INT64_MAX))

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


def nullable_as(*models: Any) -> Callable[[type[_Schema]], type[_Schema]]:
    """Class decorator for a schema that shows rows of `models`: each of its output-only fields
    named like a nullable column is documented (and dumped) as nullable, so the description
    says what the answers hold. Input fields keep their own rule (null accepted or not), and
    fields that compute their value (Method, Function) are left as they are."""

    def decorate(schema: type[_Schema]) -> type[_Schema]:
        nullable = {
            column.key
            for model in models
            for column in sa.inspect(model).columns
            if column.nullable
        }
        for name, field in schema._declared_fields.items():
            computed = isinstance(field, fields.Method | fields.Function)
            if field.dump_only and not computed and (field.attribute or name) in nullable:
                field.allow_none = True
        return schema

    return decorate


class ArgumentsParser(FlaskParser):
    """webargs' parser with request JSON read through the hostile-input guard (too deep, NUL),
    and one instance of each arguments schema (webargs would build one, copying every field,
    for each request; a schema keeps no state between loads)."""

    def _get_schema(self, argmap: Any, req: Any) -> _Schema:
        if isinstance(argmap, type) and issubclass(argmap, _Schema):
            return _schema_instance(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        return parse_json_body(req.get_data(cache=True), webargs_core.parse_json)


@functools.cache
def _schema_instance(schema: type[_Schema]) -> _Schema:
    return schema()


# The highest page number a list accepts (far past any real list: 100 a page): larger numbers
# would overflow the database's OFFSET.
MAX_PAGE = 1_000_000


class _ApiBlueprint(Blueprint):
    """What every API blueprint shares: the guarded parser and bounded page numbers."""

    ARGUMENTS_PARSER = ArgumentsParser()
    PAGINATION_ARGUMENTS_PARSER = ArgumentsParser()

    def paginate(self, pager: Any = None, **kw: Any) -> Callable[[Any], Any]:
        decorator = super().paginate(pager, **kw)

        def bounded(func: Any) -> Any:
            wrapper = decorator(func)
            page_schema = wrapper._apidoc["pagination"]["parameters"]["schema"]
            page_schema._declared_fields["page"].validators.append(validate.Range(max=MAX_PAGE))
            return wrapper

        return bounded

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # The header's value is a JSON object serialised as text: say so (OpenAPI's header
        # `content`), rather than document the header itself as an object.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata: a JSON object (total, total_pages, "
            "first_page, last_page, page, previous_page, next_page)",
            "content": {"application/json": {"schema": "PaginationMetadata"}},
        }


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


def counted_page(
    stmt: sa.Select | Callable[[], sa.Select],
    first: int,
    size: int,
    *order_by: Any,
    shape: Hashable | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[list[sa.Row], int]:
    """Rows `first`..`first + size` of `stmt` and, in the same query, how many there are in all
    (a window count: one round trip and one pass instead of a count, then the page). Past the
    last page only a separate count can say the total. The API and the pages both page here.

    With `shape`, `stmt` is a function that builds the statement with its values as bound
    parameters (given in `params` at execution), and `shape` holds everything it is built from
    (the caller's scope, which filters): see `kept_statements`."""

    def build() -> tuple[sa.Select, sa.Select]:
        counted = stmt() if callable(stmt) else stmt
        total = sa.func.count().over().label("slrt_total")
        return counted, counted.add_columns(total).order_by(*order_by).offset(first).limit(size)

    counted, statement = build() if shape is None else kept_statements(shape, first, size, build)
    rows = db.session.execute(statement, params).all()
    if rows:
        return [row[:-1] for row in rows], rows[0][-1]
    return [], _total_without_page(counted, first, params)


def _total_without_page(stmt: sa.Select, first: int, params: Mapping[str, Any] | None) -> int:
    """How many rows `stmt` has, when a page starting at `first` found none: none at all from
    the first row, else the page is past the end and only a separate count can say."""
    if first == 0:
        return 0
    counting = sa.select(sa.func.count()).select_from(stmt.subquery())
    return db.session.execute(counting, params).scalar()


def page_rows(
    stmt: sa.Select | Callable[[], sa.Select],
    pagination_parameters: Any,
    *order_by: Any,
    shape: Hashable | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[sa.Row]:
    """One page of `stmt`'s rows, setting the total for the X-Pagination header."""
    rows, pagination_parameters.item_count = counted_page(
        stmt,
        pagination_parameters.first_item,
        pagination_parameters.page_size,
        *order_by,
        shape=shape,
        params=params,
    )
    return rows


# Page statements built once per district, shape and page (`kept_statements`), the most recently
# used kept.
_PAGE_STATEMENTS = 1024
_page_statements: OrderedDict[Hashable, tuple[sa.Select, sa.Select]] = OrderedDict()
_page_statements_lock = threading.Lock()


def page_joined(
    ids: sa.Select | Callable[[], sa.Select],
    pagination_parameters: Any,
    order_by: Any,
    rows: Callable[[sa.Subquery], sa.Select],
    *,
    shape: Hashable | None = None,
) -> list[sa.Row]:
    """One page of a list whose rows need joins, in one query: the page's keys and the total
    come from `ids` (the key column of the table alone, so the whole list is counted without
    its joins), and `rows(page)` joins what each row shows to `page`, their subquery. Sets the
    total for the X-Pagination header.

    With `shape`, `ids` is a function that builds the statement, and `shape` holds everything
    it and `rows` are built from (the caller's scope and filters): the statement is built once
    per shape and page, not on every request, and SQLAlchemy finds the same statement's cache
    key without working it out again. A list asked for again and again (an inbox) costs that
    much less."""
    first, size = pagination_parameters.first_item, pagination_parameters.page_size

    def build() -> tuple[sa.Select, sa.Select]:
        counted = ids() if callable(ids) else ids
        page = (
            counted.add_columns(sa.func.count().over().label("slrt_total"))
            .order_by(order_by)
            .offset(first)
            .limit(size)
            .subquery("page")
        )
        return counted, rows(page).add_columns(page.c.slrt_total).order_by(order_by)

    counted, statement = build() if shape is None else kept_statements(shape, first, size, build)
    found = db.session.execute(statement).all()
    if found:
        pagination_parameters.item_count = found[0][-1]
        return [row[:-1] for row in found]
    pagination_parameters.item_count = _total_without_page(counted, first, None)
    return []


def kept_statements(
    shape: Hashable, first: int, size: int, build: Callable[[], tuple[sa.Select, sa.Select]]
) -> tuple[sa.Select, sa.Select]:
    """What `build()` returns for this district, shape and page, built on the first request and
    kept (the most recently used `_PAGE_STATEMENTS`): SQLAlchemy then finds the same statement's
    cache key without working it out again. `shape` must hold everything `build` reads that is
    not a bound value: a statement kept for one caller's scope is never another's."""
    tenant = current_tenant_or_none()
    key = (tenant.id if tenant else None, shape, first, size)
    with _page_statements_lock:
        built = _page_statements.get(key)
        if built is not None:
            _page_statements.move_to_end(key)
    if built is None:
        built = build()
        with _page_statements_lock:
            _page_statements[key] = built
            if len(_page_statements) > _PAGE_STATEMENTS:
                _page_statements.popitem(last=False)
    return built


def page_of(
    stmt: sa.Select | Callable[[], sa.Select],
    pagination_parameters: Any,
    *order_by: Any,
    shape: Hashable | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[Any]:
    """One page of `stmt` (ORM entities), with the total for the X-Pagination header."""
    rows = page_rows(stmt, pagination_parameters, *order_by, shape=shape, params=params)
    return [row[0] for row in rows]


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


class PlatformBlueprint(PathLookups, _LateEtagCheck, _ApiBlueprint):
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


class TenantBlueprint(PathLookups, _LateEtagCheck, _ApiBlueprint):
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
    api.ma_plugin.converter.add_attribute_function(_no_control_characters)
    app.extensions["slrt_api"] = api
    return api


# Every string a request brings is refused with a control character in it (Schema above); the
# document says so on each one, so a client (or a fuzzer) building a valid request from it is
# not refused for something it could not have known.
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"


def _no_control_characters(self: Any, field: fields.Field, ret: dict[str, Any], **kw: Any) -> dict:
    if ret.get("type") != "string" or "pattern" in ret or "format" in ret or "enum" in ret:
        return {}
    if field.dump_only:
        return {}
    return {"pattern": NO_CONTROL_CHARACTERS}


class PatchSchema(Schema):
    """A change (PATCH) body: every field is optional, but an empty one is refused with 422
    rather than answered as a successful change of nothing."""

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kw: Any) -> None:
        if not data:
            raise ValidationError(Msg("Tidak ada yang diubah.", "Nothing to change."))
