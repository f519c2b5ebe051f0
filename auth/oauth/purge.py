"""Deleting OAuth rows nobody can use any more (`slrt auth purge`; the job scheduler calls
`purge_expired_oauth_rows` too).

A refresh-token family is deleted once every token in it has expired, whether it was revoked
or not: until then its rotated tokens must stay, because presenting one again is how reuse is
detected (and revokes the family). Authorization codes are kept a day past their expiry for the
same reason, then deleted. Revoked access tokens are forgotten once they have expired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from slrt.auth.oauth.models import AuthorizationCode, RefreshToken, RevokedAccessToken, utcnow
from slrt.platform import db
from slrt.platform.transaction import action

CODE_REUSE_WINDOW = dt.timedelta(days=1)


@dataclass(frozen=True)
class PurgeResult:
    refresh_tokens: int
    authorization_codes: int
    revoked_access_tokens: int = 0


@action
def purge_expired_oauth_rows(now: dt.datetime | None = None) -> PurgeResult:
    """Delete expired refresh-token families and old authorization codes (one transaction)."""
    now = now or utcnow()
    dead_families = (
        sa.select(RefreshToken.family_id)
        .group_by(RefreshToken.family_id)
        .having(sa.func.max(RefreshToken.expires_at) <= now)
    )
    tokens = db.session.execute(
        sa.delete(RefreshToken).where(RefreshToken.family_id.in_(dead_families))
    )
    codes = db.session.execute(
        sa.delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - CODE_REUSE_WINDOW)
    )
    revoked = db.session.execute(
        sa.delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= now)
    )
    db.session.commit()
    return PurgeResult(tokens.rowcount or 0, codes.rowcount or 0, revoked.rowcount or 0)
