"""Tenant isolation, generated from the metadata: every table that exists now or later is either
tenant-scoped behind both walls or explicitly listed as a platform table."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from slrt.platform import db
from slrt.platform.db import is_tenant_table
from slrt.platform.models import metadata
from slrt.platform.tenancy import NoTenantContext, platform_bypass, tenant_context

# Tables without tenant_id, on purpose. Adding one here is a reviewed decision.
PLATFORM_TABLES = {
    "tenants",
    "platform_audit_events",
    "accounts",  # global: one login for every district
    "external_identities",
    "platform_role_grants",
    "signing_keys",
    "job_outbox",  # only (tenant id, job id) pairs for the relay, which serves every district
    "job_schedules",  # schedules fan out to every district; no district data
    "national_programs",  # Kemensos's national catalog, shared by every district
    # The OpenID provider's records belong to accounts and clients, which span districts; a
    # machine client names its one district in bound_tenant_id.
    "oauth_clients",
    "oauth_authorization_codes",
    "oauth_refresh_tokens",
    "oauth_consents",
    "revoked_access_tokens",  # token ids only, kept until the token would have expired
    # keyed NIK hash x district only (no NIK, no name): the cross-district signal for Kemensos
    "nik_registrations",
    # aggregates only, no personal data: counts per district per day for the Kemensos dashboard
    "district_aggregates",
    "plans",  # national plan catalogue kept by Kemensos
    "plan_assignments",  # Kemensos decisions about districts (tenant_ref), with history
    "usage_flush_batches",  # idempotency ids of metering flushes; one batch spans districts
    "password_resets",  # an account's single-use reset links (hashes only); accounts are global
    # mail to staff (invitations, resets, digests); a reset concerns no district; bodies are
    # encrypted and cleared once sent
    "outgoing_mail",
}

TENANT_TABLES = sorted(t.name for t in metadata.sorted_tables if is_tenant_table(t))


def test_every_table_is_classified() -> None:
    for table in metadata.sorted_tables:
        if table.name in PLATFORM_TABLES:
            assert not is_tenant_table(table), (
                f"{table.name} is listed as platform but is tenant-scoped"
            )
            assert "tenant_id" not in table.c or table.name == "tenants"
        else:
            assert is_tenant_table(table), (
                f"{table.name} is neither TenantScoped nor listed in PLATFORM_TABLES"
            )


@pytest.mark.parametrize("table_name", TENANT_TABLES)
def test_tenant_table_shape(table_name: str) -> None:
    table = metadata.tables[table_name]
    pk = [c.name for c in table.primary_key.columns]
    assert pk[:1] == ["tenant_id"] and len(pk) >= 2, f"{table_name}: PK must start with tenant_id"
    assert next(iter(table.columns)).name == "tenant_id"
    for fk in table.foreign_key_constraints:
        target = fk.referred_table
        if is_tenant_table(target):
            assert "tenant_id" in fk.column_keys, (
                f"{table_name}: FK to {target.name} lacks tenant_id"
            )
            pairs = {e.parent.name: e.column.name for e in fk.elements}
            assert pairs["tenant_id"] == "tenant_id"


def test_database_matches_metadata(owner_engine: sa.Engine) -> None:
    """Migrations create exactly what the models declare (no drift either way)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with owner_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    # Index/constraint naming differences are not drift; columns and tables are.
    relevant = [
        d for d in diff if d[0] in ("add_table", "remove_table", "add_column", "remove_column")
    ]
    relevant += [
        d
        for d in diff
        if isinstance(d, list) and d and d[0][0] in ("modify_type", "modify_nullable")
    ]
    assert relevant == []


@pytest.mark.parametrize("table_name", TENANT_TABLES)
def test_rls_enabled_forced_with_policy(owner_engine: sa.Engine, table_name: str) -> None:
    with owner_engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = :t"),
            {"t": table_name},
        ).one()
        assert row == (True, True), f"{table_name}: RLS must be enabled and forced"
        policies = conn.execute(
            sa.text("SELECT policyname, qual, with_check FROM pg_policies WHERE tablename = :t"),
            {"t": table_name},
        ).all()
    by_name = {p.policyname: p for p in policies}
    assert "tenant_isolation" in by_name
    assert "slrt.tenant_id" in by_name["tenant_isolation"].qual
    assert "slrt.tenant_id" in by_name["tenant_isolation"].with_check


