"""What the district admin console's page tests share: a signed-in browser-like client of one
district's member, and a form post carrying the session's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from html.parser import HTMLParser

from tests.fixtures import member, set_password
from tests.web import PASSWORD, form_token, sign_in


def signed_in(app, monkeypatch, tenant, role: str = "district_admin", **kw):
    """(client, user): a client signed in as a new member of `tenant` with `role`."""
    user = set_password(app, member(app, tenant, role, **kw), PASSWORD)
    client = app.test_client()
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    sign_in(client, user.email)
    return client, user


def post(client, url: str, data: dict | None = None, **kw):
    """A form post as the browser sends it (with the session's CSRF token)."""
    return client.post(url, data={"csrf_token": form_token(client), **(data or {})}, **kw)


def text(resp) -> str:
    """The page's visible text, tags removed and entities decoded (for asserting wording)."""
    html = resp.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


class _Forms(HTMLParser):
    """Every form of a page with its fields' current values, as a browser would post them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, list[str]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button"):
                return
            self.forms[-1].setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            self.forms[-1].setdefault(self._select, [])
        elif tag == "option" and self._select:
            values = self.forms[-1][self._select]
            if "selected" in a:
                values[:] = [a.get("value", "")]
            elif not values:
                values.append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.forms[-1][self._textarea] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.forms[-1][self._textarea][0] += data.removeprefix("\n")


def form_fields(html: str, containing: str) -> dict[str, object]:
    """The fields of the page's form that holds a field named `containing`, with the values a
    browser would send (a single value, or a list where a name repeats); no CSRF token."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        if containing in form:
            return {
                k: (v[0] if len(v) == 1 else v) for k, v in form.items() if k != "csrf_token" and v
            }
    raise AssertionError(f"no form with a field {containing!r}")


def field_value(html: str, name: str) -> str:
    """The value of the first input named `name` in a page."""
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert match, name
    return unescape(match.group(1))


@contextmanager
def in_district(app, tenant) -> Iterator[None]:
    """Code run as the district's own (an app context inside its tenant context)."""
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context

    with app.app_context(), tenant_context(tenant.ref()):
        try:
            yield
        finally:
            db.session.remove()


def resident(app, tenant, *, desil: int = 2) -> str:
    """A woman born in 1950, head of a family listed in DTKS (desil 2) in Kelurahan Lompoe of
    Parepare; returns her id."""
    from flask import g

    from slrt.auth.policy import operator_principal
    from slrt.tenants.registry.actions import create_household, create_person

    with in_district(app, tenant):
        g.principal = operator_principal()
        household = create_household(
            {
                "kk_number": "7372010101200001",
                "address": "RT 001 / RW 002",
                "village_code": "73.72.01.1004",
                "dtks_status": "in_dtks",
                "desil": desil,
            }
        )
        person = create_person(
            {"nik": "7372014101500001", "name": "Hasnah Lamude", "relation": "kepala_keluarga"},
            household,
        )
        return str(person.id)
