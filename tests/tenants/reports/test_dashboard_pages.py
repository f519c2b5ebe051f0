"""The district dashboard and the monthly report as pages: the nightly figures and the live weekly
ones, each chart an SVG image drawn on the server with its numbers in a table beside it; the
monthly report asked for on a page and downloaded from its job. Same permission as the API."""

from __future__ import annotations

import datetime as dt
import re

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.platform.jobs.test_jobs import run_burst
from tests.platform.test_page_weight import BUDGET, weigh
from tests.scenarios.test_scheduled_work import LOMPOE, SOREANG, add_case
from tests.tenants.districts.pages import post, signed_in, text

P = "/t/parepare"
CHARTS = (
    "intakes-by-kind",
    "intakes-by-channel",
    "programs",
    "on-time",
    "overdue-by-kecamatan",
    "overdue-by-agency",
    "overdue-by-village",
    "villages",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _district(app, parepare) -> None:
    now = _now()
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000101", kind="complaint", channel="puskesos")
    add_case(
        app,
        parepare,
        LOMPOE,
        ticket="7372-2026-000102",
        created_at=now - dt.timedelta(days=15),
        referrals=[
            {"sent_at": now - dt.timedelta(days=15), "due_at": now - dt.timedelta(days=1)},
            {  # accepted in time, not yet served: still open, and now past its due date
                "program": "bpnt",
                "status": "accepted",
                "sent_at": now - dt.timedelta(days=14),
                "due_at": now - dt.timedelta(days=4),
                "responded_at": now - dt.timedelta(days=5),
            },
        ],
    )
    add_case(
        app,
        parepare,
        SOREANG,
        ticket="7372-2026-000103",
        channel="outreach",
        referrals=[
            {
                "status": "rejected",
                "sent_at": now - dt.timedelta(days=9),
                "due_at": now - dt.timedelta(days=3),
                "responded_at": now - dt.timedelta(hours=1),
            },
            {"sent_at": now - dt.timedelta(days=9), "due_at": now - dt.timedelta(days=2)},
        ],
    )


def _refresh(app, parepare) -> None:
    from slrt.tenants.reports.aggregates import refresh

    with app.app_context(), tenant_context(parepare.ref()):
        refresh()
        db.session.commit()
        db.session.remove()


def test_the_dashboard_shows_each_chart_with_its_numbers(app, parepare, monkeypatch) -> None:
    _district(app, parepare)
    _refresh(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare, "viewer")
    page = client.get(f"{P}/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = text(page)
    assert "Dasbor Kota Parepare" in shown
    assert "3 kasus 30 hari" in shown and "3 rujukan terlambat sekarang" in shown
    assert "50% dijawab tepat waktu" in shown  # one answered in time, one late
    # Every chart is an image of the page's own, with the numbers in a table beside it.
    for name in CHARTS:
        assert f'src="{P}/dashboard/{name}.svg"' in html, name
        chart = client.get(f"{P}/dashboard/{name}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml", name
        assert b"<script" not in chart.data and chart.data.startswith(b"<svg"), name
    table = re.search(r'<table[^>]*id="kinds".*?</table>', html, re.S).group(0)
    assert "Pengaduan" in table and "Permohonan layanan" in table
    channels = re.search(r'<table[^>]*id="channels".*?</table>', html, re.S).group(0)
    assert "Puskesos" in channels and "Penjangkauan" in channels
    overdue = re.search(r'<section class="card" id="overdue">.*?</section>', html, re.S).group(0)
    assert "Rujukan terlambat sekarang: 3" in text_of(overdue)
    assert "Bacukiki" in overdue and "Soreang" in overdue and "Dinas Kesehatan" in overdue
    programs = re.search(r'<table[^>]*id="programs".*?</table>', html, re.S).group(0)
    assert "PBI-JK" in programs or "PBI" in programs
    on_time = re.search(r'<table[^>]*id="on-time".*?</table>', html, re.S).group(0)
    assert "100%" in on_time and "0%" in on_time
    chart = client.get(f"{P}/dashboard/overdue-by-agency.svg").get_data(as_text=True)
    assert "Rujukan terlambat per OPD" in chart and "Dinas Kesehatan" in chart
    english = text(client.get(f"{P}/dashboard?lang=en"))  # one language per page
    assert "Intakes per week by kind" in english and "Overdue referrals now: 3" in english
    assert "Complaint" in english and "Pengaduan" not in english
    chart = client.get(f"{P}/dashboard/on-time.svg").get_data(as_text=True)
    assert "Referrals answered per week" in chart and "On time" in chart
    client.get(f"{P}/dashboard?lang=id")
    # With all eight charts, as a cold phone loads it.
    status, size, assets = weigh(client, f"{P}/dashboard")
    assert status == 200 and size < BUDGET, (size, assets)
    assert sum(1 for href in assets if href.endswith(".svg")) == len(CHARTS)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_before_the_first_nightly_run_the_weekly_figures_still_show(
    app, parepare, monkeypatch
) -> None:
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000201")
    client, _ = signed_in(app, monkeypatch, parepare)
    page = client.get(f"{P}/dashboard")
    assert page.status_code == 200
    assert "Rekap harian belum dihitung" in text(page)
    assert client.get(f"{P}/dashboard/programs.svg").status_code == 200


def test_a_district_without_any_case_still_gets_its_charts(app, parepare, monkeypatch) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    assert client.get(f"{P}/dashboard").status_code == 200
    for name in CHARTS:
        chart = client.get(f"{P}/dashboard/{name}.svg")
        assert chart.status_code == 200, name
        assert chart.data.startswith(b"<svg"), name


def test_the_dashboard_is_for_those_who_read_reports(app, parepare, monkeypatch) -> None:
    officer, _ = signed_in(app, monkeypatch, parepare, "agency_officer")
    assert officer.get(f"{P}/dashboard").status_code == 403
    assert officer.get(f"{P}/dashboard/villages.svg").status_code == 403
    assert f'href="{P}/dashboard"' not in officer.get(f"{P}/").get_data(as_text=True)
    admin, _ = signed_in(app, monkeypatch, parepare)
    assert f'href="{P}/dashboard"' in admin.get(f"{P}/").get_data(as_text=True)


def test_the_monthly_report_is_asked_for_and_downloaded(app, parepare, monkeypatch) -> None:
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000301")
    client, _ = signed_in(app, monkeypatch, parepare)
    page = client.get(f"{P}/dashboard/monthly")
    assert page.status_code == 200 and "Belum ada laporan." in text(page)
    wrong = post(client, f"{P}/dashboard/monthly", {"month": "2026-13"})
    assert wrong.status_code == 422 and 'id="f-month-error"' in wrong.get_data(as_text=True)
    month = _now().strftime("%Y-%m")
    resp = post(client, f"{P}/dashboard/monthly", {"month": month})
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    assert "Laporan bulanan" in text(client.get(job_url))
    run_burst()
    html = client.get(job_url).get_data(as_text=True)
    link = re.search(rf'href="([^"]+/files/laporan-bulanan-{month}\.pdf)"', html)
    assert link, text_of(html)
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert month in text(client.get(f"{P}/dashboard/monthly"))


def test_a_viewer_asks_for_the_monthly_report_but_has_no_job_pages(
    app, parepare, monkeypatch
) -> None:
    # A viewer (Bappeda, Camat) may ask for the report as through the API, but opens no job
    # pages (`jobs.read`): it stays on the report page, which lists no jobs.
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    resp = post(viewer, f"{P}/dashboard/monthly", {"month": _now().strftime("%Y-%m")})
    assert resp.status_code == 302 and resp.headers["Location"] == f"{P}/dashboard/monthly"
    page = viewer.get(f"{P}/dashboard/monthly")
    assert "sedang dibuat" in text(page) and "Laporan yang dibuat" not in text(page)
    assert "/jobs/" not in page.get_data(as_text=True)
