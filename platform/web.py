"""The web shell and the conventions every page follows.

Pages are server-rendered and work without JavaScript. A district's signed-in pages live on a
`TenantPages` blueprint in their area's `web.py`: `/t/<slug>/<prefix>/...`. Before a view runs,
the blueprint enters the district from the URL (unknown: 404), sends a browser without a session
to sign in (and back), turns non-members away with 404 exactly like the API, and checks the
view's permission (the same `@require` as the API) and resolves every id in the path through the
same access helpers as the API (`lookups=`): another district's or another region's id answers
404. The view then parses the form with the same marshmallow schema, calls the same action and renders.
Signed-in pages are never cached by the browser.

The Kemensos console (`/kemensos/...`, for accounts holding a platform role) is built the same
way on `PlatformPages` blueprints in the areas' `platform_web.py`: sign-in redirect, 404 for an
account without a platform role, `@require(PP.X)`, path ids through `lookups` (a provincial
viewer's lookups answer 404 for another province's district), no-store.

Forms post back to their own URL; a refused form is shown again with each field's problem beside
it (status 422), a successful one redirects (post/redirect/get) with a notice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, redirect, render_template, request, session
from marshmallow import Schema, ValidationError

from slrt.platform import db
from slrt.platform.api import PathLookups, counted_page, enter_tenant_from_url
from slrt.platform.errors import Msg, Problem, flatten_messages

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


def no_store(blueprint: Blueprint) -> Blueprint:
    """Signed-in pages must not come back from the browser's cache (the back button) after
    sign-out: every answer of `blueprint` is sent with Cache-Control: no-store."""

    @blueprint.after_request
    def _not_stored(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint


# --- Content-Security-Policy -------------------------------------------------------------------
# Every page loads only its own scripts and styles (no inline code, no other origin), embeds no
# plugin, may not be framed, and posts forms only back to this site. Images may also be data:
# URIs (the TOTP QR code, the API documentation's icons).
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}


def allow_form_target(url: str) -> None:
    """Let this page's form lead to `url`'s origin: browsers apply form-action to the redirects
    after a post too, and the OAuth pages end at a registered client's redirect URI."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        g.setdefault("csp_form_targets", set()).add(f"{parts.scheme}://{parts.netloc}")


@functools.lru_cache(maxsize=256)  # a page's targets are registered clients' origins
def _policy(form_targets: tuple[str, ...]) -> str:
    directives = {key: list(values) for key, values in CSP.items()}
    directives["form-action"] += form_targets
    return "; ".join(f"{key} {' '.join(values)}" for key, values in directives.items())


def content_security_policy() -> str:
    """The page's policy: the fixed directives, and the outside addresses its forms post to."""
    return _policy(tuple(sorted(g.get("csp_form_targets", ()))))


def sign_in_redirect() -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect("/auth/login?" + urlencode({"next": target}))


def _web_guard() -> Response | None:
    """A signed-in member of this district, or a redirect to sign in; strangers get 404."""
    from slrt.auth.policy import authorize
    from slrt.auth.signin.client import web_principal

    principal = web_principal()
    if principal is None:
        return sign_in_redirect()
    authorize(principal, None)
    return None


def _platform_guard() -> Response | None:
    """A signed-in holder of a platform role, or a redirect to sign in; anyone else gets 404
    (the console is not there for them, as a district is not for a stranger)."""
    from slrt.auth.signin.client import web_principal
    from slrt.platform.errors import Problem

    principal = web_principal()
    if principal is None:
        return sign_in_redirect()
    if not principal.platform_roles:
        raise Problem(404, Msg("Halaman tidak ditemukan.", "Page not found."))
    return None


class PlatformPages(PathLookups, Blueprint):
    """Signed-in pages of the Kemensos console: /kemensos<url_prefix>/..."""

    def __init__(
        self,
        name: str,
        import_name: str,
        url_prefix: str = "",
        *,
        lookups: Mapping[str, Callable[[Any], Any]] | None = None,
        **kw: Any,
    ) -> None:
        kw.setdefault("template_folder", "templates")
        super().__init__(name, import_name, url_prefix=f"/kemensos{url_prefix}", **kw)
        self.lookups: dict[str, Callable[[Any], Any]] = dict(lookups or {})
        self.before_request(_platform_guard)
        self.before_request(self.check_before_view)
        no_store(self)


