"""The audit trail cannot be rewritten: not by the app, not by the schema owner; the hash chain
shows an edit or a gap made by anyone who could get round that (the superuser), and the
retention break-glass purges a prefix that still verifies and is itself recorded."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.chain import purge_district_before, verify_district
from slrt.platform.audit.cli import audit as audit_group
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record, record_platform
from slrt.platform.tenancy import tenant_context


def _write_events(app, tenant, n: int) -> None:
    with app.app_context():
        with tenant_context(tenant.ref()):
            for i in range(n):
                record(AuditKind.config, "test.thing", "thing", str(i), after={"i": i})
            db.session.commit()
        record_platform(AuditKind.config, "test.platform", "thing", "p")
        db.session.commit()
        db.session.remove()


def _verify(app, *args: str):
    return app.test_cli_runner().invoke(audit_group, ["verify", *args])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET note = 'rewritten'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "UPDATE platform_audit_events SET note = 'rewritten'",
        "DELETE FROM platform_audit_events",
        "TRUNCATE platform_audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        ("SELECT set_config('slrt.audit_purge', 'on', true)", "DELETE FROM audit_events"),
    ],
)
def test_the_schema_owner_cannot_rewrite_the_trail(app, parepare, owner_engine, statement):
    _write_events(app, parepare, 2)
    tenant = sa.text(f"SELECT set_config('slrt.tenant_id', '{parepare.id}', true)")
    count = sa.text(
        "SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM platform_audit_events)"
    )
    with owner_engine.connect() as conn:
        with conn.begin():
            conn.execute(tenant)
            before = tuple(conn.execute(count).one())
        with pytest.raises(sa.exc.DBAPIError) as refused, conn.begin():
            conn.execute(tenant)
            for part in (statement,) if isinstance(statement, str) else statement:
                conn.execute(sa.text(part))
        message = str(refused.value)
        assert any(
            reason in message for reason in ("must be owner", "permission denied", "append-only")
        ), message
        with conn.begin():
            conn.execute(tenant)
            after = tuple(conn.execute(count).one())
    assert after == before and after[0] >= 2


def test_triggers_refuse_even_the_table_owner(app, parepare, admin_engine):
    """Before `seal-audit` (and while unsealed for a migration) the schema owner owns the
    tables: the triggers alone still refuse. Shown as the superuser, who owns everything."""
    _write_events(app, parepare, 1)
    for statement in ("UPDATE audit_events SET note = 'x'", "DELETE FROM audit_events",
                      "TRUNCATE audit_events"):  # fmt: skip
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), admin_engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_verify_reports_a_planted_edit_and_a_gap(app, parepare, kendal, admin_engine):
    _write_events(app, parepare, 5)
    _write_events(app, kendal, 3)
    clean = _verify(app)
    assert clean.exit_code == 0, clean.output
    assert "parepare: ok, 6 event(s)" in clean.output
    assert "kendal: ok, 4 event(s)" in clean.output
    assert "platform: ok, 4 event(s)" in clean.output

    # (one more event each: onboarding the district.) Only a superuser switching triggers off can change a row; the chain still shows it.
    with admin_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            sa.text(
                "UPDATE audit_events SET note = 'planted' WHERE tenant_id = :t AND chain_seq = 2"
            ),
            {"t": parepare.id},
        )
        conn.execute(
            sa.text("DELETE FROM audit_events WHERE tenant_id = :t AND chain_seq = 2"),
            {"t": kendal.id},
        )
    broken = _verify(app)
    assert broken.exit_code == 1
    assert "parepare: BROKEN" in broken.output
    assert "event #2" in broken.output and "changed after it was written" in broken.output
    assert "kendal: BROKEN" in broken.output and "events #2..#2 are missing" in broken.output
    assert "platform: ok" in broken.output

    only = _verify(app, "kendal")
    assert only.exit_code == 1 and "parepare" not in only.output


def test_a_recomputed_hash_still_breaks_the_next_link(app, parepare, admin_engine):
    _write_events(app, parepare, 3)
    with admin_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            sa.text(
                "UPDATE audit_events SET note = 'planted', chain_hash = audit_event_digest("
                "prev_hash, tenant_id::text, id::text, chain_seq, occurred_at, kind, action, "
                "entity_type, entity_id, actor_kind, actor_label, actor_account_id, endpoint, "
                "ip, before, after, 'planted') WHERE tenant_id = :t AND chain_seq = 2"
            ),
            {"t": parepare.id},
        )
    result = _verify(app, "parepare")
    assert result.exit_code == 1 and "event #3 does not follow #2" in result.output


def test_retention_purge_is_the_only_delete_and_is_recorded(app, parepare):
    _write_events(app, parepare, 4)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with app.app_context():
        with tenant_context(parepare.ref()):
            # four events and the district's onboarding
            assert purge_district_before(later, "retention: audit events after 5 years") == 5
            db.session.commit()
            record(AuditKind.config, "test.after", "thing", "x")
            db.session.commit()
            rows = db.session.execute(
                sa.text("SELECT action, after, note FROM audit_events ORDER BY chain_seq")
            ).all()
            assert [r.action for r in rows] == ["audit.purged", "test.after"]
            assert rows[0].after["purged"] == 5 and rows[0].after["anchor_seq"] == 5
            assert rows[0].note == "retention: audit events after 5 years"
            assert verify_district("parepare").ok
            with pytest.raises(sa.exc.DBAPIError, match="reason"):
                purge_district_before(later, "")
            db.session.rollback()
        db.session.remove()
    assert _verify(app, "parepare").exit_code == 0


def test_events_written_before_the_chain_are_linked_by_the_migration(app, parepare, services):
    from slrt.platform.commands import migrate
    from slrt.platform.commands.dbroles import seal_audit, unseal_audit

    _write_events(app, parepare, 3)
    unseal_audit(services["DATABASE_ADMIN_URL"])
    migrate.downgrade(services["DATABASE_OWNER_URL"], "0018")
    try:
        with app.app_context():
            with tenant_context(parepare.ref()):
                db.session.execute(
                    sa.text(
                        "INSERT INTO audit_events (tenant_id, id, kind, action, entity_type, "
                        "actor_kind, actor_label) VALUES (:t, gen_random_uuid(), 'config', "
                        "'test.old', 'thing', 'system', 'old')"
                    ),
                    {"t": parepare.id},
                )
                db.session.commit()
            db.session.remove()
    finally:
        migrate.upgrade(services["DATABASE_OWNER_URL"])
        seal_audit(services["DATABASE_ADMIN_URL"])
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "parepare: ok, 5 event(s)" in result.output
