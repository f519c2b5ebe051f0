"""The home page after sign-in: the work waiting for this member, as counts that open the lists
they count (same region and agency scope), chosen from the member's permissions and scope (a
district's own roles included), the unread notifications; and the menu, whose every entry and
every counter's page exists."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenancy import tenant_context
from tests.fixtures import add_member, make_account, member
from tests.tenants.flow.desk import WEB, answer, listed, refer, set_due, web_client
from tests.tenants.flow.test_flow import LOMPOE, post

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def tiles(web) -> dict[str, tuple[int, str]]:
    """The home's counters: key -> (count, link)."""
    html = web.get(f"{WEB}/").get_data(as_text=True)
    found = re.findall(r'<a id="tile-([\w-]+)" href="([^"]+)"[^>]*><strong>(\d+)</strong>', html)
    return {key: (int(n), href.replace("&amp;", "&")) for key, href, n in found}


def test_every_menu_entry_and_every_counter_page_exists(app) -> None:
    from slrt.tenants.home.web import HOME_ENDPOINTS, MENU

    missing = [
        e for e in [m.endpoint for m in MENU] + list(HOME_ENDPOINTS) if e not in app.view_functions
    ]
    assert missing == []


def _required(view) -> str | None:
    while view is not None:
        if hasattr(view, "required_permission"):
            return view.required_permission
        view = getattr(view, "__wrapped__", None)
    return None


def test_a_menu_entry_is_shown_exactly_to_those_its_page_lets_in(app) -> None:
    """The menu's permission is the page's own: neither a link to a refusal nor a hidden page."""
    from slrt.tenants.home.web import MENU
    from slrt.tenants.reports.platform_web import KEMENSOS_MENU

    differ = [
        (m.endpoint, m.permission, _required(app.view_functions[m.endpoint]))
        for m in [*MENU, *KEMENSOS_MENU]
        if (str(m.permission) if m.permission else None)
        != _required(app.view_functions[m.endpoint])
    ]
    assert differ == []


def test_agency_officers_count_their_own_agency(app, client, parepare, cast) -> None:
    first, second = refer(client, cast), refer(client, cast)
    now = dt.datetime.now(dt.UTC)
    set_due(app, parepare, first["pbi"]["id"], now - dt.timedelta(days=2))
    set_due(app, parepare, second["pbi"]["id"], now + dt.timedelta(days=3))
    dinkes = web_client(app, cast["dinkes"])
    seen = tiles(dinkes)
    assert {k: n for k, (n, _) in seen.items()} == {
        "new-referrals": 2,
        "due-this-week": 1,
        "overdue-referrals": 1,
    }
    for key, (n, href) in seen.items():  # each count is what its list shows
        assert href.startswith(f"{WEB}/referrals?show="), href
        assert listed(dinkes.get(href)).count(" Tenggat ") == n, key
    assert 'class="alert"' in dinkes.get(f"{WEB}/").get_data(as_text=True)
    answer(dinkes, second["pbi"]["id"], "receive")
    assert tiles(dinkes)["new-referrals"][0] == 1
    dinsos = web_client(app, cast["dinsos"])
    assert {k: n for k, (n, _) in tiles(dinsos).items()} == {
        "new-referrals": 2,
        "due-this-week": 0,
        "overdue-referrals": 0,
    }