def test_app_role_is_powerless(services: dict[str, str]) -> None:
    engine = sa.create_engine(services["DATABASE_URL"])
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        assert row == (False, False, False, False)
        owned = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user"
            )
        ).scalar()
        assert owned == 0
    engine.dispose()


def _sample_value(column: sa.Column, tenant_id: int) -> object:
    if column.name == "tenant_id":
        return tenant_id
    if column.default is not None and not column.primary_key and column.server_default is None:
        return None
    if not column.nullable or column.primary_key:
        t = column.type
        if isinstance(t, sa.Uuid):
            return uuid.uuid4()
        if isinstance(t, sa.Integer | sa.BigInteger | sa.Numeric):
            return 1
        if isinstance(t, sa.Boolean):
            return False
        if isinstance(t, sa.DateTime):
            return sa.func.now()
        if isinstance(t, sa.Date):
            return sa.func.current_date()
        if isinstance(t, postgresql.JSONB | sa.JSON):
            return {}
        if isinstance(t, postgresql.ARRAY):
            return []
        if isinstance(t, sa.Enum):
            return t.enums[0]
        if isinstance(t, sa.LargeBinary):
            return b"x"
        return "x"
    return None


def test_raw_sql_as_app_role_sees_only_own_tenant(services, owner_engine, parepare, kendal) -> None:
    """(b) As the app role with tenant A's setting, a raw SELECT * on every tenant table returns no
    row of tenant B, and inserting a tenant-B row is refused by the policy. Tenant B's rows are
    planted by the owner (who is not exempt: FORCE RLS), so each table has a row to hide."""
    app_engine = sa.create_engine(services["DATABASE_URL"])
    try:
        for name in TENANT_TABLES:
            table = metadata.tables[name]
            with app_engine.connect() as conn:
                conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(kendal.id), True)))
                rows = conn.execute(sa.text(f"SELECT tenant_id FROM {name}")).scalars().all()
                assert set(rows) <= {kendal.id}, f"{name}: rows of another tenant visible"
            with app_engine.connect() as conn:
                conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(kendal.id), True)))
                values = {c.name: _sample_value(c, parepare.id) for c in table.columns}
                values = {k: v for k, v in values.items() if v is not None}
                with pytest.raises(sa.exc.DBAPIError) as err:
                    conn.execute(table.insert().values(**values))
                assert "row-level security" in str(err.value) or "permission denied" in str(
                    err.value
                ), name
            with app_engine.connect() as conn:
                # No setting at all: nothing is visible.
                assert (
                    conn.execute(
                        sa.text(f"SELECT count(*) FROM {name} WHERE tenant_id = :t"),
                        {"t": parepare.id},
                    ).scalar()
                    == 0
                )
    finally:
        app_engine.dispose()


def test_rls_hides_rows_planted_for_other_tenant(
    services, owner_engine, parepare, kendal, app
) -> None:
    """A real row in tenant B is invisible from tenant A, both through raw SQL and the ORM."""
    from slrt.platform.audit.models import AuditEvent, AuditKind
    from slrt.platform.audit.record import record

    with app.app_context():
        with tenant_context(parepare.ref()):
            record(AuditKind.config, "test.plant", "thing", "1")
            db.session.commit()
        with tenant_context(kendal.ref()):
            actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
            assert "test.plant" not in actions
            raw = db.session.execute(
                sa.text(
                    "SELECT count(*) FROM audit_events WHERE action = 'test.plant' OR tenant_id <> :k"
                ),
                {"k": kendal.id},
            ).scalar()
            assert raw == 0
        with tenant_context(parepare.ref()):
            actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
            assert actions.count("test.plant") == 1
        db.session.remove()


