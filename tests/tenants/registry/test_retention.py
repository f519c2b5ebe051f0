"""Retention by kind, run by the nightly job in every district: old audit events leave through
the break-glass (the purge is itself an event and the chain still verifies), a case closed long
ago is anonymised (its states and referral statistics stay), a person with no activity for the
period is erased; recent data is untouched."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.chain import (
    apply_platform_retention,
    verify_district,
    verify_platform,
)
from slrt.platform.jobs.models import Job
from slrt.platform.tenancy import tenant_context
from slrt.tenants.flow.models import Case, Referral
from slrt.tenants.registry.models import Person
from tests.fixtures import put_on_plan
from tests.platform.audit.test_read_coverage import _parepare
from tests.platform.jobs.test_jobs import ask, run_burst
from tests.privacy import NAME, seed_marked_person

YEARS_AGO = "now() - interval '11 years'"


def test_the_nightly_retention_purges_each_kind_after_its_period(app, admin_engine):
    parepare = _parepare(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    marked = seed_marked_person(app, parepare)
    with admin_engine.begin() as conn:  # the past, written as the superuser with triggers off
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            sa.text(
                f"UPDATE audit_events SET occurred_at = {YEARS_AGO} "
                "WHERE tenant_id = :t AND chain_seq <= 10"
            ),
            {"t": parepare.id},
        )
        conn.execute(
            sa.text(f"UPDATE cases SET status = 'closed', closed_at = {YEARS_AGO} WHERE id = :c"),
            {"c": marked.case_id},
        )
        # Baharuddin of the demo: proposed once, long ago, nothing since.
        conn.execute(
            sa.text(
                f"UPDATE persons SET updated_at = {YEARS_AGO} "
                "WHERE tenant_id = :t AND name = 'Baharuddin'"
            ),
            {"t": parepare.id},
        )
        conn.execute(
            sa.text(
                f"UPDATE dtks_proposals SET updated_at = {YEARS_AGO} WHERE tenant_id = :t "
                "AND person_id = (SELECT id FROM persons WHERE tenant_id = :t "
                "AND name = 'Baharuddin')"
            ),
            {"t": parepare.id},
        )
    job_id = ask(app, parepare, "privacy.retention")
    run_burst()

    with app.app_context(), tenant_context(parepare.ref()):
        job = db.session.get(Job, (parepare.id, job_id))
        assert job.status == "succeeded", job.error_summary
        assert job.result["audit_events"] == 10 and job.result["cases"] == 1
        assert job.result["persons"] == 1
        first = db.session.execute(sa.text("SELECT min(chain_seq) FROM audit_events")).scalar()
        purge = db.session.execute(
            sa.text("SELECT after FROM audit_events WHERE action = 'audit.purged'")
        ).scalar_one()
        assert first == 11 and purge["purged"] == 10 and purge["anchor_seq"] == 10
        assert verify_district("parepare").ok  # what remains verifies from the anchor
        case = db.session.get(Case, (parepare.id, marked.case_id))
        assert case.description == "(data dihapus)" and case.status == "closed"
        statuses = set(
            db.session.execute(
                sa.select(Referral.status).where(Referral.case_id == marked.case_id)
            ).scalars()
        )
        assert statuses == {"rejected", "fulfilled"}  # the statistics stay
        outcomes = db.session.execute(
            sa.select(Referral.outcome).where(Referral.case_id == marked.case_id)
        ).scalars()
        assert NAME not in " ".join(o or "" for o in outcomes)
        names = set(db.session.execute(sa.select(Person.name)).scalars())
        assert "Baharuddin" not in names and NAME in names  # the marked person is active
        actions = list(
            db.session.execute(
                sa.text("SELECT action FROM audit_events WHERE kind = 'erasure'")
            ).scalars()
        )
        assert sorted(actions) == ["case.retention", "person.erase"]
        db.session.remove()

    # The platform trail: its own nightly purge, recorded in it.
    with admin_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"UPDATE platform_audit_events SET occurred_at = {YEARS_AGO}"))
    with app.app_context():
        assert apply_platform_retention() >= 1
        assert verify_platform().ok
        db.session.remove()
