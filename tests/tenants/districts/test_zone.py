"""A district's time zone: its province's by default (Parepare: WITA), changed by its admin
through the profile (audited), and followed by what the district reads as a date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member
from tests.pdf import pdf_text
from tests.scenarios.test_scheduled_work import LOMPOE, add_case

PROFILE = "/api/v1/t/parepare/profile"


def _patch(client, user, body: dict):
    etag = client.get(PROFILE, headers=user.headers).headers["ETag"]
    return client.patch(PROFILE, json=body, headers={**user.headers, "If-Match": etag})


def test_the_district_admin_sets_the_zone_through_the_profile(
    app, client, parepare, parepare_admin
) -> None:
    assert client.get(PROFILE, headers=parepare_admin.headers).json["timezone"] == "Asia/Makassar"
    bad = _patch(client, parepare_admin, {"timezone": "Asia/Tokyo"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "timezone"
    manager = member(app, parepare, "manager")
    assert _patch(client, manager, {"timezone": "Asia/Jayapura"}).status_code == 403

    ok = _patch(client, parepare_admin, {"timezone": "Asia/Jayapura"})
    assert ok.status_code == 200, ok.json
    assert ok.json["timezone"] == "Asia/Jayapura"
    assert ok.json["letterhead"]["city"] == "Parepare"  # the letterhead is untouched
    with app.app_context(), tenant_context(parepare.ref()):
        from slrt.platform.tenant import Tenant

        assert db.session.get(Tenant, parepare.id).ref().zone == "Asia/Jayapura"
        db.session.remove()
    trail = client.get(
        "/api/v1/t/parepare/audit-events?entity_type=tenant", headers=parepare_admin.headers
    ).json
    assert trail[0]["action"] == "profile.timezone"
    assert trail[0]["before"] == {"timezone": "Asia/Makassar"}
    assert trail[0]["after"] == {"timezone": "Asia/Jayapura"}
    # null gives the district back its province's zone; a letterhead change alone still works
    back = _patch(client, parepare_admin, {"timezone": None, "letterhead": {"city": "Pare-Pare"}})
    assert back.status_code == 200
    assert (back.json["timezone"], back.json["letterhead"]["city"]) == (
        "Asia/Makassar",
        "Pare-Pare",
    )
    assert _patch(client, parepare_admin, {"letterhead": {}}).status_code == 422  # no change


def test_a_letter_issued_after_the_districts_midnight_carries_its_date(
    app, client, parepare
) -> None:
    from slrt.tenants.flow.models import Letter

    [referral] = add_case(
        app, parepare, LOMPOE, ticket="7372-2027-000001", referrals=[{"program": "pbi"}]
    )
    # 00:30 on 1 January 2027 in Parepare is still 31 December 2026 in UTC.
    issued = dt.datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Makassar"))
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.add(
            Letter(
                referral_id=referral,
                number="400.9/0001/SLRT/2027",
                token="t" * 43,
                signer_name="Manajer",
                signer_title="Manajer SLRT",
                issued_at=issued,
            )
        )
        db.session.commit()
        db.session.remove()
    public = client.get(f"/api/v1/t/parepare/public/letters/{'t' * 43}")
    assert public.status_code == 200 and public.json["issued_on"] == "2027-01-01"
    with app.app_context(), tenant_context(parepare.ref()):
        from slrt.platform.tenant import Tenant
        from slrt.tenants.flow.letters import render_pdf

        pdf = render_pdf(
            tenant=db.session.get(Tenant, parepare.id),
            letter=db.session.execute(sa.select(Letter)).scalar_one(),
            person={},
            program_name="PBI-JK",
            agency_name="Dinas Kesehatan",
            ticket_number="7372-2027-000001",
            needs=[],
        )
        db.session.remove()
    assert "1 Januari 2027" in pdf_text(pdf)  # was 31 Desember 2026: UTC's date
