"""No N+1 queries: the list endpoints run the same number of SQL statements for 2 records as for
8 (counted on the engine, never timed; each counted request follows one that loaded what the
process keeps, so both counts are of a warm process)."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from slrt.platform import db
from tests.fixtures import flow_catalog, member
from tests.tenants.flow.test_flow import LOMPOE, get, post


@contextmanager
def counted():
    statements: list[str] = []

    def listen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine(), "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine(), "before_cursor_execute", listen)


def _referred(client, cast, n: int, start: int) -> None:
    fo, bo, manager = cast["fo"], cast["bo"], cast["manager"]
    for i in range(start, start + n):
        person = post(
            client,
            fo,
            "/persons",
            {"nik": f"73720101019{i:05d}", "name": f"Warga {i}", "village_code": LOMPOE},
        ).json
        case = post(
            client,
            fo,
            "/cases",
            {
                "kind": "service_request",
                "channel": "outreach",
                "person_id": person["id"],
                "description": "x",
            },
        ).json
        post(client, bo, f"/cases/{case['id']}/assess", {})
        post(
            client,
            manager,
            f"/cases/{case['id']}/decide",
            {"program_ids": [str(cast["ids"]["pbi"]), str(cast["ids"]["bpnt"])]},
        )
        assert post(client, manager, f"/cases/{case['id']}/refer").status_code == 200


def test_list_endpoints_do_not_grow_with_rows(app, client, parepare) -> None:
    ids = flow_catalog(app, parepare)
    cast = {
        "ids": ids,
        "fo": member(app, parepare, "front_office"),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
    }
    urls = [
        "/persons",
        "/cases",
        "/referrals",
        "/referrals?overdue=true",
        "/referrals/overdue-summary?group_by=agency",
    ]
    _referred(client, cast, 2, 1)
    small = {}
    for url in urls:
        get(client, cast["manager"], url)  # what the process keeps (rights, names) is loaded
        with counted() as statements:
            assert get(client, cast["manager"], url).status_code == 200
        small[url] = len(statements)
    _referred(client, cast, 6, 3)
    for url in urls:
        get(client, cast["manager"], url)
        with counted() as statements:
            resp = get(client, cast["manager"], url)
        assert resp.status_code == 200
        assert len(statements) == small[url], (url, small[url], len(statements))
    page = get(client, cast["manager"], "/referrals", query_string={"page_size": 50})
    assert len(page.json) == 16 and '"total": 16' in page.headers["X-Pagination"]
    # Pages of the list: each holds its own rows, newest first, under one total; past the last
    # page the list is empty and still says how many there are.
    pages = [
        get(client, cast["manager"], "/referrals", query_string={"page_size": 5, "page": n})
        for n in (1, 2, 3, 4, 5)
    ]
    shown = [r["id"] for p in pages for r in p.json]
    assert [len(p.json) for p in pages] == [5, 5, 5, 1, 0]
    assert shown == sorted(shown, reverse=True) and len(set(shown)) == 16
    assert all('"total": 16' in p.headers["X-Pagination"] for p in pages)
    nothing = get(client, cast["manager"], "/referrals", query_string={"status": "fulfilled"})
    assert nothing.json == [] and '"total": 0' in nothing.headers["X-Pagination"]
