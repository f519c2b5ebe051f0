"""Mail that goes out, password resets, sign-in by phone, language and digest preferences.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from slrt.auth.accounts.phones import normalise_phone
from slrt.platform.rls import grant_platform_table

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Accounts: the phone number becomes a sign-in name (stored in one form, unique) and an
    # account may have no email (facilitators who only have a phone).
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, phone FROM accounts WHERE phone IS NOT NULL")).all()
    seen: set[str] = set()
    for account_id, phone in rows:
        normal = normalise_phone(phone)
        # A number that cannot be read, or one a second account already holds, is dropped from
        # the later account rather than blocking the upgrade; it was never a sign-in name.
        value = normal if normal and normal not in seen else None
        if value:
            seen.add(value)
        if value != phone:
            conn.execute(
                sa.text("UPDATE accounts SET phone = :v WHERE id = :id"),
                {"v": value, "id": account_id},
            )
    op.alter_column("accounts", "email", existing_type=sa.String(254), nullable=True)
    op.add_column("accounts", sa.Column("language", sa.String(2)))
    op.add_column(
        "accounts",
        sa.Column("digest_opt_in", sa.Boolean, server_default=sa.false(), nullable=False),
    )
    op.create_check_constraint(
        "ck_accounts_email_or_phone", "accounts", "email IS NOT NULL OR phone IS NOT NULL"
    )
    op.create_check_constraint(
        "ck_accounts_language_values", "accounts", "language IN ('id', 'en')"
    )
    op.create_index(
        "uq_accounts_phone",
        "accounts",
        ["phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("token_hash", name="uq_password_resets_token_hash"),
    )
    op.create_index("ix_password_resets_account_id", "password_resets", ["account_id"])
    grant_platform_table("password_resets")

    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("tenant_ref", sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("ref_id", sa.String(80)),
        sa.Column("to_address", sa.String(254)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.String(300)),
        sa.Column("body", sa.Text),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("dedup_key", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("message_id", name="uq_outgoing_mail_message_id"),
        sa.UniqueConstraint("dedup_key", name="uq_outgoing_mail_dedup_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dropped')",
            name="ck_outgoing_mail_status_values",
        ),
    )
    op.create_index("ix_outgoing_mail_due", "outgoing_mail", ["status", "next_attempt_at"])
    op.create_index("ix_outgoing_mail_ref", "outgoing_mail", ["kind", "ref_id"])
    grant_platform_table("outgoing_mail")


def downgrade() -> None:
    op.drop_table("outgoing_mail")
    op.drop_table("password_resets")
    op.drop_index("uq_accounts_phone", table_name="accounts")
    op.drop_constraint("ck_accounts_language_values", "accounts", type_="check")
    op.drop_constraint("ck_accounts_email_or_phone", "accounts", type_="check")
    op.drop_column("accounts", "digest_opt_in")
    op.drop_column("accounts", "language")
    # Phone-only accounts keep working after a downgrade under a placeholder address.
    op.execute(
        "UPDATE accounts SET email = replace(phone, '+', '') || '@phone.invalid' "
        "WHERE email IS NULL"
    )
    op.alter_column("accounts", "email", existing_type=sa.String(254), nullable=False)
