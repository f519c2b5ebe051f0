"""What one request costs in SQL: the statements a warm process sends for the operations that
carry the load (a person by id, a list, a name search, the agency inbox, the dashboards, a
write), counted on the engine. A count that grows fails here: find the statement that was added
and whether it belongs in the request at all. Never timed."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import flow_catalog, member
from tests.tenants.flow.test_flow import LOMPOE, get, post
from tests.tenants.flow.test_queries import _referred, counted


def is_read_only_commit(statement: str) -> bool:
    """The records of reads, alone in their transaction, go in one message with the COMMIT,
    which does not wait for the disk."""
    return (
        statement.startswith("SET LOCAL synchronous_commit TO off;")
        and records_reads(statement)
        and statement.endswith("; COMMIT")
    )


def records_reads(statement: str) -> bool:
    return 'INSERT INTO "audit_events"' in statement or "INSERT INTO audit_events" in statement


def is_setting(statement: str) -> bool:
    """The message that opens every transaction: its BEGIN with tenant, role (and, on a replica
    session, read-only) in one statement, one round trip."""
    begin, _, setting = statement.partition("; ")
    return (
        begin.startswith("BEGIN")
        and setting.startswith("SELECT set_config(")
        and "'slrt.tenant_id'" in setting
    )


def _statements(client, user, url) -> list[str]:
    """The statements of one GET, in a process that has served it once already."""
    client.get(url, headers=user.headers)
    with counted() as statements:
        resp = client.get(url, headers=user.headers)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True))
    return statements


@pytest.fixture
def district(app, client, parepare):
    ids = flow_catalog(app, parepare)
    cast = {
        "ids": ids,
        "fo": member(app, parepare, "front_office"),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
        "dinkes": member(app, parepare, "agency_officer", agency_id=ids["dinkes"]),
    }
    _referred(client, cast, 3, 1)
    for referral in get(client, cast["manager"], "/referrals").json:
        assert referral["status"] == "sent"
    from slrt.tenants.reports.aggregates import refresh

    with app.app_context(), tenant_context(parepare.ref()):
        refresh()
        db.session.commit()
        db.session.remove()
    return cast


BASE = "/api/v1/t/parepare"


def test_reads_cost_one_transaction_and_few_statements(app, client, district) -> None:
    manager = district["manager"]
    person = get(client, manager, "/persons", query_string={"name": "Warga 2"}).json[0]
    counts = {}
    for label, url, user in (
        ("person by id", f"{BASE}/persons/{person['id']}", manager),
        ("persons list", f"{BASE}/persons", manager),
        ("name search", f"{BASE}/persons?name=Warga", manager),
        ("nik lookup", f"{BASE}/persons?nik=7372010101900002", manager),
        ("agency inbox", f"{BASE}/referrals", district["dinkes"]),
        ("district dashboard", f"{BASE}/dashboard", manager),
    ):
        statements = _statements(client, user, url)
        # One transaction: the tenant and role are set once, at its start, in one statement.
        assert sum(map(is_setting, statements)) == 1, (label, statements)
        assert is_setting(statements[0]), (label, statements)
        assert not any("FROM accounts" in s or "FROM memberships" in s for s in statements), (
            label,
            statements,
        )
        counts[label] = len(statements)
        reads_recorded = any(map(records_reads, statements))
        assert any(map(is_read_only_commit, statements)) == reads_recorded, (label, statements)
        if reads_recorded:
            # the event and the COMMIT are the transaction's last message
            assert is_read_only_commit(statements[-1]), (label, statements)
    # "audit" below: the event, in the message that also sets its quick commit and commits
    assert counts == {
        # setting, the person (once, though the path and the view both ask), audit
        "person by id": 3,
        # setting, the page and its total in one query, audit
        "persons list": 3,
        "name search": 3,
        "nik lookup": 3,
        # setting, the page (its rows with their tickets, letters and persons, joined to the
        # page's ids and the total), audit
        "agency inbox": 3,
        # setting, the district's current figures
        "district dashboard": 2,
    }


def test_national_dashboard_is_served_from_what_was_computed(
    app, client, district, kemensos_admin
) -> None:
    admin = kemensos_admin
    statements = _statements(client, admin, "/api/v1/dashboard")
    # Nothing: the answer is kept, as computed at the last change of the figures.
    assert statements == []
    first = client.get("/api/v1/dashboard", headers=admin.headers)
    again = client.get(
        "/api/v1/dashboard", headers={**admin.headers, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.get_data() == b""


def test_a_write_costs_one_transaction(app, client, district) -> None:
    fo = district["fo"]
    created = post(
        client, fo, "/persons", {"nik": "7372015506900001", "name": "Baru", "village_code": LOMPOE}
    )
    assert created.status_code == 201
    person = get(client, fo, f"/persons/{created.json['id']}")
    with counted() as statements:
        resp = client.patch(
            f"{BASE}/persons/{created.json['id']}",
            json={"name": "Baru Sekali"},
            headers={**fo.headers, "If-Match": person.headers["ETag"]},
        )
    assert resp.status_code == 200, resp.json
    # setting, the person from the path, the same row again FOR UPDATE (the If-Match check
    # uses it), the audit event, the UPDATE (returning updated_at for the answer): one
    # transaction
    assert sum(map(is_setting, statements)) == 1, statements
    assert len(statements) == 5, statements
    # a change waits for the disk
    assert not any("synchronous_commit" in statement for statement in statements), statements


@pytest.fixture
def pages(app, district, monkeypatch):
    """The district's manager and Dinas Kesehatan's officer signed in on the web."""
    from tests.fixtures import set_password
    from tests.web import PASSWORD, sign_in

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    clients = {}
    for role in ("manager", "dinkes"):
        user = district[role]
        set_password(app, user, PASSWORD)
        clients[role] = app.test_client()
        sign_in(clients[role], user.email)
    return clients


def _page_statements(client, url) -> list[str]:
    client.get(url)
    with counted() as statements:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return statements


def test_pages_cost_one_transaction_and_few_statements(app, parepare, district, pages) -> None:
    # (A password set for the web revokes the API tokens: the person is found in the database.)
    from slrt.tenants.registry.models import Person

    with app.app_context(), tenant_context(parepare.ref()):
        person = {"id": db.session.execute(sa.select(Person.id).limit(1)).scalar_one()}
        db.session.remove()
    counts = {}
    for label, url, role in (
        ("person page", f"/t/parepare/registry/persons/{person['id']}", "manager"),
        ("registry search page", "/t/parepare/registry/?q=Warga", "manager"),
        ("agency inbox page", "/t/parepare/referrals", "dinkes"),
    ):
        statements = _page_statements(pages[role], url)
        counts[label] = (sum(map(is_setting, statements)), len(statements))
    # (transactions, statements). What the pages still cost beyond the API's answers: the signed-in
    # account is read on every page; the search page commits its audit event, then reads the
    # villages for its filter in a second transaction; the inbox counts each of its five views.
    # "audit": the event, in the statement that also sets its quick commit.
    assert counts == {
        # setting, the account, the person, their proposals, audit
        "person page": (1, 5),
        # setting, the account, the page of persons, audit; setting, the villages
        "registry search page": (2, 6),
        # setting, the account, the program and village filters, five view counts, the page,
        # the tickets of its cases, the agency, the persons it shows, audit
        "agency inbox page": (1, 14),
    }, counts


def test_reads_ask_redis_only_to_reserve_requests_and_a_revoked_token_stays_refused(
    app, client, district
) -> None:
    """No round trip to Redis per request: the epoch and revoked tokens arrive as news on the
    process's subscription, and the district's rate count is reserved a few requests at a time
    (1, 2, 4, 8, 16, 16...: six reservations serve 40 reads), sending the usage meter's counts
    with each. Besides, once a second the process reads the epoch itself. A token revoked
    between two requests is refused on the second."""
    import redis.client

    from slrt.auth.oauth.tokens import revoke_access_token, verify_access_token
    from slrt.billing_free import quotas

    manager = district["manager"]
    person = get(client, manager, "/persons", query_string={"name": "Warga 2"}).json[0]
    url = f"{BASE}/persons/{person['id']}"
    client.get(url, headers=manager.headers)
    quotas._leases.clear()  # the reads below start reserving from one
    trips: list[str] = []
    command, pipeline = redis.client.Redis.execute_command, redis.client.Pipeline.execute

    def one(self, *args, **kwargs):
        trips.append(str(args[0]))
        return command(self, *args, **kwargs)

    def many(self, *args, **kwargs):
        trips.append("pipeline: " + ", ".join(str(c[0][0]) for c in self.command_stack))
        return pipeline(self, *args, **kwargs)

    redis.client.Redis.execute_command, redis.client.Pipeline.execute = one, many
    started = time.monotonic()
    try:
        for _ in range(40):
            assert client.get(url, headers=manager.headers).status_code == 200
    finally:
        redis.client.Redis.execute_command, redis.client.Pipeline.execute = command, pipeline
    seconds = time.monotonic() - started
    checks = [t for t in trips if t == "GET"]
    reservations = [t for t in trips if t.startswith("pipeline: INCRBY, EXPIRE")]
    assert len(reservations) == 6, trips
    assert all(t.endswith("HINCRBY") for t in reservations[1:]), trips  # the meter rides along
    assert len(checks) <= seconds // 1 + 1, trips
    assert len(trips) == len(reservations) + len(checks), trips
    token = manager.headers["Authorization"].split()[1]
    with app.test_request_context():
        revoke_access_token(verify_access_token(token))
    assert client.get(url, headers=manager.headers).status_code == 401
