"""Privacy: an audit trail nobody can rewrite.

- Every audit event is a link of a hash chain (one chain per district, one for the platform):
  a BEFORE INSERT trigger numbers it (`chain_seq`), stores the previous link's hash
  (`prev_hash`) and its own (`chain_hash`, SHA-256 over the previous hash and every column), under
  an advisory lock so two transactions never fork the chain. `slrt audit verify` recomputes it.
- UPDATE and TRUNCATE are refused by triggers for every role, the owner included; DELETE too,
  except inside `audit_purge` / `platform_audit_purge`, the retention break-glass: a SECURITY
  DEFINER function that sets `slrt.audit_purge` for its own statement, deletes only a prefix of
  the chain (so what remains still verifies from the anchor it records) and writes its own audit
  event. `slrt db seal-audit` (run as the database superuser after migrations) then hands the
  tables and these functions to `slrt_audit_owner`, a role nobody logs in as, so the schema
  owner can no longer drop the triggers or replace the functions.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from slrt.platform.commands.dbroles import AUDIT_FUNCTIONS, AUDIT_TABLES
from slrt.platform.rls import secure_tenant_table

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_COLUMNS = (
    "kind, action, entity_type, entity_id, actor_kind, actor_label, actor_account_id, "
    "endpoint, ip, before, after, note"
)

# One definition of a link's hash, used by the insert trigger and by `slrt audit verify`.
DIGEST = """
CREATE FUNCTION audit_event_digest(
    prev text, scope text, event_id text, seq bigint, occurred timestamptz, kind text,
    action text, entity_type text, entity_id text, actor_kind text, actor_label text,
    actor_account uuid, endpoint text, ip text, before jsonb, after jsonb, note text
) RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        prev, scope, event_id, seq,
        to_char(occurred AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        kind, action, entity_type, entity_id, actor_kind, actor_label, actor_account::text,
        endpoint, ip, before, after, note
    )::text, 'UTF8')), 'hex')
$$
"""

# `{columns}` of NEW in digest order, for the two triggers.
_NEW = ", ".join(f"NEW.{c.strip()}" for c in _COLUMNS.split(","))

LINK_DISTRICT = f"""
CREATE FUNCTION audit_events_link() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('slrt.audit_events'), NEW.tenant_id);
    SELECT chain_seq, chain_hash INTO last_seq, last_hash FROM audit_events
     WHERE tenant_id = NEW.tenant_id ORDER BY chain_seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        -- after a retention purge emptied the chain, it goes on from the recorded anchor
        last_seq := 0;
    END IF;
    NEW.occurred_at := coalesce(NEW.occurred_at, now());
    NEW.chain_seq := last_seq + 1;
    NEW.prev_hash := last_hash;
    NEW.chain_hash := audit_event_digest(
        last_hash, NEW.tenant_id::text, NEW.id::text, NEW.chain_seq, NEW.occurred_at, {_NEW});
    RETURN NEW;
END $$
"""  # noqa: S608 - constants only, no input

LINK_PLATFORM = f"""
CREATE FUNCTION platform_audit_events_link() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('slrt.platform_audit_events'), 0);
    SELECT chain_seq, chain_hash INTO last_seq, last_hash FROM platform_audit_events
     ORDER BY chain_seq DESC LIMIT 1;
    NEW.occurred_at := coalesce(NEW.occurred_at, now());
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := last_hash;
    NEW.chain_hash := audit_event_digest(
        last_hash, 'platform', NEW.id::text, NEW.chain_seq, NEW.occurred_at, {_NEW});
    RETURN NEW;
END $$
"""  # noqa: S608 - constants only, no input

REFUSE = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('slrt.audit_purge', true) = 'on'
       AND current_user = (SELECT tableowner FROM pg_tables
                            WHERE schemaname = 'public' AND tablename = TG_TABLE_NAME) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'retention purges go through audit_purge(); nothing else may change it';
END $$
"""

# The break-glass. Deletes the oldest events of the current district (row-level security
# applies: the caller's `slrt.tenant_id`) up to the last one that occurred before `before`, as
# a prefix of the chain, and records the purge, with the anchor the rest verifies from, as a
# new event in the same chain.
PURGE_DISTRICT = """
CREATE FUNCTION audit_purge(p_before timestamptz, p_reason text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
DECLARE
    tenant integer := NULLIF(current_setting('slrt.tenant_id', true), '')::integer;
    upto bigint;
    anchor text;
    purged integer;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'audit_purge needs a district (slrt.tenant_id)';
    END IF;
    IF coalesce(length(trim(p_reason)), 0) < 3 THEN
        RAISE EXCEPTION 'audit_purge needs a reason';
    END IF;
    SELECT chain_seq, chain_hash INTO upto, anchor FROM audit_events
     WHERE tenant_id = tenant AND chain_seq <= (
        SELECT max(chain_seq) FROM audit_events
         WHERE tenant_id = tenant AND occurred_at < p_before AND action <> 'audit.purged')
     ORDER BY chain_seq DESC LIMIT 1;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM set_config('slrt.audit_purge', 'on', true);
    DELETE FROM audit_events WHERE tenant_id = tenant AND chain_seq <= upto;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('slrt.audit_purge', '', true);
    INSERT INTO audit_events (tenant_id, id, kind, action, entity_type, actor_kind,
                              actor_label, after, note)
    VALUES (tenant, gen_random_uuid(), 'config', 'audit.purged', 'audit_events', 'system',
            'retention', jsonb_build_object('purged', purged, 'before', p_before,
                                            'anchor_seq', upto, 'anchor_hash', anchor),
            p_reason);
    RETURN purged;
END $$
"""

