"""Signed JWT access tokens (RFC 9068 profile) and the keys behind them.

Tokens are ES256-signed; the API verifies them from an in-process key cache (no database round
trip), reloading the cache only when a token names a key it has not seen. Rotation adds a new
active key and keeps the previous ones in the JWKS until their tokens have expired, so nobody is
logged out by a rotation.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import threading
import time
from typing import Any

import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from joserfc.jws import extract_compact

from slrt.auth.oauth.models import SigningKey
from slrt.platform import db
from slrt.platform.config import public_url, setting
from slrt.platform.freshness import LocalCache, announce, follow, listening

ALG = "ES256"
# Clock skew tolerated when checking exp/nbf/iat: the servers of one deployment keep their clocks
# in sync (NTP), so a few seconds suffice and an expired token stops working at once.
LEEWAY_SECONDS = 5


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, or not ours."""


def issuer() -> str:
    return public_url()


def access_token_ttl() -> int:
    return int(setting("SLRT_ACCESS_TOKEN_TTL") or 600)


# --- keys ---------------------------------------------------------------------------------------


def create_signing_key() -> SigningKey:
    kid = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S-") + secrets.token_hex(4)
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": ALG})
    row = SigningKey(
        kid=kid,
        alg=ALG,
        private_pem=key.as_pem(private=True).decode(),
        public_jwk=key.as_dict(private=False),
        status="active",
    )
    db.session.add(row)
    return row


def rotate_signing_keys() -> SigningKey:
    """Make a new key active; the previous active keys keep verifying until they are retired."""
    for row in db.session.execute(
        sa.select(SigningKey).where(SigningKey.status == "active")
    ).scalars():
        row.status = "retiring"
        row.retired_at = dt.datetime.now(dt.UTC)
    new = create_signing_key()
    db.session.flush()
    _cache.clear()
    return new