class TenantPages(PathLookups, Blueprint):
    """Signed-in pages of one district: /t/<tenant><url_prefix>/..."""

    def __init__(
        self,
        name: str,
        import_name: str,
        url_prefix: str = "",
        *,
        lookups: Mapping[str, Callable[[Any], Any]] | None = None,
        **kw: Any,
    ) -> None:
        # An area's templates sit in the area package, beside web.py or above a web/ package.
        kw.setdefault("template_folder", "../templates" if ".web." in import_name else "templates")
        super().__init__(name, import_name, url_prefix=f"/t/<tenant>{url_prefix}", **kw)
        self.lookups: dict[str, Callable[[Any], Any]] = dict(lookups or {})
        self.url_value_preprocessor(
            lambda endpoint, values: enter_tenant_from_url(values, allow_suspended=True)
        )
        self.url_defaults(_keep_tenant)
        self.before_request(_web_guard)
        self.before_request(self.check_before_view)  # after the guard: strangers never reach it
        no_store(self)


def _keep_tenant(endpoint: str, values: dict[str, Any]) -> None:
    """url_for() on a district page keeps the district unless another one is named."""
    tenant = g.get("tenant")
    if tenant is not None and "tenant" not in values:
        values["tenant"] = tenant.slug


# --- forms ----------------------------------------------------------------------------------


@dataclass
class Form:
    """What a page needs to show a form again: the values as typed and each field's problem."""

    values: dict[str, Any]
    errors: dict[str, Msg]

    # No __bool__: the form macros test `form` for "is there a form to show again", and a form
    # that counted as false while it had errors would hide exactly those errors and values.
    @property
    def valid(self) -> bool:
        return not self.errors


