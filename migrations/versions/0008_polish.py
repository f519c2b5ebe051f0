"""Follow-ups: encrypted TOTP secrets, name search index.

Revision ID: 0008
Revises: 0007
"""

import re

import sqlalchemy as sa
from alembic import op

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
    from slrt.platform.field_crypto import encrypt_field

    # TOTP secrets encrypted at rest with SLRT_FIELD_KEY (read the same way as the app does).
    op.alter_column("accounts", "totp_secret", type_=sa.Text, existing_nullable=True)
    _reencode_totp(encrypt_field, lambda v: bool(_BASE32.match(v)))


def downgrade() -> None:
    from slrt.platform.field_crypto import decrypt_field

    _reencode_totp(decrypt_field, lambda v: not _BASE32.match(v))
    op.alter_column("accounts", "totp_secret", type_=sa.String(64), existing_nullable=True)
