"""The Kemensos console's figures in the test client: the national table (sorted, filtered), the
province summary, the trend chart with its numbers, the drill-down into one district, all from
aggregates; what a provincial viewer sees; who is turned away."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from slrt.platform import db
from tests.fixtures import make_account, member, set_password
from tests.web import PASSWORD, sign_in


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return app.test_client()


def aggregates(app, tenant, days: int, *, intakes_per_day: int, overdue: int = 0) -> None:
    """A district's nightly figures for the last `days` days (counts only, as the job writes)."""
    from slrt.tenants.reports.models import DistrictAggregate

    today = dt.datetime.now(dt.UTC).date()
    with app.app_context():
        for n in range(days):
            day = today - dt.timedelta(days=days - 1 - n)
            total = intakes_per_day * (n + 1)
            db.session.add(
                DistrictAggregate(
                    district_id=tenant.id,
                    day=day,
                    computed_at=dt.datetime.combine(day, dt.time(18), tzinfo=dt.UTC),
                    intakes_total=total,
                    intakes_last_30_days=min(total, intakes_per_day * 30),
                    referrals_total=total // 2,
                    referrals_answered=total // 4,
                    referrals_on_time=total // 8,
                    referrals_overdue=overdue,
                    active_villages=3,
                    open_cases=5,
                    intakes_by_kind={"complaint": 1, "service_request": total - 1},
                    intakes_by_channel={"puskesos": total},
                    referrals_by_outcome={"fulfilled": total // 4, "pending": total // 4},
                    referrals_by_program=[
                        {
                            "program": "PBI-JK",
                            "total": total // 2,
                            "pending": 0,
                            "in_progress": 0,
                            "fulfilled": total // 2,
                            "rejected": 0,
                        }
                    ],
                )
            )
        db.session.commit()
        db.session.remove()


def kemensos(app, role: str = "kemensos_admin", province: str | None = None, email: str = ""):
    user = make_account(
        app,
        email or f"{role}{province or ''}@kemensos.go.id",
        platform_role=role,
        province_code=province,
    )
    return set_password(app, user, PASSWORD)


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr class="district-row">\s*<td[^>]*><a href="[^"]+">([^<]+)</a>', html)


def test_the_national_table_sorts_filters_and_shows_counts(app, web, parepare, kendal) -> None:
    aggregates(app, parepare, 5, intakes_per_day=2, overdue=3)
    aggregates(app, kendal, 5, intakes_per_day=7)
    member(app, parepare, "facilitator")
    member(app, parepare, "front_office")
    admin = kemensos(app)
    assert sign_in(web, admin.email).request.path == "/auth/choose"
    chooser = web.get("/auth/choose").get_data(as_text=True)
    assert 'href="/kemensos/"' in chooser and "Konsol Kemensos" in chooser
    html = web.get("/kemensos/").get_data(as_text=True)
    assert rows_of(html) == ["Kabupaten Kendal", "Kota Parepare"]  # by name
    assert re.search(r'data-label="Staf aktif">2<', html)  # Parepare's two members
    by_intakes = web.get("/kemensos/?sort=intakes&dir=desc").get_data(as_text=True)
    assert rows_of(by_intakes) == ["Kabupaten Kendal", "Kota Parepare"]
    by_overdue = web.get("/kemensos/?sort=overdue&dir=desc").get_data(as_text=True)
    assert rows_of(by_overdue) == ["Kota Parepare", "Kabupaten Kendal"]
    assert rows_of(web.get("/kemensos/?province=73").get_data(as_text=True)) == ["Kota Parepare"]
    assert rows_of(web.get("/kemensos/?q=kendal").get_data(as_text=True)) == ["Kabupaten Kendal"]
    assert rows_of(web.get("/kemensos/?status=suspended").get_data(as_text=True)) == []
    # Nothing personal: no member's email or name reaches the table.
    assert "@example.id" not in html
    provinces = web.get("/kemensos/provinces").get_data(as_text=True)
    assert "SULAWESI SELATAN" in provinces.upper() and "JAWA TENGAH" in provinces.upper()


def test_trend_and_drill_down_show_a_chart_and_its_numbers(app, web, parepare) -> None:
    aggregates(app, parepare, 10, intakes_per_day=4, overdue=1)
    admin = kemensos(app)
    sign_in(web, admin.email)
    trend = web.get("/kemensos/trend?days=30").get_data(as_text=True)
    chart = re.search(r'<img src="(/kemensos/trend\.svg[^"]*)"', trend).group(1)
    assert 'alt="' in trend and "trend-table" in trend
    # Nine days have a day before them: each shows 4 new intakes in the table.
    assert trend.count('data-label="Kasus baru">4<') == 9
    svg = web.get(chart.replace("&amp;", "&"))
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    body = svg.get_data(as_text=True)
    assert body.startswith("<svg") and "<script" not in body and "Kasus baru" in body
    assert "style-src 'unsafe-inline'" in svg.headers["Content-Security-Policy"]
    page = web.get(f"/kemensos/districts/{parepare.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Kota Parepare" in html
    assert f'src="/kemensos/districts/{parepare.id}/trend.svg"' in html
    assert f'src="/kemensos/districts/{parepare.id}/programs.svg"' in html
    assert "PBI-JK" in html and 'id="figures"' in html
    programs = web.get(f"/kemensos/districts/{parepare.id}/programs.svg").get_data(as_text=True)
    assert "PBI-JK" in programs and "Dilayani" in programs
    english = web.get(f"/kemensos/districts/{parepare.id}?lang=en").get_data(as_text=True)
    assert "Referrals by program" in english and "Rujukan per program" not in english


def test_a_provincial_viewer_sees_only_its_province(app, web, parepare, kendal) -> None:
    aggregates(app, parepare, 2, intakes_per_day=1)
    aggregates(app, kendal, 2, intakes_per_day=1)
    viewer = kemensos(app, "provincial_viewer", "33", email="pemantau@jatengprov.go.id")
    sign_in(web, viewer.email)
    html = web.get("/kemensos/").get_data(as_text=True)
    assert rows_of(html) == ["Kabupaten Kendal"]
    assert rows_of(web.get("/kemensos/?province=73").get_data(as_text=True)) == []
    for url in (
        f"/kemensos/districts/{parepare.id}",
        f"/kemensos/districts/{parepare.id}/trend.svg",
        f"/kemensos/districts/{parepare.id}/plan",
    ):
        assert web.get(url).status_code == 404, url
    assert web.get(f"/kemensos/districts/{kendal.id}").status_code == 200
    # The menu offers only what a viewer may open; management pages refuse.
    assert "Jejak audit" not in html and "Tambah kabupaten/kota" not in html
    assert web.get("/kemensos/audit").status_code == 403
    assert web.get(f"/kemensos/districts/{kendal.id}/manage").status_code == 403


def test_the_console_is_not_there_for_others(app, web, parepare) -> None:
    stranger = app.test_client()
    resp = stranger.get("/kemensos/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/auth/login?next=")
    staff = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(web, staff.email)
    assert web.get("/kemensos/").status_code == 404
    assert web.get(f"/kemensos/districts/{parepare.id}").status_code == 404
