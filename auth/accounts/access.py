"""Reading accounts: one by id for the Kemensos admin API (404 when missing), one by email, the
account an outside provider's identity is linked to, and whether an account is an admin (who
may protect their sign-in with TOTP)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.accounts.models import Account, ExternalIdentity, PlatformRoleGrant
from slrt.auth.memberships.models import Membership, Role
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.platform.tenancy import platform_bypass

ACCOUNT_NOT_FOUND = Msg("Akun tidak ditemukan.", "Account not found.")


@reuse_in_request
def access_account_by_id(account_id: uuid.UUID) -> Account:
    return one_or_404(sa.select(Account).where(Account.id == account_id), ACCOUNT_NOT_FOUND)


def account_by_email(email: str) -> Account | None:
    """The account with this email (compared lower-cased, as it is stored)."""
    return db.session.execute(
        sa.select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()


def account_is_admin(account_id: uuid.UUID) -> bool:
    """Kemensos admins and district admins may protect their sign-in with TOTP."""
    if db.session.execute(
        sa.select(PlatformRoleGrant.id).where(
            PlatformRoleGrant.account_id == account_id,
            PlatformRoleGrant.role == "kemensos_admin",
        )
    ).first():
        return True
    with platform_bypass("TOTP enrolment: is the signed-in account a district admin?"):
        return bool(
            db.session.execute(
                sa.select(Membership.id)
                .join(
                    Role,
                    sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id),
                )
                .where(
                    Membership.account_id == account_id,
                    Membership.status == "active",
                    Role.key == "district_admin",
                )
            ).first()
        )


def linked_identity(issuer: str, subject: str) -> ExternalIdentity | None:
    """The link of an outside provider's identity (issuer + subject) to an account, if any."""
    return db.session.execute(
        sa.select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    ).scalar_one_or_none()
