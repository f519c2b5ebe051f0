"""Signing a Flask test client in through the real web sign-in (OpenID code flow in-process), and
what the generated page tests need: the district pages and the Kemensos console's pages of the
URL map and sample values for their path parameters."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask import Flask

PASSWORD = "kopi pagi di balai desa"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
DISTRICT_PARAMS = ("tenant", "slug")


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client, email: str, password: str = PASSWORD, start: str = "/auth/login"):
    """Sign `client` in as `email` from `start`; returns the page it lands on."""
    page = client.get(start, follow_redirects=True)
    assert page.request.path == "/auth/sign-in", page.request.path
    html = page.get_data(as_text=True)
    cont = re.search(r'name="continue" value="([^"]*)"', html).group(1)
    return client.post(
        "/auth/sign-in",
        data={
            "csrf_token": csrf_of(html),
            "continue": cont.replace("&amp;", "&"),
            "email": email,
            "password": password,
        },
        follow_redirects=True,
    )


def form_token(client) -> str:
    """A CSRF token of `client`'s session (from a page with a form)."""
    return csrf_of(client.get("/auth/password").get_data(as_text=True))


def district_rules(app: Flask) -> list:
    """Every web route inside a district (/t/<district>/...), API routes excluded."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(("/t/<tenant>", "/t/<slug>"))
        ),
        key=lambda r: (r.rule, r.endpoint),
    )


def platform_rules(app: Flask) -> list:
    """Every page of the Kemensos console (/kemensos/...)."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/kemensos")),
        key=lambda r: (r.rule, r.endpoint),
    )


def is_platform_page(app: Flask, rule) -> bool:
    from slrt.platform.web import PlatformPages

    blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
    return isinstance(blueprint, PlatformPages)


def is_signed_in_page(app: Flask, rule) -> bool:
    """Pages of a TenantPages blueprint need a member; the others are public."""
    from slrt.platform.web import TenantPages

    blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
    return isinstance(blueprint, TenantPages)


def fill(rule, district: str, values: dict[str, list[str]], **fixed: str) -> str:
    """The rule's path with `district` and a sample value per parameter (uuids where the
    converter is uuid, strings otherwise; `fixed` names a parameter's value)."""

    def value(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        if name in DISTRICT_PARAMS:
            return district
        if name in fixed:
            return fixed[name]
        pool = values.get(name) or values["uuid" if converter == "uuid" else "string"]
        return pool[0]

    return PATH_PARAM.sub(value, rule.rule)


def tenant_values(engine: sa.Engine, tenant_id: int) -> dict[str, list[str]]:
    """Values of one district for path parameters: every table's ids by `<table>_id` name (so a
    `case_id` gets a case), plus generic uuids and strings."""
    from slrt.platform.db import is_tenant_table
    from slrt.platform.models import metadata

    # table -> the name its id takes in a path
    singular = {
        "agencies": "agency",
        "case_attachments": "attachment",
        "dtks_proposal_batches": "batch",
        "dtks_proposals": "proposal",
        "kecamatan": "kecamatan",
        "program_versions": "version",
        "audit_events": "event",
        "dtsen_imports": "import",
        "dtsen_records": "record",
        "dtsen_submissions": "submission",
        "dtsen_evidence": "evidence",
    }
    values: dict[str, list[str]] = {"uuid": [], "string": []}
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(tenant_id), True)))
        for table in metadata.sorted_tables:
            if not is_tenant_table(table) or "id" not in table.c:
                continue
            ids = [str(v) for v in conn.execute(sa.select(table.c.id).limit(3)).scalars()]
            if not ids:
                continue
            name = singular.get(table.name, table.name.removesuffix("s"))
            values.setdefault(f"{name}_id", ids)
            values["uuid"] += ids[:1]
            for column in ("token", "code", "ticket_number"):
                if column in table.c:
                    values["string"] += [
                        str(v) for v in conn.execute(sa.select(table.c[column]).limit(1)).scalars()
                    ]
    values["uuid"] = values["uuid"] or [str(uuid.uuid4())]
    values["string"] = values["string"] or ["00.00"]
    return values