@pytest.mark.parametrize("table_name", TENANT_TABLES)
def test_orm_query_without_tenant_raises(app, table_name: str) -> None:
    """(c) Through the ORM with no tenant context, a query on a tenant table raises."""
    mapper = next(m for m in db.Base.registry.mappers if m.local_table.name == table_name)
    with app.app_context():
        with pytest.raises(NoTenantContext):
            db.session.execute(sa.select(mapper.class_)).all()
        with pytest.raises(NoTenantContext):
            db.session.execute(sa.select(mapper.class_.__table__)).all()
        db.session.remove()


def test_platform_bypass_is_read_only(app, parepare, kendal) -> None:
    from slrt.platform.audit.models import AuditEvent, AuditKind
    from slrt.platform.audit.record import record

    with app.app_context():
        for tenant in (parepare, kendal):
            with tenant_context(tenant.ref()):
                record(AuditKind.config, "test.plant", "thing", "1")
                db.session.commit()
        with platform_bypass("test: count audit events across districts"):
            rows = (
                db.session.execute(
                    sa.select(AuditEvent.tenant_id).where(AuditEvent.action == "test.plant")
                )
                .scalars()
                .all()
            )
            assert sorted(rows) == sorted([parepare.id, kendal.id])
            with pytest.raises(sa.exc.DBAPIError):
                db.session.execute(sa.text("DELETE FROM audit_events"))
        db.session.rollback()
        with pytest.raises(ValueError), platform_bypass(" "):
            pass
        db.session.remove()


def test_orm_stamps_and_refuses_foreign_rows(app, parepare, kendal) -> None:
    from slrt.platform.audit.models import AuditEvent, AuditKind
    from slrt.platform.audit.record import record

    with app.app_context():
        with tenant_context(parepare.ref()):
            event = record(AuditKind.config, "test.stamp", "thing")
            db.session.flush()
            assert event.tenant_id == parepare.id
            db.session.add(
                AuditEvent(
                    tenant_id=kendal.id,
                    kind="config",
                    action="x",
                    entity_type="y",
                    actor_kind="system",
                    actor_label="t",
                )
            )
            with pytest.raises(NoTenantContext):
                db.session.flush()
            db.session.rollback()
        db.session.remove()


@pytest.mark.parametrize("table_name", TENANT_TABLES)
def test_no_policy_opens_a_tenant_table_to_the_app_role(
    owner_engine: sa.Engine, table_name: str
) -> None:
    """Row-level security policies are permissive by default (OR-ed): any further policy that the
    app role falls under would widen tenant_isolation. Only SELECT policies for the read-only
    platform reader or the owner (who never serves requests) may exist beside it."""
    with owner_engine.connect() as conn:
        policies = conn.execute(
            sa.text(
                "SELECT policyname, permissive, roles, cmd FROM pg_policies WHERE tablename = :t"
            ),
            {"t": table_name},
        ).all()
    for policy in policies:
        if policy.policyname == "tenant_isolation":
            assert policy.roles == ["public"]
            continue
        assert policy.cmd == "SELECT", f"{table_name}.{policy.policyname} allows {policy.cmd}"
        assert set(policy.roles) <= {"slrt_platform_reader", "slrt_owner"}, (
            f"{table_name}.{policy.policyname} applies to {policy.roles}"
        )


def test_a_statement_built_once_is_scoped_to_each_district_in_turn(app, parepare, kendal) -> None:
    """The ORM's criteria for a statement built once (a module's constant, values bound at
    execution) bind the district of each execution, never the one that ran it first (its scoped
    copy is shared by every district). Checked on what is sent, beneath row-level security."""
    from slrt.platform.audit.models import AuditEvent

    once = sa.select(AuditEvent.id).where(AuditEvent.action == sa.bindparam("action"))
    sent: list[dict] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "audit_events" in statement:
            sent.append(dict(parameters))

    sa.event.listen(db.engine(), "before_cursor_execute", capture)
    try:
        with app.app_context():
            for tenant in (parepare, kendal, parepare):
                with tenant_context(tenant.ref()):
                    db.session.execute(once, {"action": "x"}).all()
                    db.session.commit()
            db.session.remove()
    finally:
        sa.event.remove(db.engine(), "before_cursor_execute", capture)
    assert [[v for v in p.values() if v != "x"] for p in sent] == [
        [parepare.id],
        [kendal.id],
        [parepare.id],
    ]
