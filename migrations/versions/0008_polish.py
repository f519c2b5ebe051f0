"""Follow-ups: encrypted TOTP secrets, name search index.

Revision ID: 0008
Revises: 0007
"""

import re

import sqlalchemy as sa
from alembic import op

from slrt.platform.commands.dbroles import APP_ROLE, OWNER_ROLE
from slrt.platform.rls import CURRENT_TENANT_SQL

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BASE32 = re.compile(r"^[A-Z2-7]+=*$")  # a plaintext TOTP secret; Fernet tokens start "gAAAA"


def _reencode_totp(convert, wanted) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, totp_secret FROM accounts WHERE totp_secret IS NOT NULL")
    ).all()
    for account_id, value in rows:
        if wanted(value):
            conn.execute(
                sa.text("UPDATE accounts SET totp_secret = :v WHERE id = :id"),
                {"v": convert(value), "id": account_id},
            )


def upgrade() -> None:
    from slrt.platform.field_crypto import encrypt_field, field_cipher

    # TOTP secrets encrypted at rest with SLRT_FIELD_KEY (read the same way as the app does).
    # Resolving the key here also generates it, when unset, before any web worker starts: two
    # workers must never each generate their own.
    field_cipher()
    op.alter_column("accounts", "totp_secret", type_=sa.Text, existing_nullable=True)
    _reencode_totp(encrypt_field, lambda v: bool(_BASE32.match(v)))

    # Registry name search (ILIKE '%q%') through a trigram index. PostgreSQL applies a row
    # security policy before any non-LEAKPROOF condition, and ILIKE is not leakproof, so under
    # RLS the index can never serve the app role's own query. The search therefore goes through
    # person_ids_by_name: SECURITY DEFINER as the owner, whose SELECT-only policy below lets the
    # planner use the index, and which applies the same tenant condition as tenant_isolation
    # itself. It returns only ids of the current district; the caller's query (under RLS, with
    # the region scope) loads the rows by primary key (ROWS 20: a search finds a few people, so
    # the planner looks them up one by one instead of reading the whole district).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_persons_name_trgm ON persons USING gin (name gin_trgm_ops)")
    op.execute(f"CREATE POLICY name_search ON persons FOR SELECT TO {OWNER_ROLE} USING (true)")
    op.execute(
        f"""
        CREATE FUNCTION person_ids_by_name(pattern text) RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER ROWS 20 SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT id FROM public.persons
            WHERE tenant_id = {CURRENT_TENANT_SQL} AND name ILIKE pattern
        $$
        """,  # noqa: S608 - constants only, no input
    )
    op.execute("REVOKE ALL ON FUNCTION person_ids_by_name(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION person_ids_by_name(text) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION person_ids_by_name(text)")
    op.execute("DROP POLICY name_search ON persons")
    op.execute("DROP INDEX ix_persons_name_trgm")
    # pg_trgm stays: other objects may use it, and it holds no data.

    from slrt.platform.field_crypto import decrypt_field

    _reencode_totp(decrypt_field, lambda v: not _BASE32.match(v))
    op.alter_column("accounts", "totp_secret", type_=sa.String(64), existing_nullable=True)