def form_values(*, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The posted form as the API's JSON would carry it: trimmed text, empty fields left out
    (an empty input means "not given"), `lists` as lists."""
    values: dict[str, Any] = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        if key in lists:
            items = [v.strip() for v in request.form.getlist(key) if v.strip()]
            if items:
                values[key] = items
            continue
        value = request.form.get(key, "").strip()
        if value:
            values[key] = value
    return values


def stored_text(record: Any, names: tuple[str, ...]) -> dict[str, str]:
    """A record's fields as its change form shows them: empty for none, "true"/"false" for a
    yes/no, one line per item of a list, else the value's text."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "\n".join(value)
        return str(value)

    return {name: text(getattr(record, name)) for name in names}


def edit_form(shown: Mapping[str, str], seen: str) -> Form:
    """A change form as first shown: the record's values as text, a copy of each as
    `shown.<name>` (hidden inputs, what `edited_values` compares with) and `seen`, the version
    it was read at (`updated_at`, a version number...): a later change by someone else is then
    noticed and shown as a choice rather than overwritten."""
    return Form({**shown, **{f"shown.{k}": v for k, v in shown.items()}, "seen": seen}, {})


def rebased_form(posted: Mapping[str, str], shown: Mapping[str, str], seen: str) -> Form:
    """The posted form again, now based on the record as stored (`shown`, `seen`): the fields
    the person changed keep what they typed, the others show the stored values; sent once more,
    it applies the person's own edits over the other change and nothing else."""
    values = dict(posted)
    for name, now in shown.items():
        if posted.get(name, "") == posted.get(f"shown.{name}", ""):
            values[name] = now
        values[f"shown.{name}"] = now
    values["seen"] = seen
    return Form(values, {})


def conflict_rows(
    posted: Mapping[str, str],
    edited: Mapping[str, Any],
    stored: Mapping[str, str],
    seen: str,
    labels: Mapping[str, Msg],
    shown: Callable[[str, str], Msg],
) -> list[dict[str, Msg]]:
    """The choice to offer when a change form was read before someone else's change (`seen`,
    the version stored now, differs from the one posted) and the person has not chosen to apply
    theirs anyway: one row per field they changed whose value differs from the stored one
    (label, stored value, their value, each in words by `shown`). [] means: go ahead."""
    if posted.get("seen") == seen or posted.get("apply") == "mine":
        return []
    return [
        {
            "label": labels[name],
            "theirs": shown(name, stored[name]),
            "mine": shown(name, posted.get(name, "")),
        }
        for name in edited
        if stored[name] != posted.get(name, "")
    ]


def edited_values(names: tuple[str, ...]) -> dict[str, Any]:
    """What a change form (see `edit_form`) changes: each of `names` whose posted text differs
    from the text it was shown with, a field the person emptied as None (the value removed).
    Untouched fields are left out, so a default shown in a field is never stored as a choice and
    a field someone else changed meanwhile is not put back."""
    changed: dict[str, Any] = {}
    for name in names:
        posted = request.form.get(name, "").strip()
        if posted != request.form.get(f"shown.{name}", "").strip():
            changed[name] = posted or None
    return changed


def submit_change(
    record: Any,
    schema: Schema,
    names: tuple[str, ...],
    *,
    stored: Callable[[], dict[str, str]],
    version: Callable[[], str],
    labels: Mapping[str, Msg],
    words: Callable[[str, str], Msg],
    save: Callable[[dict[str, Any]], Any],
    page: Callable[..., Any],
    body: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Any | None:
    """Handle a posted change form (see `edit_form`) the same way on every page: the fields the
    person changed (`names`), shaped by `body` and loaded with the API's `schema`; the record
    re-read and held (as the API's If-Match check does); when someone else changed it since
    the form was read, the choice (`conflict_rows`); else the area's action (`save`). Returns
    the page to answer with (`page(form, status, conflict=None)`: problems, conflict or
    refusal), or None when the change is saved."""
    posted = posted_values()
    edited = edited_values(names)
    data, form = parse_form(schema, body(edited) if body else edited)
    form.values = posted
    if data is None:
        return page(form, 422)
    db.session.refresh(record, with_for_update=True)  # as stored now, and held until saved
    current, seen = stored(), version()
    differing = conflict_rows(posted, edited, current, seen, labels, words)
    if differing:  # changed by someone else since this form was read: theirs or mine
        return page(rebased_form(posted, current, seen), 409, differing)
    try:
        save(data)
    except Problem as exc:
        return page(problem_form(exc, posted), exc.code or 422)
    return None


def posted_values() -> dict[str, str]:
    """Every posted field as typed (trimmed), for showing a form again."""
    return {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}


def parse_form(
    schema: Schema, values: dict[str, Any] | None = None, **kw: Any
) -> tuple[dict[str, Any] | None, Form]:
    """Load the posted form with the API's schema: (data, form) when it is valid, (None, form)
    with every field's problem otherwise."""
    values = form_values(**kw) if values is None else values
    try:
        return schema.load(values), Form(values, {})
    except ValidationError as exc:
        return None, Form(values, field_messages(exc.messages))


def field_messages(messages: Any) -> dict[str, Msg]:
    """marshmallow messages -> {field: Msg}, in both languages."""
    found: dict[str, Msg] = {}
    for item in flatten_messages(messages):
        field = "_" if item["field"] in ("", "_schema") else item["field"]
        found.setdefault(field, Msg(item["message"], item["message_en"]))
    return found


def problem_form(exc: Any, values: dict[str, Any]) -> Form:
    """An action's refusal (a Problem) as form errors: field problems beside their fields, the
    rest at the top of the form."""
    errors: dict[str, Msg] = {}
    for item in getattr(exc, "errors", None) or []:
        errors.setdefault(item.get("field") or "_", Msg(item["message"], item["message_en"]))
    if not errors:
        detail = getattr(exc, "detail", None)
        errors["_"] = detail if isinstance(detail, Msg) else Msg(str(detail), str(detail))
    return Form(values, errors)


# --- notices after a redirect ----------------------------------------------------------------


def notice(message: Msg) -> None:
    """A one-line notice for the next page (kept in both languages: the reader may switch)."""
    session.setdefault("notices", []).append([str(message), message.en])
    session.modified = True


def take_notices() -> list[Msg]:
    from slrt.platform.redis_client import redis_available

    # While sessions are out of reach a page (the 503 page among them) simply has no notices.
    if getattr(session, "unavailable", False) or not redis_available():
        return []
    return [Msg(id_text, en_text) for id_text, en_text in session.pop("notices", [])]


# --- lists ----------------------------------------------------------------------------------

PAGE_SIZE = 25
MAX_PAGE = 10_000


@dataclass
class Page:
    """One page of a list, with what the pager needs."""

    items: list[Any]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def url(self, number: int) -> str:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(number)]
        return f"{request.path}?{urlencode(args, doseq=True)}"


def requested_page() -> int:
    """?page=N, where anything but a sensible whole number means the first page."""
    raw = request.args.get("page", "1")
    # ASCII digits only, and few of them: int() of thousands of digits is refused by Python.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        return 1
    return min(int(raw), MAX_PAGE)


def page_of(stmt: sa.Select, *order_by: Any, size: int = PAGE_SIZE) -> Page:
    """One page of ORM entities and the total, counted in the same query."""
    number = requested_page()
    rows, total = counted_page(stmt, (number - 1) * size, size, *order_by)
    return Page([row[0] for row in rows], number, size, total)


def init_web(app: Flask) -> None:
    app.jinja_env.globals.update(take_notices=take_notices)