def retire_expired_keys() -> int:
    """Drop keys from the JWKS once every token they could have signed has expired."""
    limit = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=max(access_token_ttl(), 3600) + 300)
    rows = (
        db.session.execute(
            sa.select(SigningKey).where(
                SigningKey.status == "retiring", SigningKey.retired_at < limit
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        row.status = "retired"
    _cache.clear()
    return len(rows)


def active_signing_key() -> ECKey:
    row = (
        db.session.execute(
            sa.select(SigningKey)
            .where(SigningKey.status == "active")
            .order_by(SigningKey.created_at.desc())
        )
        .scalars()
        .first()
    )
    if row is None:
        row = create_signing_key()
        db.session.flush()
    return ECKey.import_key(row.private_pem, parameters={"kid": row.kid, "use": "sig", "alg": ALG})


def public_jwks() -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(SigningKey)
        .where(SigningKey.status.in_(("active", "retiring")))
        .order_by(SigningKey.created_at)
    ).scalars()
    return {"keys": [row.public_jwk for row in rows]}


class _KeyCache:
    """Public keys by kid, imported once, for verification without a database round trip."""

    def __init__(self) -> None:
        self._keys: dict[str, KeySet] = {}
        self._missed: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._keys = {}
            self._missed = {}
        _signed_claims.clear()

    def keyset_for(self, kid: str) -> KeySet:
        with self._lock:
            # A kid we have not seen (a rotation in another process) triggers one reload; a kid
            # that was missing a moment ago does not, so forged kids cannot hammer the database.
            if kid not in self._keys and time.monotonic() - self._missed.get(kid, -60.0) > 5:
                jwks = _load_public_jwks()
                self._keys = {k["kid"]: KeySet.import_key_set({"keys": [k]}) for k in jwks["keys"]}
                if kid not in self._keys:
                    if len(self._missed) > 1000:
                        self._missed.clear()
                    self._missed[kid] = time.monotonic()
            if kid not in self._keys:
                raise InvalidToken("unknown signing key")
            return self._keys[kid]


def _load_public_jwks() -> dict[str, Any]:
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(SigningKey.public_jwk).where(SigningKey.status.in_(("active", "retiring")))
        ).scalars()
        return {"keys": list(rows)}


_cache = _KeyCache()


# --- tokens -------------------------------------------------------------------------------------


def sign(claims: dict[str, Any], typ: str = "JWT") -> str:
    key = active_signing_key()
    header = {"alg": ALG, "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key)


def issue_access_token(
    *,
    subject: str,
    client_id: str,
    scope: str = "",
    tenant_id: int | None = None,
    ttl: int | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """A signed at+jwt. `tenant_id` binds machine-client tokens to one district."""
    now = int(time.time())
    lifetime = ttl or access_token_ttl()
    claims: dict[str, Any] = {
        "iss": issuer(),
        "sub": subject,
        "aud": issuer() + "/api",
        "client_id": client_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
    }
    if tenant_id is not None:
        claims["tenant"] = tenant_id
    if extra:
        claims.update(extra)
    return sign(claims, typ="at+jwt"), lifetime


# A token's signature is checked once per process and epoch (for ten minutes at most): what it
# proves cannot change, and checking it was a tenth of the work of reading a person. Its claims
# are checked every time (an expired token stops working at once), and its revocation too.
_signed_claims: LocalCache[str, dict[str, Any]] = LocalCache(
    "verified access tokens", 4096, ttl=600
)


def _signed(token: str) -> dict[str, Any]:
    try:
        header = extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("typ") != "at+jwt" or header.get("alg") != ALG or not header.get("kid"):
        raise InvalidToken("not an access token")
    try:
        return jwt.decode(token, _cache.keyset_for(header["kid"]), algorithms=[ALG]).claims
    except JoseError as exc:
        raise InvalidToken(str(exc)) from exc


@functools.lru_cache(maxsize=8)
def _claims_registry(issued_by: str) -> jwt.JWTClaimsRegistry:
    """What a token's claims must say; it holds no state of a check (the time is read by each
    `validate`), so one per issuer serves every request."""
    return jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issued_by},
        aud={"essential": True, "value": issued_by + "/api"},
        exp={"essential": True},
        sub={"essential": True},
        leeway=LEEWAY_SECONDS,
    )


def verify_access_token(token: str) -> dict[str, Any]:
    """The claims of a valid, unexpired, unrevoked access token (a copy the caller may keep)."""
    claims = dict(_signed_claims.get(token, lambda: _signed(token)))
    try:
        _claims_registry(issuer()).validate(claims)
    except JoseError as exc:
        raise InvalidToken(str(exc)) from exc
    if is_access_token_revoked(claims.get("jti")):
        raise InvalidToken("revoked")
    return claims


# --- revocation (RFC 7009) ----------------------------------------------------------------------
# A revoked access token is remembered by its jti until it would have expired anyway, in
# PostgreSQL. Each process keeps the list in memory: read from PostgreSQL when it starts
# listening to Redis's news (and whenever it may have missed some), then kept current by the
# news every revocation announces (`freshness.follow`), so a request asks nobody. A process
# that cannot listen (Redis out of reach) reads PostgreSQL for every check.

_REVOKED_NEWS = "revoked"

# jti -> when its token expires anyway (Unix time, with the leeway): this process's list.
_revoked: dict[str, float] = {}
_revoked_lock = threading.Lock()


def _load_revoked() -> None:
    from slrt.auth.oauth.models import RevokedAccessToken

    with db.engine().connect() as conn:
        rows = conn.execute(
            sa.select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(
                RevokedAccessToken.expires_at > sa.func.now()
            )
        ).all()
    with _revoked_lock:
        _revoked.clear()
        _revoked.update((jti, expires.timestamp()) for jti, expires in rows)


def _note_revoked(payload: str) -> None:
    jti, _, until = payload.rpartition(" ")
    now = time.time()
    with _revoked_lock:
        _revoked[jti] = float(until)
        if len(_revoked) > 256:  # a long-lived process forgets the tokens expired anyway
            for gone in [j for j, expires in _revoked.items() if expires < now]:
                del _revoked[gone]


follow(_REVOKED_NEWS, _load_revoked, _note_revoked)


def revoke_access_token(claims: dict[str, Any]) -> None:
    """Revoke one access token. PostgreSQL first (committed on its own, so the revocation holds
    whatever the caller's transaction does), then the news to every process through Redis;
    without Redis it answers 503 so the client asks again (meanwhile the processes that cannot
    reach Redis either check PostgreSQL)."""
    from sqlalchemy.dialects.postgresql import insert

    from slrt.auth.oauth.models import RevokedAccessToken
    from slrt.platform.errors import service_unavailable
    from slrt.platform.redis_client import UNREACHABLE, get_redis, note_outage

    jti, exp = claims.get("jti"), int(claims.get("exp", 0))
    if not jti or exp + 60 <= time.time():
        return
    jti = str(jti)[:64]
    with db.engine().begin() as conn:
        conn.execute(
            insert(RevokedAccessToken)
            .values(jti=jti, expires_at=dt.datetime.fromtimestamp(exp + 60, dt.UTC))
            .on_conflict_do_nothing()
        )
    _note_revoked(f"{jti} {exp + 60}")
    try:
        pipe = get_redis().pipeline(transaction=True)
        announce(pipe, _REVOKED_NEWS, f"{jti} {exp + 60}")
        pipe.execute()
    except UNREACHABLE as exc:
        note_outage("token revocation", exc)
        raise service_unavailable() from exc


def is_access_token_revoked(jti: str | None) -> bool:
    if not jti:
        return False
    jti = str(jti)[:64]
    if not listening():
        return _revoked_in_database(jti)
    with _revoked_lock:
        expires = _revoked.get(jti)
    return expires is not None and expires > time.time()


def _revoked_in_database(jti: str) -> bool:
    from slrt.auth.oauth.models import RevokedAccessToken

    with db.engine().connect() as conn:
        return (
            conn.execute(
                sa.select(sa.literal(1)).where(
                    RevokedAccessToken.jti == jti[:64],
                    RevokedAccessToken.expires_at > sa.func.now(),
                )
            ).first()
            is not None
        )
