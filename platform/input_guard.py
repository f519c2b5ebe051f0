"""Guards against hostile input, applied once for every request before any view reads it.

- A NUL byte in the path, the query string, a form field or an uploaded file's name: 400 (422
  for a form field, named), before routing reaches a database that would choke on it.
- JSON request bodies: nesting deeper than `MAX_JSON_DEPTH` (or deep enough to exhaust Python's
  recursion) answers 400. `parse_json_body` is the one reader of request JSON: the API's
  argument parser (`slrt.platform.api.ArgumentsParser`) and `flask.request.get_json` both go
  through it. (Control characters inside the text are the schemas' rule: `slrt.platform.api.Schema`.)
- `safe_int_range`: the range an integer input may take (PostgreSQL's bigint), added to every
  integer field of the API's schemas by `slrt.platform.api.Schema`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, request
from flask import json as flask_json
from werkzeug.routing import IntegerConverter

from slrt.platform.errors import Msg, Problem, field_error
from slrt.platform.text import control_character_problem

# Real request bodies nest a few levels (a case with its needs, a rule with its clauses).
MAX_JSON_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1

TOO_DEEP = Msg(
    f"JSON bersarang terlalu dalam (paling banyak {MAX_JSON_DEPTH} tingkat).",
    f"The JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels).",
)
NUL_IN_REQUEST = Msg(
    "Alamat, parameter atau nama berkas berisi karakter NUL (%00); permintaan ditolak.",
    "The address, a parameter or a file name contains the NUL character (%00); refused.",
)


def parse_json_body(raw: Any, loads: Callable[[Any], Any] = json.loads) -> Any:
    """Decode a request's JSON with `loads`, refusing what no real client sends."""
    try:
        data = loads(raw)
    except RecursionError:
        raise Problem(400, TOO_DEEP) from None
    check_json_tree(data)
    return data


def check_json_tree(data: Any) -> None:
    """Walk decoded JSON without recursion: depth at most MAX_JSON_DEPTH."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list):
            items = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise Problem(400, TOO_DEEP)
        stack.extend((item, depth + 1) for item in items)


class _RequestJson:
    """What `flask.Request.get_json` decodes with: Flask's JSON, guarded."""

    @staticmethod
    def loads(raw: Any, **kw: Any) -> Any:
        return parse_json_body(raw, lambda text: flask_json.loads(text, **kw))

    dumps = staticmethod(flask_json.dumps)


class GuardedRequest(Request):
    """Flask's request, reading JSON through `parse_json_body`. Flask hands each request the
    app's JSON provider; the guard keeps it and decodes through it."""

    @property
    def json_module(self) -> Any:
        return _RequestJson

    @json_module.setter
    def json_module(self, provider: Any) -> None:
        """The app's provider is what `_RequestJson` decodes with already (flask.json)."""


def _refuse_nul(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Runs before any blueprint's URL preprocessor (which may look a district up by slug)."""
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        raise Problem(400, NUL_IN_REQUEST)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for storage in request.files.values():
            if "\x00" in (storage.filename or ""):
                raise Problem(400, NUL_IN_REQUEST)
        # Forms that no schema reads (the sign-in form) must not carry a NUL to the database; the
        # schemas refuse every control character with the same message.
        for key, value in request.form.items(multi=True):
            problem = control_character_problem(value) if "\x00" in key + value else None
            if problem is not None or "\x00" in key:
                message = problem or control_character_problem(key)
                raise Problem(422, errors=[field_error(key.replace("\x00", ""), message)])


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in a route: ids are PostgreSQL integers, so a longer number is no id at all
    (404, as for a missing one) instead of an overflow in the database (500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any route is added: the routes' int converter, the request class, the NUL check."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = GuardedRequest
    app.url_value_preprocessor(_refuse_nul)
