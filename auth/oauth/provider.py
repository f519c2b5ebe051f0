"""The OpenID provider (Authlib): grants, token issuance, refresh rotation, revocation.

- authorization_code with PKCE S256 required for every client (plain or missing is refused),
  exact redirect-URI match, `state` and (for OpenID requests) `nonce` required;
- refresh_token with rotation: each use marks the token rotated and issues a new one in the same
  family; presenting a rotated token again is reuse and revokes the whole family;
- client_credentials for machine clients bound to one district;
- revocation (RFC 7009) of refresh tokens (the family) and access tokens (by jti, in Redis).

Access tokens come from `slrt.auth.oauth.tokens.issue_access_token`; ID tokens are signed with the same
keys. Views live in `slrt.auth.oauth.endpoints`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
import uuid
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from sqlalchemy.dialects.postgresql import insert
from werkzeug.wrappers import Request as WerkzeugRequest

from slrt.auth.accounts.models import Account
from slrt.auth.oauth import tokens
from slrt.auth.oauth.models import (
    AuthorizationCode,
    ClientKind,
    OAuthClient,
    RefreshToken,
    token_hash,
    utcnow,
)
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.config import public_url, setting
from slrt.platform.secrets_store import get_secret
from slrt.platform.transaction import action

log = logging.getLogger(__name__)

SCOPES = ["openid", "profile", "email", "phone"]
CODE_TTL = 120
ID_TOKEN_TTL = 3600
WEB_CLIENT_ID = "slrt-web"


def refresh_token_ttl() -> int:
    return int(setting("SLRT_REFRESH_TOKEN_TTL") or 2592000)


# --- clients ------------------------------------------------------------------------------------


def query_client(client_id: str | None) -> OAuthClient | None:
    if not client_id:
        return None
    return db.session.execute(
        sa.select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.status == "active"
        )
    ).scalar_one_or_none()


def web_redirect_uri() -> str:
    return public_url() + "/auth/callback"


def web_post_logout_uri() -> str:
    return public_url() + "/auth/signed-out"


def web_client_secret() -> str:
    return get_secret("oauth_web_client_secret")


@action
def ensure_web_client() -> None:
    """The web UI is a first-party confidential client of this provider. Its row is created on
    first use and its URIs follow SLRT_PUBLIC_URL (in its own small transaction)."""
    values = {
        "client_id": WEB_CLIENT_ID,
        "secret_hash": token_hash(web_client_secret()),
        "name": "SLRT web",
        "kind": ClientKind.confidential.value,
        "redirect_uris": [web_redirect_uri()],
        "post_logout_redirect_uris": [web_post_logout_uri()],
        "scope": " ".join(SCOPES),
        "first_party": True,
        "permissions": [],
        "status": "active",
    }
    current = db.session.execute(
        sa.select(OAuthClient.redirect_uris, OAuthClient.secret_hash).where(
            OAuthClient.client_id == WEB_CLIENT_ID
        )
    ).first()
    if (
        current
        and current.redirect_uris == values["redirect_uris"]
        and current.secret_hash == values["secret_hash"]
    ):
        return
    stmt = insert(OAuthClient).values(id=uuid.uuid4(), **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["client_id"],
        set_={
            k: stmt.excluded[k]
            for k in ("secret_hash", "redirect_uris", "post_logout_redirect_uris")
        },
    )
    db.session.execute(stmt)


def client_permissions(client_id: str) -> tuple[bool, int | None, frozenset[str]] | None:
    """For `slrt.auth.policy.client_loader`: machine clients, checked on every request."""
    row = db.session.execute(
        sa.select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).scalar_one_or_none()
    if row is None or row.kind != ClientKind.machine:
        return None
    return row.status == "active", row.bound_tenant_id, frozenset(row.permissions or [])


# --- token issuance -----------------------------------------------------------------------------


def generate_token(
    grant_type: str,
    client: OAuthClient,
    user: Account | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    if grant_type == "client_credentials":
        access, ttl = tokens.issue_access_token(
            subject=client.client_id,
            client_id=client.client_id,
            scope=scope or "",
            tenant_id=client.bound_tenant_id,
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": ttl, "scope": scope}
    assert user is not None
    access, ttl = tokens.issue_access_token(
        subject=str(user.id), client_id=client.client_id, scope=scope or ""
    )
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": ttl,
        "scope": scope or "",
    }
    if include_refresh_token:
        token["refresh_token"] = secrets.token_urlsafe(48)
    return token


def save_token(token: dict[str, Any], request: Any) -> None:
    refresh = token.get("refresh_token")
    if not refresh:
        return
    previous = getattr(request, "refresh_token", None)
    code = getattr(request, "authorization_code", None)
    # The family is the authorization code that started it, so a replayed code can revoke it.
    family_id = previous.family_id if previous is not None else code.id
    db.session.add(
        RefreshToken(
            token_hash=token_hash(refresh),
            family_id=family_id,
            client_id=request.client.client_id,
            account_id=request.user.id,
            scope=token.get("scope") or "",
            expires_at=utcnow() + dt.timedelta(seconds=refresh_token_ttl()),
        )
    )


def revoke_family(family_id: uuid.UUID, reason: str) -> int:
    """Revoke every refresh token of a family (all tokens descended from one sign-in)."""
    result = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    log.warning("refresh token family %s revoked: %s", family_id, reason)
    return result.rowcount or 0


def _active_account(account_id: uuid.UUID) -> Account | None:
    account = db.session.get(Account, account_id)
    return account if account is not None and account.active else None


# --- grants -------------------------------------------------------------------------------------


class S256CodeChallenge(CodeChallenge):
    """PKCE for every client, S256 only: a missing challenge or `plain` is refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256; plain is refused.")
        if not grant.request.payload.state:
            raise InvalidRequestError("Missing 'state'.")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        return super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: Any) -> AuthorizationCode:
        # Spent and expired codes are kept a day for reuse detection, then dropped.
        db.session.execute(
            sa.delete(AuthorizationCode).where(
                AuthorizationCode.expires_at < utcnow() - dt.timedelta(days=1)
            )
        )
        data = request.payload.data
        row = AuthorizationCode(
            code_hash=token_hash(code),
            client_id=request.client.client_id,
            account_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or request.client.redirect_uris[0],
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=int(getattr(request.user, "auth_time", None) or time.time()),
            expires_at=utcnow() + dt.timedelta(seconds=CODE_TTL),
        )
        db.session.add(row)
        db.session.flush()
        return row

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        row = db.session.execute(
            sa.select(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == token_hash(code),
                AuthorizationCode.client_id == client.client_id,
            )
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.used_at is not None:
            # A code presented twice was intercepted or replayed: what it produced is revoked.
            revoke_family(row.id, "authorization code reused")
            record_platform(
                AuditKind.security,
                "oauth.code_reuse",
                "oauth_client",
                client.client_id,
                note=f"account {row.account_id}",
            )
            return None
        if row.expires_at <= utcnow():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        authorization_code.used_at = utcnow()

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return _active_account(authorization_code.account_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        row = db.session.execute(
            sa.select(RefreshToken)
            .where(RefreshToken.token_hash == token_hash(refresh_token))
            .with_for_update()
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        if row.rotated_at is not None:
            revoke_family(row.family_id, "rotated refresh token presented again")
            record_platform(
                AuditKind.security,
                "oauth.refresh_reuse",
                "oauth_client",
                row.client_id,
                note=f"account {row.account_id}; family {row.family_id} revoked",
            )
            return None
        if row.expires_at <= utcnow():
            return None
        return row

    def authenticate_user(self, refresh_token: RefreshToken) -> Account | None:
        return _active_account(refresh_token.account_id)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        refresh_token.rotated_at = utcnow()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class OpenIDCodeExtension(OpenIDCode):
    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return bool(
            db.session.execute(
                sa.select(sa.literal(1)).where(
                    AuthorizationCode.client_id == request.payload.client_id,
                    AuthorizationCode.nonce == nonce,
                )
            ).first()
        )

    def resolve_client_private_key(self, client: OAuthClient):
        return tokens.active_signing_key()

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return tokens.ALG

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        return {
            "iss": tokens.issuer(),
            "aud": [client.client_id],
            "exp": int(time.time()) + ID_TOKEN_TTL,
        }

    def get_encode_header(self, client: OAuthClient) -> dict[str, Any]:
        return {"alg": tokens.ALG, "kid": tokens.active_signing_key().kid, "typ": "JWT"}

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(account: Account, scope: str) -> UserInfo:
    scopes = set((scope or "").split())
    info = UserInfo(sub=str(account.id))
    if "profile" in scopes:
        info["name"] = account.name
    if "email" in scopes and account.email:  # a phone-only account has none to give
        info["email"] = account.email
        info["email_verified"] = bool(account.email_verified)
    if "phone" in scopes and account.phone:
        info["phone_number"] = account.phone
    return info


# --- revocation ---------------------------------------------------------------------------------


class _AccessTokenRef:
    """A verified access token presented for revocation."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def check_client(self, client: OAuthClient) -> bool:
        return self.claims.get("client_id") == client.client_id


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None):
        if token_string.count(".") == 2:
            try:
                return _AccessTokenRef(tokens.verify_access_token(token_string))
            except tokens.InvalidToken:
                return None
        return db.session.execute(
            sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash(token_string))
        ).scalar_one_or_none()

    def revoke_token(self, token, request) -> None:
        if isinstance(token, _AccessTokenRef):
            tokens.revoke_access_token(token.claims)
        else:
            revoke_family(token.family_id, "revoked by the client")


# --- the server ---------------------------------------------------------------------------------


class Server(AuthorizationServer):
    def create_oauth2_request(self, request):
        # The web UI exchanges its code in-process with a built request (no HTTP call to
        # itself), which must work under gunicorn and in the test client alike.
        if isinstance(request, WerkzeugRequest):
            return FlaskOAuth2Request(request)
        return FlaskOAuth2Request(flask_request)


server = Server()


def init_provider(app: Flask) -> None:
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", generate_token)
    server.scopes_supported = SCOPES
    if getattr(server, "_slrt_grants", False):
        return
    server.register_grant(
        AuthorizationCodeGrant,
        [S256CodeChallenge(required=True), OpenIDCodeExtension(require_nonce=True)],
    )
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    server._slrt_grants = True


# --- ID tokens ----------------------------------------------------------------------------------


def verify_id_token(
    token: str, *, audience: str, nonce: str | None = None, check_exp: bool = True
) -> dict[str, Any]:
    """Verify an ID token this provider issued (for the web client and id_token_hint)."""
    try:
        header = extract_compact(token.encode()).protected
        decoded = jwt.decode(
            token, tokens._cache.keyset_for(header["kid"]), algorithms=[tokens.ALG]
        )
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": tokens.issuer()},
            "aud": {"essential": True, "value": audience},
            "sub": {"essential": True},
            "leeway": tokens.LEEWAY_SECONDS,
        }
        if check_exp:
            options["exp"] = {"essential": True}
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        jwt.JWTClaimsRegistry(**options).validate(decoded.claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise tokens.InvalidToken(str(exc)) from exc
    return decoded.claims
