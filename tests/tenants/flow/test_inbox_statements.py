"""The referral list's statement is built once per caller's scope and filters and kept: callers
of different agencies and regions, asking in turn in one process, each get their own list, and
the kept statement is never another caller's."""

from __future__ import annotations

from tests.tenants.flow.desk import refer
from tests.tenants.flow.test_flow import get

pytest_plugins = ["tests.tenants.flow.desk"]


def _listed(client, user, **query) -> tuple[set[str], str]:
    resp = get(client, user, "/referrals", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return {r["id"] for r in resp.get_json()}, resp.headers["X-Pagination"]


def test_callers_in_turn_each_get_their_own_referrals(client, cast) -> None:
    referred = refer(client, cast)
    pbi, bpnt = referred["pbi"]["id"], referred["bpnt"]["id"]
    expected = {
        "dinkes": {pbi},  # an officer sees their own agency's referrals only
        "dinsos": {bpnt},
        "manager": {pbi, bpnt},
        "supervisor": {pbi, bpnt},  # Lompoe lies in their kecamatan
        "far_supervisor": set(),
        "outsider": set(),
    }
    # Twice, in two orders: the second time every caller's statement is a kept one.
    for order in (list(expected), list(reversed(expected))):
        for name in order:
            assert _listed(client, cast[name])[0] == expected[name], name
    # Filters and pages are part of what is kept, too.
    manager = cast["manager"]
    for _ in range(2):
        assert _listed(client, manager, agency_id=str(cast["ids"]["dinkes"]))[0] == {pbi}
        assert _listed(client, manager, agency_id=str(cast["ids"]["dinsos"]))[0] == {bpnt}
        first, paging = _listed(client, manager, page_size=1, page=1)
        second, _ = _listed(client, manager, page_size=1, page=2)
        assert first | second == {pbi, bpnt} and first != second, (first, second)
        assert '"total": 2' in paging, paging
        assert _listed(client, manager, page_size=1, page=3)[0] == set()
