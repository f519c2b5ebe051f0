"""Reading accounts: one by id for the Kemensos admin API (404 when missing), one by email or by
what was typed into the sign-in form (email or phone number), the account an outside
provider's identity is linked to, whether an account is an admin (who may protect their sign-in
with TOTP) or holds a platform role, and the password-reset link a token names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from slrt.auth.accounts.models import Account, ExternalIdentity, PasswordReset, PlatformRoleGrant
from slrt.auth.accounts.phones import is_email, normalise_phone
from slrt.auth.memberships.models import Membership, Role
from slrt.auth.oauth.models import token_hash, utcnow
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


def account_by_phone(phone: str) -> Account | None:
    """The account signing in with this phone number, however it was written."""
    normal = normalise_phone(phone)
    if normal is None:
        return None
    return db.session.execute(
        sa.select(Account).where(Account.phone == normal)
    ).scalar_one_or_none()


def account_by_identifier(identifier: str) -> Account | None:
    """The account named by what was typed into "Email atau nomor HP"."""
    text = (identifier or "").strip()
    if not text:
        return None
    return account_by_email(text) if is_email(text) else account_by_phone(text)


def platform_grant_holders(
    *,
    account_ids: Sequence[uuid.UUID] = (),
    emails: Sequence[str | None] = (),
    phones: Sequence[str | None] = (),
) -> list[Account]:
    """The accounts among these (by id, email or phone) that hold a platform role."""
    numbers = [p for p in (normalise_phone(x) for x in phones) if p]
    addresses = [e.strip().lower() for e in emails if e]
    who = [
        *([Account.id.in_(list(account_ids))] if account_ids else []),
        *([Account.email.in_(addresses)] if addresses else []),
        *([Account.phone.in_(numbers)] if numbers else []),
    ]
    if not who:
        return []
    return list(
        db.session.execute(
            sa.select(Account)
            .where(
                sa.or_(*who),
                sa.exists().where(PlatformRoleGrant.account_id == Account.id),
            )
            .order_by(Account.id)
        ).scalars()
    )


def usable_reset(token: str, *, lock: bool = False) -> PasswordReset | None:
    """The password-reset link behind `token` if it is unused, unexpired and its account
    active; None otherwise (all look alike to the visitor)."""
    stmt = sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    if lock:
        stmt = stmt.with_for_update()
    reset = db.session.execute(stmt).scalar_one_or_none()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    account = db.session.get(Account, reset.account_id)
    if account is None or not account.active:
        return None
    return reset


def personal_data_districts(account_id: uuid.UUID) -> list[str]:
    """Codes of the districts where the account's active role reads personal data."""
    from slrt.auth.permissions import PERSONAL_DATA
    from slrt.platform.tenant import Tenant

    personal = [str(p) for p in PERSONAL_DATA]
    with platform_bypass("is the account about to get a platform role a district data reader?"):
        return list(
            db.session.execute(
                sa.select(Tenant.code)
                .join(Membership, Membership.tenant_id == Tenant.id)
                .join(
                    Role,
                    sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id),
                )
                .where(
                    Membership.account_id == account_id,
                    Membership.status == "active",
                    Role.permissions.overlap(personal),
                )
                .order_by(Tenant.code)
            ).scalars()
        )


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
