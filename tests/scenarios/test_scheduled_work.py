"""Scheduled work: SLA escalation with notifications, dashboard aggregates and their APIs, the
monthly district report, and the schedules fired through the scheduler's fan-out."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import flow_catalog, make_account, member
from tests.pdf import pdf_text

LOMPOE = "73.72.01.1004"  # kelurahan in Kecamatan Bacukiki (73.72.01)
SOREANG = "73.72.03.1001"  # another kecamatan of Parepare
UTC = dt.UTC


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def add_case(
    app,
    tenant,
    village: str,
    *,
    ticket: str,
    kind: str = "service_request",
    channel: str = "secretariat",
    created_at: dt.datetime | None = None,
    status: str = "referred",
    referrals: list[dict] | None = None,
) -> list[uuid.UUID]:
    """A case (with a household) and its referrals, written straight to the tables."""
    from slrt.tenants.flow.models import Case, Referral
    from slrt.tenants.programs.models import ProgramVersion
    from slrt.tenants.registry.models import Household

    ids = flow_catalog(app, tenant)
    with app.app_context(), tenant_context(tenant.ref()):
        household = Household(village_code=village, address="Jl. Contoh")
        db.session.add(household)
        db.session.flush()
        case = Case(
            ticket_number=ticket,
            kind=kind,
            channel=channel,
            household_id=household.id,
            village_code=village,
            description="Permohonan bantuan",
            status=status,
        )
        if created_at is not None:
            case.created_at = created_at
        db.session.add(case)
        db.session.flush()
        out = []
        for spec in referrals or []:
            program_key = spec.pop("program", "pbi")
            version = db.session.execute(
                sa.select(ProgramVersion)
                .where(ProgramVersion.program_id == ids[program_key])
                .order_by(ProgramVersion.version.desc())
                .limit(1)
            ).scalar_one()
            referral = Referral(
                case_id=case.id,
                program_id=ids[program_key],
                program_version_id=version.id,
                program_version=version.version,
                program_name=version.name,
                agency_id=version.agency_id,
                agency_name="Dinas Kesehatan" if program_key == "pbi" else "Dinas Sosial",
                deadline_days=version.deadline_days,
                village_code=village,
                **{"status": "sent", **spec},
            )
            db.session.add(referral)
            db.session.flush()
            out.append(referral.id)
        db.session.commit()
        db.session.remove()
        return out


def api(client, user, method: str, url: str, tenant=None, **kw):
    prefix = f"/api/v1/t/{tenant.slug}" if tenant is not None else "/api/v1"
    return client.open(prefix + url, method=method, headers=user.headers, **kw)


# --- escalation ---------------------------------------------------------------------------------


def _escalate(app, tenant, at: dt.datetime) -> dict:
    from slrt.platform.actor import SYSTEM, acting_as
    from slrt.tenants.flow.escalation import escalate_overdue

    with app.app_context(), tenant_context(tenant.ref()), acting_as(SYSTEM):
        counts = escalate_overdue(at=at)
        db.session.commit()
        db.session.remove()
        return counts


def _notified(app, tenant) -> list[tuple[uuid.UUID, str]]:
    from slrt.tenants.notifications.models import Notification

    with app.app_context(), tenant_context(tenant.ref()):
        rows = db.session.execute(
            sa.select(Notification.account_id, Notification.dedup_key).order_by(
                Notification.created_at, Notification.account_id
            )
        ).all()
        db.session.remove()
        return [tuple(r) for r in rows]


def test_escalation_climbs_supervisor_manager_district_by_region_once(
    app, client, parepare, parepare_admin
) -> None:
    sup_bacukiki = member(
        app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"]
    )
    sup_soreang = member(
        app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.03"]
    )
    manager = member(app, parepare, "manager")
    manager_soreang = member(app, parepare, "manager", scope_kind="village", scope_codes=[SOREANG])
    t0 = _now()
    (late,) = add_case(
        app,
        parepare,
        LOMPOE,
        ticket="PRP-2026-000001",
        referrals=[{"sent_at": t0 - dt.timedelta(days=20), "due_at": t0 - dt.timedelta(days=6)}],
    )
    add_case(
        app,
        parepare,
        LOMPOE,
        ticket="PRP-2026-000002",
        referrals=[{"sent_at": t0, "due_at": t0 + dt.timedelta(days=14)}],
    )

    # Step 1: the supervisor of Bacukiki only (not Soreang's), recorded on the referral.
    assert _escalate(app, parepare, t0)["escalated"] == 1
    assert _notified(app, parepare) == [(sup_bacukiki.account_id, f"escalation:{late}:1")]
    # Same hour again, and a day minus an hour later: nothing new.
    assert _escalate(app, parepare, t0 + dt.timedelta(minutes=30))["escalated"] == 0
    assert _escalate(app, parepare, t0 + dt.timedelta(hours=23))["escalated"] == 0
    assert len(_notified(app, parepare)) == 1
    shown = api(client, parepare_admin, "GET", f"/referrals/{late}", parepare).json
    assert (shown["escalation_level"], shown["district_flagged"]) == (1, False)
    assert dt.datetime.fromisoformat(shown["escalated_at"]) == t0

    # Step 2, 24 h later: the district-wide manager, not the manager of Soreang only.
    assert _escalate(app, parepare, t0 + dt.timedelta(hours=24))["level_2"] == 1
    assert _notified(app, parepare)[1:] == [(manager.account_id, f"escalation:{late}:2")]
    assert manager_soreang.account_id not in {a for a, _ in _notified(app, parepare)}

    # Step 3: the district admin, and the referral is flagged to the district.
    assert _escalate(app, parepare, t0 + dt.timedelta(hours=48))["level_3"] == 1
    assert _notified(app, parepare)[2:] == [(parepare_admin.account_id, f"escalation:{late}:3")]
    assert _escalate(app, parepare, t0 + dt.timedelta(days=10))["escalated"] == 0  # top reached
    assert len(_notified(app, parepare)) == 3
    shown = api(client, parepare_admin, "GET", f"/referrals/{late}", parepare).json
    assert (shown["escalation_level"], shown["district_flagged"]) == (3, True)

    from slrt.platform.audit.models import AuditEvent
    from slrt.tenants.flow.models import Transition

    with app.app_context(), tenant_context(parepare.ref()):
        trail = db.session.execute(
            sa.select(Transition.action, Transition.note, Transition.actor_label)
            .where(Transition.referral_id == late)
            .order_by(Transition.occurred_at)
        ).all()
        assert [t.action for t in trail] == ["escalate"] * 3
        assert [t.note.split(" (")[0] for t in trail] == [
            "Eskalasi tingkat 1",
            "Eskalasi tingkat 2",
            "Eskalasi tingkat 3",
        ]
        audits = db.session.execute(
            sa.select(AuditEvent.after).where(AuditEvent.action == "referral.escalate")
        ).scalars()
        assert sorted(a["escalation_level"] for a in audits) == [1, 2, 3]
        db.session.remove()

    # The supervisor reads the notification (both languages, link to the referral's page), marks
    # it read.
    mine = api(client, sup_bacukiki, "GET", "/notifications?unread=true", parepare).json
    assert len(mine) == 1
    assert "PRP-2026-000001" in mine[0]["title"] and "overdue" in mine[0]["title_en"]
    assert mine[0]["link"] == f"/t/{parepare.slug}/referrals/{late}"
    assert mine[0]["referral_id"] == str(late)
    assert mine[0]["read"] is False
    assert api(client, sup_bacukiki, "GET", "/notifications/unread-count", parepare).json == {
        "unread": 1
    }
    # Someone else's notification is not found.
    assert api(client, sup_soreang, "GET", "/notifications", parepare).json == []
    other = api(client, sup_soreang, "POST", f"/notifications/{mine[0]['id']}/read", parepare)
    assert other.status_code == 404
    done = api(client, sup_bacukiki, "POST", f"/notifications/{mine[0]['id']}/read", parepare)
    assert done.status_code == 200 and done.json["read"] is True
    assert api(client, sup_bacukiki, "GET", "/notifications?unread=true", parepare).json == []
    assert len(api(client, sup_bacukiki, "GET", "/notifications", parepare).json) == 1
    assert api(client, manager, "POST", "/notifications/read-all", parepare).json == {"marked": 1}


def test_escalation_is_bounded_per_run(app, parepare) -> None:
    from slrt.platform.actor import SYSTEM, acting_as
    from slrt.tenants.flow.escalation import escalate_overdue

    t0 = _now()
    for i in range(3):
        add_case(
            app,
            parepare,
            LOMPOE,
            ticket=f"PRP-2026-00001{i}",
            referrals=[
                {"sent_at": t0 - dt.timedelta(days=9), "due_at": t0 - dt.timedelta(days=i + 1)}
            ],
        )
    with app.app_context(), tenant_context(parepare.ref()), acting_as(SYSTEM):
        assert escalate_overdue(at=t0, limit=2)["escalated"] == 2
        assert escalate_overdue(at=t0, limit=2)["escalated"] == 1  # the rest, next run
        db.session.commit()
        db.session.remove()


# --- aggregates -----------------------------------------------------------------------------------


def _known_parepare_cases(app, parepare) -> None:
    """4 intakes (3 in the last 30 days in 2 villages), 4 referrals: 1 answered on time,
    1 answered late, 1 overdue, 1 pending."""
    t0 = _now()
    add_case(
        app,
        parepare,
        LOMPOE,
        ticket="PRP-2026-000101",
        channel="puskesos",
        referrals=[
            {
                "program": "pbi",
                "status": "fulfilled",
                "sent_at": t0 - dt.timedelta(days=10),
                "due_at": t0 - dt.timedelta(days=3),
                "responded_at": t0 - dt.timedelta(days=5),
            },
            {
                "program": "bpnt",
                "status": "rejected",
                "sent_at": t0 - dt.timedelta(days=10),
                "due_at": t0 - dt.timedelta(days=3),
                "responded_at": t0 - dt.timedelta(days=1),
            },
        ],
    )
    add_case(
        app,
        parepare,
        SOREANG,
        ticket="PRP-2026-000102",
        kind="complaint",
        referrals=[
            {
                "program": "pbi",
                "sent_at": t0 - dt.timedelta(days=9),
                "due_at": t0 - dt.timedelta(days=2),
            },
            {"program": "pbi", "status": "pending"},
        ],
    )
    add_case(app, parepare, SOREANG, ticket="PRP-2026-000103", kind="question", status="closed")
    add_case(
        app,
        parepare,
        "73.72.02.1001",
        ticket="PRP-2026-000104",
        created_at=t0 - dt.timedelta(days=45),
    )


def _refresh(app, tenant) -> None:
    from slrt.tenants.reports.aggregates import refresh

    with app.app_context(), tenant_context(tenant.ref()):
        refresh()
        db.session.commit()
        db.session.remove()


def test_aggregates_are_right_and_each_viewer_sees_what_it_may(
    app, client, parepare, kendal, kemensos_admin
) -> None:
    _known_parepare_cases(app, parepare)
    kendal_village = _first_village(app, kendal)
    add_case(app, kendal, kendal_village, ticket="KDL-2026-000001", channel="outreach")
    parepare_viewer = member(app, parepare, "viewer")
    kendal_viewer = member(app, kendal, "viewer")
    missing = api(client, parepare_viewer, "GET", "/dashboard", parepare)
    assert missing.status_code == 404 and "belum dihitung" in missing.json["detail"]
    _refresh(app, parepare)
    _refresh(app, kendal)

    own = api(client, parepare_viewer, "GET", "/dashboard", parepare).json
    assert own["district"]["code"] == "73.72"
    assert own["intakes_total"] == 4
    assert own["intakes_last_30_days"] == 3
    assert own["intakes_by_kind"] == {"complaint": 1, "question": 1, "service_request": 2}
    assert own["intakes_by_channel"] == {"puskesos": 1, "secretariat": 3}
    assert own["referrals_total"] == 4
    assert own["referrals_by_outcome"] == {
        "pending": 1,
        "in_progress": 1,
        "fulfilled": 1,
        "rejected": 1,
    }
    programs = sorted(own["referrals_by_program"], key=lambda p: p["total"])
    assert [(p["total"], p["fulfilled"], p["rejected"], p["pending"], p["in_progress"])
            for p in programs] == [(1, 0, 1, 0, 0), (3, 1, 0, 1, 1)]  # fmt: skip
    assert (own["referrals_answered"], own["referrals_on_time"], own["on_time_rate"]) == (
        1 + 1,
        1,
        0.5,
    )
    assert own["referrals_overdue"] == 1
    assert own["active_villages"] == 2
    assert own["open_cases"] == 3
    # A district sees its own figures only (Kendal's viewer gets Kendal's; Parepare's slug: 404).
    theirs = api(client, kendal_viewer, "GET", "/dashboard", kendal).json
    assert (theirs["district"]["code"], theirs["intakes_total"]) == ("33.24", 1)
    assert api(client, kendal_viewer, "GET", "/dashboard", parepare).status_code == 404

    # Kemensos: every district and the national totals; nothing personal in the payload.
    national = api(client, kemensos_admin, "GET", "/dashboard").json
    assert [d["district"]["code"] for d in national["districts"]] == ["33.24", "73.72"]
    assert national["national"]["intakes_total"] == 5
    assert national["national"]["districts"] == 2
    assert national["national"]["intakes_by_channel"] == {
        "outreach": 1,
        "puskesos": 1,
        "secretariat": 3,
    }
    text = str(national)
    for personal in ("PRP-2026-0001", "KDL-2026", "Jl. Contoh", LOMPOE, "household", "nik"):
        assert personal not in text
    filtered = api(client, kemensos_admin, "GET", "/dashboard?province_code=33").json
    assert [d["district"]["code"] for d in filtered["districts"]] == ["33.24"]

    # A provincial viewer of Sulawesi Selatan (73) sees Parepare only, whatever it asks for.
    sulsel = make_account(app, "pemantau@sulselprov.go.id", platform_role="provincial_viewer",
                          province_code="73")  # fmt: skip
    seen = api(client, sulsel, "GET", "/dashboard").json
    assert [d["district"]["code"] for d in seen["districts"]] == ["73.72"]
    assert seen["national"]["intakes_total"] == 4
    assert api(client, sulsel, "GET", "/dashboard?province_code=33").json["districts"] == []
    # A district member without a platform role cannot read the national dashboard.
    assert api(client, parepare_viewer, "GET", "/dashboard").status_code == 403


def _first_village(app, tenant) -> str:
    from slrt.tenants.regions.models import Village

    with app.app_context(), tenant_context(tenant.ref()):
        code = db.session.execute(sa.select(Village.code).order_by(Village.code).limit(1)).scalar()
        db.session.remove()
        return code


# --- monthly report -----------------------------------------------------------------------------


def test_monthly_report_on_demand_files_and_numbers(app, client, parepare, parepare_admin) -> None:
    from slrt.tenants.reports.monthly import month_bounds, previous_month
    from tests.platform.jobs.test_jobs import run_burst

    month = previous_month(_now().date())  # a whole month, already over
    start, _end = month_bounds(month)
    add_case(
        app,
        parepare,
        LOMPOE,
        ticket="PRP-2026-000201",
        created_at=start + dt.timedelta(hours=1),
        referrals=[
            {
                "program": "pbi",
                "sent_at": start + dt.timedelta(hours=2),
                "due_at": start + dt.timedelta(hours=3),
            },
            {
                "program": "bpnt",
                "status": "accepted",
                "sent_at": start + dt.timedelta(hours=2),
                "due_at": start + dt.timedelta(days=40),
                "responded_at": start + dt.timedelta(hours=4),
            },
        ],
    )
    add_case(
        app,
        parepare,
        SOREANG,
        ticket="PRP-2025-000999",
        kind="complaint",
        created_at=start - dt.timedelta(days=3),  # the month before: not counted
    )
    bad = api(client, parepare_admin, "POST", "/reports/monthly?month=2026-13", parepare)
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"] == "month"
    asked = api(client, parepare_admin, "POST", f"/reports/monthly?month={month}", parepare)
    assert asked.status_code == 202, asked.json
    run_burst()
    job = api(client, parepare_admin, "GET", f"/jobs/{asked.json['id']}", parepare).json
    assert job["status"] == "succeeded", job
    names = sorted(f["name"] for f in job["files"])
    assert names == [f"laporan-bulanan-{month}.pdf", f"laporan-bulanan-{month}.xlsx"]

    xlsx = api(
        client, parepare_admin, "GET", f"/jobs/{job['id']}/files/laporan-bulanan-{month}.xlsx",
        parepare,
    )  # fmt: skip
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert book.sheetnames == ["Ringkasan", "Layanan", "Rujukan per program", "Terlambat per OPD"]
    summary = {r[0]: r[1] for r in book["Ringkasan"].iter_rows(values_only=True)}
    assert summary["Bulan / month"] == month
    assert summary["Layanan masuk / intakes"] == 1
    assert summary["Rujukan dikirim / referrals sent"] == 2
    assert summary["Rujukan dijawab / referrals answered"] == 1
    assert summary["Tingkat tepat waktu / on-time rate"] == 1
    assert summary["Rujukan terlambat / overdue referrals"] == 1
    overdue = list(book["Terlambat per OPD"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[1]) for r in overdue] == [("Dinas Kesehatan", "PRP-2026-000201")]
    assert "PRP-2025-000999" not in str(list(book["Terlambat per OPD"].values))

    pdf = api(
        client, parepare_admin, "GET", f"/jobs/{job['id']}/files/laporan-bulanan-{month}.pdf",
        parepare,
    ).data  # fmt: skip
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert month in text and "PRP-2026-000201" in text and "Dinas Kesehatan" in text


# --- the schedules ------------------------------------------------------------------------------


def test_schedules_fire_through_the_fan_out(app, client, parepare, kendal, parepare_admin) -> None:
    from slrt.auth.oauth.models import AuthorizationCode
    from slrt.platform.jobs.models import Job, JobSchedule
    from slrt.platform.jobs.scheduler import sync_schedules, tick
    from tests.auth.oauth.test_purge import _code
    from tests.platform.jobs.test_jobs import run_burst

    t0 = _now()
    (late,) = add_case(
        app,
        parepare,
        LOMPOE,
        ticket="PRP-2026-000301",
        referrals=[{"sent_at": t0 - dt.timedelta(days=20), "due_at": t0 - dt.timedelta(days=6)}],
    )
    with app.app_context():
        db.session.add(_code(parepare_admin.account_id, -dt.timedelta(days=3)))
        db.session.commit()
        sync_schedules(now=dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
        keys = dict(db.session.execute(sa.select(JobSchedule.key, JobSchedule.kind)).all())
        assert {
            "escalate-overdue-referrals": "referrals.escalate",
            "refresh-aggregates": "reports.aggregates",
            "monthly-report": "reports.monthly",
            "purge-oauth": "auth.purge_oauth",
        }.items() <= keys.items()
        db.session.remove()
    tick(now=dt.datetime(2026, 1, 1, 20, 1, tzinfo=UTC))
    tick(now=dt.datetime(2026, 1, 1, 20, 2, tzinfo=UTC))  # same periods: nothing new
    with app.app_context():
        # The OAuth purge ran once, at platform level.
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(AuthorizationCode)).scalar()
            == 0
        )
        purge = db.session.get(JobSchedule, "purge-oauth")
        assert purge.last_run_at == dt.datetime(2026, 1, 1, 20, 1, tzinfo=UTC)
        db.session.remove()
    run_burst()
    for tenant in (parepare, kendal):
        with app.app_context(), tenant_context(tenant.ref()):
            jobs = db.session.execute(sa.select(Job.kind, Job.status, Job.params)).all()
            by_kind = {j.kind: j for j in jobs}
            assert len(jobs) == len(by_kind)  # once per period per district
            for kind in ("referrals.escalate", "reports.aggregates", "reports.monthly"):
                assert by_kind[kind].status == "succeeded", (tenant.slug, kind)
            assert "auth.purge_oauth" not in by_kind
            db.session.remove()
    shown = api(client, parepare_admin, "GET", f"/referrals/{late}", parepare).json
    assert shown["escalation_level"] == 1
    assert api(client, parepare_admin, "GET", "/dashboard", parepare).json["intakes_total"] == 1
    monthly = api(client, parepare_admin, "GET", "/jobs?kind=reports.monthly", parepare).json
    assert sorted(f["name"] for f in monthly[0]["files"]) == [
        "laporan-bulanan-2025-12.pdf",
        "laporan-bulanan-2025-12.xlsx",
    ]


@pytest.mark.parametrize(
    "day,expected", [(dt.date(2026, 1, 1), "2025-12"), (dt.date(2026, 3, 1), "2026-02")]
)
def test_previous_month(day: dt.date, expected: str) -> None:
    from slrt.tenants.reports.monthly import previous_month

    assert previous_month(day) == expected


def test_dashboard_page_shows_the_unread_count(app, parepare, monkeypatch) -> None:
    from slrt.platform.errors import Msg
    from slrt.tenants.notifications.actions import notify
    from tests.auth.signin.test_web_signin import PASSWORD, sign_in
    from tests.fixtures import set_password

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    web = app.test_client()
    user = member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"])
    set_password(app, user, PASSWORD)
    with app.app_context(), tenant_context(parepare.ref()):
        for n in range(2):
            notify([user.account_id], "test", Msg("Judul", "Title"), Msg("Isi", "Body"),
                   dedup_key=f"test:{n}")  # fmt: skip
        db.session.commit()
        db.session.remove()
    html = sign_in(web, user.email).get_data(as_text=True)
    assert (
        '<a id="unread-notifications" href="/t/parepare/notifications?unread=1">2 belum dibaca</a>'
        in html
    )