def test_facilitators_and_supervisors_count_their_region(app, client, parepare, cast) -> None:
    first, second = refer(client, cast), refer(client, cast)
    set_due(app, parepare, first["pbi"]["id"], dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    dinkes, dinsos = web_client(app, cast["dinkes"]), web_client(app, cast["dinsos"])
    for action, extra in (("receive", {}), ("accept", {}), ("fulfil", {"outcome": "KIS terbit"})):
        answer(dinkes, second["pbi"]["id"], action, **extra)
    answer(dinsos, second["bpnt"]["id"], "receive")
    answer(dinsos, second["bpnt"]["id"], "reject", reason="Sudah terdaftar")
    facilitator = web_client(app, cast["facilitator"])
    seen = tiles(facilitator)
    assert seen["follow-up"][0] == 1 and seen["follow-up"][1] == f"{WEB}/follow-up"
    assert seen["overdue-region"][0] == 1
    assert "Rujukan terlambat di desa/kelurahan saya" in facilitator.get(f"{WEB}/").get_data(
        as_text=True
    )
    assert listed(facilitator.get(seen["follow-up"][1])).count(second["ticket_number"]) == 1
    assert first["ticket_number"] in listed(facilitator.get(seen["overdue-region"][1]))
    outsider = tiles(web_client(app, cast["outsider"]))
    assert outsider["follow-up"][0] == 0 and outsider["overdue-region"][0] == 0
    supervisor = web_client(app, cast["supervisor"])
    seen = tiles(supervisor)
    assert seen["overdue-region"][0] == 1 and seen["follow-up"][0] == 1
    assert "Rujukan terlambat di kecamatan saya" in supervisor.get(f"{WEB}/").get_data(as_text=True)
    assert tiles(web_client(app, cast["far_supervisor"]))["overdue-region"][0] == 0
    # Nobody is shown another role's counters.
    assert set(tiles(dinkes)) == {"new-referrals", "due-this-week", "overdue-referrals"}
    assert "new-referrals" not in tiles(facilitator)


def test_a_districts_own_role_gets_the_counters_its_permissions_open(
    app, client, parepare, cast
) -> None:
    admin = member(app, parepare, "district_admin")
    role = post(
        client,
        admin,
        "/roles",
        {
            "key": "kader_desa",
            "name": "Kader desa",
            "permissions": ["tenant.read", "cases.read", "cases.follow_up", "referrals.read"],
        },
    )
    assert role.status_code == 201, role.json
    kader = add_member(
        app,
        parepare,
        make_account(app, "kader@example.id"),
        "kader_desa",
        scope_kind="village",
        scope_codes=[LOMPOE],
    )
    seen = tiles(web_client(app, kader))
    assert set(seen) == {"follow-up", "overdue-region"}
    html = web_client(app, kader).get(f"{WEB}/").get_data(as_text=True)
    assert "Tindak lanjut" in html and "Rujukan masuk" not in html  # the menu too


def test_desk_counters_when_the_case_list_exists(app, client, parepare, cast) -> None:
    if "cases_web.case_list" not in app.view_functions:
        pytest.skip("the case list page is not part of this build yet")
    refer(client, cast)
    extra = post(
        client,
        cast["fo"],
        "/cases",
        {"kind": "complaint", "channel": "puskesos", "person_id": cast["person"]["id"],
         "description": "Bantuan belum cair"},
    ).json  # fmt: skip
    fo, bo, manager = (web_client(app, cast[k]) for k in ("fo", "bo", "manager"))
    assert tiles(fo)["visits-today"][0] == 2
    assert tiles(bo)["to-assess"][0] == 1
    assert tiles(manager).get("to-decide", (0,))[0] == 0
    post(client, cast["bo"], f"/cases/{extra['id']}/assess", {"note": "cek"})
    assert tiles(manager)["to-decide"][0] == 1
    assert tiles(bo)["to-assess"][0] == 0
    # The front office of another kelurahan counts none of Lompoe's visits.
    other = member(
        app, parepare, "front_office", scope_kind="village", scope_codes=["73.72.03.1001"]
    )
    assert tiles(web_client(app, other))["visits-today"][0] == 0


def test_the_newest_unread_notifications_on_the_home(app, parepare, cast) -> None:
    from slrt.tenants.notifications.actions import notify

    with app.app_context(), tenant_context(parepare.ref()):
        for i in range(7):
            notify([cast["facilitator"].account_id], "test", Msg(f"Kabar {i}", f"News {i}"),
                   Msg("Isi", "Body"), dedup_key=f"t:{i}")  # fmt: skip
        db.session.commit()
        db.session.remove()
    web = web_client(app, cast["facilitator"])
    html = web.get(f"{WEB}/").get_data(as_text=True)
    assert (
        f'<a id="unread-notifications" href="{WEB}/notifications?unread=1">7 belum dibaca</a>'
        in html
    )
    shown = re.findall(r"Kabar (\d)", html)
    assert shown == ["6", "5", "4", "3", "2"]
    assert "/api/" not in html
