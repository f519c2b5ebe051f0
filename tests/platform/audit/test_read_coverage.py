"""Every read of personal data is recorded, checked from the URL map: a resident with marker
data and a full history is seeded, then every GET route of the district (API operations and
pages, present and future) is called with ids filled from that history, by a district admin
who may see everything. A response that shows the resident's NIK, name, phone or address
without an audit event naming them, written by that very request, fails the test; so does such
a route without a `@personal_data` declaration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.reads import declared_endpoints
from slrt.platform.commands.demo import load_demo
from slrt.platform.logs import ContextFilter, JsonFormatter
from slrt.platform.tenant import Tenant
from tests.fixtures import member, put_on_plan, set_password
from tests.pdf import pdf_text
from tests.privacy import Marked, seed_marked_person
from tests.web import PASSWORD, PATH_PARAM, fill, sign_in, tenant_values

PERSONAL_KINDS = ("read", "export", "letter")


def _parepare(app) -> Tenant:
    with app.app_context():
        load_demo()
        tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == "parepare")).scalar_one()
        db.session.expunge(tenant)
        db.session.remove()
    return tenant


def _path_values(marked: Marked, own: dict[str, list[str]]) -> dict[str, list[str]]:
    values = dict(own)
    values.update(
        person_id=[str(marked.person_id)],
        household_id=[str(marked.household_id)],
        case_id=[str(marked.case_id)],
        referral_id=[str(i) for i in marked.referral_ids],
        attachment_id=[str(marked.attachment_id)],
        batch_id=[str(marked.batch_id)],
        job_id=[str(marked.export_job_id)],
        name=["registri.csv"],
    )
    return values


def _urls(rule, slug: str, values: dict[str, list[str]]) -> list[str]:
    """The rule filled with each value of its first multi-valued marker parameter."""
    names = [m.group(2) for m in PATH_PARAM.finditer(rule.rule)]
    spread = next((n for n in names if n == "referral_id"), None)
    if spread is None:
        return [fill(rule, slug, values)]
    return [fill(rule, slug, values, referral_id=v) for v in values["referral_id"]]


def _last_seq(engine: sa.Engine, tenant_id: int) -> int:
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(tenant_id), True)))
        return conn.execute(
            sa.text("SELECT coalesce(max(chain_seq), 0) FROM audit_events")
        ).scalar()


def _events_since(engine: sa.Engine, tenant_id: int, seq: int) -> list:
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(tenant_id), True)))
        return list(
            conn.execute(
                sa.text(
                    "SELECT kind, action, entity_type, entity_id, after FROM audit_events "
                    "WHERE chain_seq > :s ORDER BY chain_seq"
                ),
                {"s": seq},
            )
        )


def _names_subject(events: list, marked: Marked) -> bool:
    # the person, their household (the address is the household's) or the export file
    wanted = (str(marked.person_id), str(marked.household_id), str(marked.export_job_id))
    for e in events:
        if e.kind not in PERSONAL_KINDS:
            continue
        said = json.dumps([e.entity_id, e.after])
        if any(w in said for w in wanted):
            return True
    return False


def _readable(body: bytes) -> str:
    """The body as text; a PDF's compressed streams inflated."""
    text = body.decode("utf-8", errors="replace")
    if body.startswith(b"%PDF"):
        text += pdf_text(body)
    return text


def _shown(body: bytes, marked: Marked) -> list[str]:
    text = _readable(body)
    return [what for what, value in marked.texts.items() if value in text]


def _district_get_rules(app) -> list:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.rule.startswith(("/t/<tenant>", "/api/v1/t/<tenant>"))
        ),
        key=lambda r: r.rule,
    )


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line of the test as the app's handler writes it (JSON, masked)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_route_that_shows_a_person_records_the_read(
    app, owner_engine, monkeypatch, log_lines
):
    """Also the walk-through for the logs: afterwards no log line holds the resident's NIK, KK,
    name or phone, though every route was called with them in its query and the seeding ran the
    whole flow, a registry export and their log lines."""
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    parepare = _parepare(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    marked = seed_marked_person(app, parepare)
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    browser = app.test_client()
    sign_in(browser, admin.email)
    api = app.test_client()
    values = _path_values(marked, tenant_values(owner_engine, parepare.id))
    declared = declared_endpoints(app)

    unrecorded, undeclared, shown_by = [], [], set()
    for rule in _district_get_rules(app):
        is_api = rule.rule.startswith("/api/")
        for url in _urls(rule, parepare.slug, values):
            # (a search for part of the name: the whole name in the answer is then the record's)
            for query in (
                "",
                f"?q={marked.name.split()[0]}",
                f"?case_id={marked.case_id}",
                f"?name={quote(marked.name)}&nik={marked.nik}&phone={marked.phone}",
            ):
                before = _last_seq(owner_engine, parepare.id)
                if is_api:
                    resp = api.get(url + query, headers=admin.headers)
                else:
                    resp = browser.get(url + query)
                shown = _shown(resp.data, marked)
                if not shown or query.startswith("?name="):
                    # (that query is for the logs: pages echo it in their links, which is the
                    # caller's own input, not a read of stored data)
                    continue
                shown_by.add(rule.endpoint)
                if rule.endpoint not in declared:
                    undeclared.append(rule.endpoint)
                events = _events_since(owner_engine, parepare.id, before)
                if not _names_subject(events, marked):
                    unrecorded.append(f"{url}{query} ({resp.status_code}) shows {shown}")
    # A duplicate NIK: the database's refusal quotes it, the log line must not.
    dup = api.post(
        f"/api/v1/t/{parepare.slug}/persons",
        json={
            "nik": marked.nik,
            "name": marked.name,
            "phone": marked.phone,
            "sex": "L",
            "village_code": "73.72.01.1001",
        },
        headers=admin.headers,
    )
    assert dup.status_code in (409, 422), dup.get_json()
    logging.getLogger("slrt.test").exception(
        "simulated failure for %s (NIK %s, KK %s, HP %s)",
        "request?q=" + quote(marked.name),
        marked.nik,
        marked.kk,
        marked.phone,
    )
    logged = log_lines.getvalue()
    assert logged.count("\n") > 100, "the walk-through was logged"
    leaked = [
        (what, line[:300])
        for line in logged.splitlines()
        for what, value in {
            **marked.texts,
            "KK": marked.kk,
            "name(url)": quote(marked.name),
        }.items()
        if what != "address" and value in line
    ]
    assert not leaked, leaked
    assert not unrecorded and not undeclared, (
        "personal data shown without a read event:\n"
        + "\n".join(sorted(set(unrecorded)))
        + f"\nroutes without @personal_data: {sorted(set(undeclared))}"
    )
    # The walk really reached the person's data through each kind of route.
    for endpoint in (
        "cases.list_cases",
        "cases.list_transitions",
        "cases.download",
        "referrals.list_referrals",
        "jobs.download_job_file",
        "proposals.download_minutes",
        "audit.list_audit_events",
        "referrals.letter_pdf",
        "cases_web.case_page",
        "proposals_web.minutes",
        "registry_web.person",
    ):
        assert endpoint in shown_by, endpoint
