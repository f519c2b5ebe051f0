"""Permission before body, generated from the URL map: on every API operation, a caller who
lacks the operation's permission gets 403, whatever the body or the query string holds. Their
rules (which fields, which formats) are nobody's business but the permitted caller's."""

from __future__ import annotations

import uuid

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import add_member, make_account

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
METHODS = WRITES | {"GET"}
INVALID = {"zz_not_a_field": "\u00a0", "page": -1}


def _path(rule) -> str:
    """The rule's URL with a well-formed value for each of its parameters."""
    from werkzeug.routing.converters import NumberConverter, UUIDConverter

    values = {}
    for name, converter in rule._converters.items():
        if name == "tenant":
            values[name] = "parepare"
        elif isinstance(converter, UUIDConverter):
            values[name] = str(uuid.uuid4())
        elif isinstance(converter, NumberConverter):
            values[name] = 1
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def _role_without_permissions(app, tenant) -> None:
    from slrt.auth.memberships.models import Role

    with app.app_context(), tenant_context(tenant.ref()):
        db.session.add(Role(key="tanpa_izin", name="Tanpa izin", permissions=[], builtin=False))
        db.session.commit()
        db.session.remove()


def test_every_write_checks_the_permission_before_the_body(app, client, parepare) -> None:
    _role_without_permissions(app, parepare)
    nobody = add_member(app, parepare, make_account(app, "tanpa.izin@example.id"), "tanpa_izin")
    checked, undeclared, wrong = [], [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None)
        for method in sorted(rule.methods & METHODS):
            if permission is None:
                if method != "GET" and not getattr(view, "public_reason", None):
                    undeclared.append(f"{method} {rule.rule}")
                continue
            if method == "GET":
                resp = client.get(_path(rule), query_string=INVALID, headers=nobody.headers)
            else:
                resp = client.open(_path(rule), method=method, json=INVALID, headers=nobody.headers)
            checked.append(f"{method} {rule.rule}")
            if resp.status_code != 403:
                wrong.append((f"{method} {rule.rule}", resp.status_code, resp.get_json()))
    assert len([c for c in checked if not c.startswith("GET")]) >= 40
    assert len([c for c in checked if c.startswith("GET")]) >= 40
    assert any("/platform/" in c for c in checked)
    assert not wrong, wrong
    assert not undeclared, undeclared
