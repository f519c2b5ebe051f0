"""Cross-tenant probes generated from the OpenAPI document and the URL map: every operation,
present and future, is covered without being listed here.

- Every /api/v1 operation declares a permission (@require) or says why it is public (@public).
- A district admin of Parepare, asking Kendal's slug: 404 on every operation.
- The same admin, asking Parepare's slug with Kendal's ids in every path parameter: 404 (or 422
  when a write's body is refused first), never a success, and nothing of Kendal's changes.
"""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.platform.db import is_tenant_table
from slrt.platform.models import metadata
from slrt.platform.tenant import Tenant
from tests.fixtures import member, put_on_plan

WRITE = {"post", "put", "patch", "delete"}

# Tenant tables the demo may leave empty, with the reason. Everything else must have demo rows in
# Kendal so that its ids are tried against Parepare's routes.
NO_DEMO_ROWS: dict[str, str] = {
    "import_conflicts": "rows an import held back exist only once a person changed after an "
    "upload; no route takes their ids (they are read through the job's report and applied by "
    "the job's id)",
    "field_synced_items": "a device's applied items are found by the key the device made, "
    "never by id (no route takes their ids)",
    "dtsen_members": "the persons a DTSEN file listed are written by applying an import (a job); "
    "no route takes their ids (they are read inside their record, /dtsen/records/{id})",
}
PARAM = re.compile(r"{([^}]+)}")


def test_every_api_operation_declares_permission_or_public_reason(app) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        handlers = [view]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            handlers = [getattr(view_class, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}]
        for handler in handlers:
            if not (
                getattr(handler, "required_permission", None)
                or getattr(handler, "public_reason", None)
            ):
                missing.append(f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule}")
    assert missing == []


def _tenant_rows(engine: sa.Engine, tenant_id: int) -> dict[str, list]:
    """Every tenant table's rows of one tenant, as owner (FORCE RLS: set the tenant setting)."""
    rows = {}
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(tenant_id), True)))
        for table in metadata.sorted_tables:
            if is_tenant_table(table):
                rows[table.name] = [tuple(r) for r in conn.execute(sa.select(table)).all()]
    return rows


def _fingerprint(rows: dict[str, list]) -> dict[str, str]:
    return {
        name: hashlib.sha256(repr(sorted(map(repr, r))).encode()).hexdigest()
        for name, r in rows.items()
    }


def _foreign_values(rows: dict[str, list]) -> dict[str, list[str]]:
    """Candidate values of Kendal's for path parameters: ids (uuids) and codes/numbers (strings)."""
    uuids: list[str] = []
    strings: list[str] = []
    for name, table_rows in rows.items():
        table = metadata.tables[name]
        for row in table_rows[:3]:
            for column, value in zip(table.columns, row, strict=True):
                if column.name == "id" and isinstance(value, uuid.UUID):
                    uuids.append(str(value))
                elif isinstance(value, str) and column.name in (
                    "code",
                    "number",
                    "ticket_number",
                    "letter_number",
                    "key",
                    "slug",
                ):
                    strings.append(value)
    return {"uuid": uuids or [str(uuid.uuid4())], "string": strings or ["33.24.01.2001"]}


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    ops = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/t/{tenant}"):
            continue
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((path, method, op))
    return ops


def _param_types(path: str, op: dict, item_params: list) -> dict[str, str]:
    types = {}
    for param in [*item_params, *op.get("parameters", [])]:
        if param.get("in") == "path":
            schema = param.get("schema", {})
            types[param["name"]] = (
                "uuid" if schema.get("format") == "uuid" else schema.get("type", "string")
            )
    for name in PARAM.findall(path):
        types.setdefault(name, "string")
    types.pop("tenant", None)
    return types


def _call(client, method: str, url: str, headers: dict):
    kwargs = {"headers": {**headers, "If-Match": '"0"'}}
    if method in WRITE and method != "delete":
        kwargs["json"] = {}
    return getattr(client, method)(url, **kwargs)


@pytest.mark.slow
def test_foreign_slugs_and_ids_answer_404(app, client, owner_engine) -> None:
    with app.app_context():
        load_demo()
        kendal = db.session.execute(sa.select(Tenant).where(Tenant.slug == "kendal")).scalar_one()
        parepare = db.session.execute(
            sa.select(Tenant).where(Tenant.slug == "parepare")
        ).scalar_one()
        db.session.expunge_all()
        db.session.remove()
    admin = member(app, parepare, "district_admin")
    # The probe sends hundreds of requests a minute: give Parepare room beyond its plan's
    # per-minute API quota (billing_free), which would otherwise answer 429.
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    member(app, kendal, "facilitator")
    before = _tenant_rows(owner_engine, kendal.id)
    empty = sorted(name for name, rows in before.items() if not rows and name not in NO_DEMO_ROWS)
    assert empty == [], (
        f"the demo leaves these tables empty in Kendal; add demo rows so the probe has ids to try: {empty}"
    )
    values = _foreign_values(before)
    spec = client.get("/api/openapi.json").json
    operations = _operations(spec)
    assert operations, "the API has tenant operations"
    failures = []
    for path, method, op in operations:
        types = _param_types(path, op, spec["paths"][path].get("parameters", []))
        # 1) Kendal's slug with a Parepare token: Kendal does not exist for this caller.
        url = path.replace("{tenant}", "kendal")
        for name, kind in types.items():
            url = url.replace("{" + name + "}", values["uuid" if kind == "uuid" else "string"][0])
        resp = _call(client, method, url, admin.headers)
        if resp.status_code != 404:
            failures.append(
                f"{method.upper()} {url}: {resp.status_code} (expected 404 on a foreign slug)"
            )
        # 2) Parepare's slug with Kendal's ids, one parameter at a time.
        for name, kind in types.items():
            for foreign in values["uuid" if kind == "uuid" else "string"]:
                url = path.replace("{tenant}", "parepare").replace("{" + name + "}", foreign)
                for other, other_kind in types.items():
                    url = url.replace(
                        "{" + other + "}", values["uuid" if other_kind == "uuid" else "string"][0]
                    )
                resp = _call(client, method, url, admin.headers)
                allowed = {404, 422} if method in WRITE else {404}
                if resp.status_code not in allowed:
                    failures.append(
                        f"{method.upper()} {url}: {resp.status_code} (expected {sorted(allowed)} for a foreign id)"
                    )
                elif foreign in resp.get_data(as_text=True) and resp.status_code != 404:
                    failures.append(f"{method.upper()} {url}: echoes the foreign id")
    assert failures == []
    assert _fingerprint(_tenant_rows(owner_engine, kendal.id)) == _fingerprint(before)