PURGE_PLATFORM = """
CREATE FUNCTION platform_audit_purge(p_before timestamptz, p_reason text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
DECLARE
    upto bigint;
    anchor text;
    purged integer;
BEGIN
    IF coalesce(length(trim(p_reason)), 0) < 3 THEN
        RAISE EXCEPTION 'platform_audit_purge needs a reason';
    END IF;
    SELECT chain_seq, chain_hash INTO upto, anchor FROM platform_audit_events
     WHERE chain_seq <= (SELECT max(chain_seq) FROM platform_audit_events
                          WHERE occurred_at < p_before AND action <> 'audit.purged')
     ORDER BY chain_seq DESC LIMIT 1;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM set_config('slrt.audit_purge', 'on', true);
    DELETE FROM platform_audit_events WHERE chain_seq <= upto;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('slrt.audit_purge', '', true);
    INSERT INTO platform_audit_events (kind, action, entity_type, actor_kind, actor_label,
                                       after, note)
    VALUES ('config', 'audit.purged', 'platform_audit_events', 'system', 'retention',
            jsonb_build_object('purged', purged, 'before', p_before,
                               'anchor_seq', upto, 'anchor_hash', anchor),
            p_reason);
    RETURN purged;
END $$
"""

TABLES = AUDIT_TABLES
FUNCTIONS = AUDIT_FUNCTIONS


def _backfill(table: str, scope_sql: str, partition: str) -> None:
    """Link the events written before the chain existed, oldest first."""
    op.execute(f"""
DO $$
DECLARE
    r record;
    prev text;
    seq bigint;
    scope text;
BEGIN
    scope := NULL;
    FOR r IN SELECT * FROM {table} ORDER BY {partition} occurred_at, id LOOP
        IF scope IS DISTINCT FROM ({scope_sql}) THEN
            scope := ({scope_sql});
            prev := NULL;
            seq := 0;
        END IF;
        seq := seq + 1;
        UPDATE {table} SET chain_seq = seq, prev_hash = prev,
            chain_hash = audit_event_digest(prev, scope, r.id::text, seq, r.occurred_at,
                {", ".join(f"r.{c.strip()}" for c in _COLUMNS.split(","))})
         WHERE {"tenant_id = r.tenant_id AND " if table == "audit_events" else ""}id = r.id
        RETURNING chain_hash INTO prev;
    END LOOP;
END $$
""")  # noqa: S608 - table names are constants


def _person_keys() -> None:
    """Residents' data keys (crypto-shredding of their free text): erasure deletes the row."""
    op.create_table(
        "person_keys",
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("wrapped_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_person_keys"),
        sa.ForeignKeyConstraint(["tenant_id", "id"], ["persons.tenant_id", "persons.id"],
                                ondelete="CASCADE", name="fk_person_keys_person"),
    )  # fmt: skip
    secure_tenant_table("person_keys")


def upgrade() -> None:
    _person_keys()
    for table in TABLES:
        op.add_column(table, sa.Column("chain_seq", sa.BigInteger))
        op.add_column(table, sa.Column("prev_hash", sa.String(64)))
        op.add_column(table, sa.Column("chain_hash", sa.String(64)))
    op.execute(DIGEST)
    # The owner sees every district's rows only while the policy is not forced on it.
    op.execute("ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY")
    _backfill("audit_events", "r.tenant_id::text", "tenant_id,")
    op.execute("ALTER TABLE audit_events FORCE ROW LEVEL SECURITY")
    _backfill("platform_audit_events", "'platform'", "")
    for table in TABLES:
        op.alter_column(table, "chain_seq", nullable=False)
        op.alter_column(table, "chain_hash", nullable=False)
    op.create_unique_constraint("uq_audit_events_chain", "audit_events", ["tenant_id", "chain_seq"])
    op.create_unique_constraint(
        "uq_platform_audit_events_chain", "platform_audit_events", ["chain_seq"]
    )
    op.execute(LINK_DISTRICT)
    op.execute(LINK_PLATFORM)
    op.execute(REFUSE)
    op.execute(PURGE_DISTRICT)
    op.execute(PURGE_PLATFORM)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_link BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_link()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    for function in ("audit_purge(timestamptz, text)", "platform_audit_purge(timestamptz, text)"):
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO slrt_app")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTIONS[0]} TO slrt_app")


def downgrade() -> None:
    op.drop_table("person_keys")
    for table in TABLES:
        for trigger in ("link", "append_only", "no_truncate"):
            op.execute(f"DROP TRIGGER {table}_{trigger} ON {table}")
    for function in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_constraint("uq_platform_audit_events_chain", "platform_audit_events")
    op.drop_constraint("uq_audit_events_chain", "audit_events")
    for table in TABLES:
        for column in ("chain_hash", "prev_hash", "chain_seq"):
            op.drop_column(table, column)
