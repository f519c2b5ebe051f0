"""Authorization: one policy function decides from membership, permission and region.

Views declare what they need with `@require(P.X)`; the decorator authenticates the bearer token,
loads the caller's account, grants and membership in the current district and calls `authorize`.
What the database says about an account in a district is kept in the process briefly
(`slrt.platform.freshness`): a membership revoked, a role changed or an account disabled through
the app is seen by every process on its next request, anything else within
SLRT_LOCAL_CACHE_SECONDS; a revoked token is refused at once (checked in Redis every request).

- not signed in / bad token: 401
- not a member of this district (or another district's machine client): 404, as for a missing id
- member without the permission: 403 naming the permission
- suspended district: reads only (423 on writes)
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request

from slrt.auth.accounts.models import Account, PlatformRoleGrant
from slrt.auth.memberships.models import Membership, MembershipStatus, Role
from slrt.auth.oauth.tokens import InvalidToken, verify_access_token
from slrt.auth.permissions import PERMISSION_LABELS, PLATFORM_ROLES, PP, P
from slrt.platform import db
from slrt.platform.actor import SYSTEM, Actor, set_actor
from slrt.platform.errors import Msg, Problem
from slrt.platform.freshness import LocalCache, watch
from slrt.platform.tenancy import current_tenant_or_none

F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound=sa.Select)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


NATIONAL_ROLES = frozenset({"kemensos_admin", "kemensos_viewer"})


def visible_provinces(platform_roles: Iterable[tuple[str, str | None]]) -> set[str] | None:
    """Which provinces a set of platform grants (role, province) may see: None for every one
    (Kemensos), else the provinces of the provincial-viewer grants (possibly none)."""
    roles = list(platform_roles)
    if any(role in NATIONAL_ROLES for role, _ in roles):
        return None
    return {province for role, province in roles if role == "provincial_viewer" and province}


@dataclass(frozen=True)
class MembershipRef:
    """The caller's membership in the current district, as read when its rights were loaded."""

    id: uuid.UUID
    tenant_id: int
    account_id: uuid.UUID
    role_id: uuid.UUID


@dataclass
class Principal:
    """The caller, as far as the current request is concerned."""

    actor: Actor
    account_id: uuid.UUID | None = None
    client_id: str | None = None
    client_tenant_id: int | None = None
    platform_roles: list[tuple[str, str | None]] = field(default_factory=list)
    membership: MembershipRef | None = None
    role_key: str | None = None
    permissions: frozenset[str] = frozenset()
    scope_kind: str = "district"
    scope_codes: tuple[str, ...] = ()
    agency_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def whole_district(self) -> bool:
        return self.scope_kind == "district"

    def covers(self, region_code: str | None) -> bool:
        """Does the caller's region scope include this desa/kelurahan or kecamatan code?"""
        if self.whole_district:
            return True
        if not region_code:
            return False
        return any(region_code == c or region_code.startswith(c + ".") for c in self.scope_codes)

    def visible_provinces(self) -> set[str] | None:
        """The provinces whose districts the caller's platform roles show (None: all)."""
        return visible_provinces(self.platform_roles)

    def in_region(self, stmt: S, village_code_column: sa.ColumnElement) -> S:
        """`stmt` limited to the caller's region: the very same statement for the whole
        district, so one built once stays the object SQLAlchemy has already analysed."""
        if self.whole_district:
            return stmt
        return stmt.where(self.region_clause(village_code_column))

    def region_clause(self, village_code_column: sa.ColumnElement) -> sa.ColumnElement[bool]:
        """SQL condition limiting rows to the caller's region (a desa code lies inside a
        kecamatan code by prefix)."""
        if self.whole_district:
            return sa.true()
        if self.scope_kind == "village":
            return village_code_column.in_(self.scope_codes)
        return sa.or_(*(village_code_column.like(code + ".%") for code in self.scope_codes))


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(detail: Msg) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


# Machine clients are defined by the OAuth module; it registers a loader here:
# (client_id) -> (active, tenant_id, permissions) or None.
client_loader: Callable[[str], tuple[bool, int | None, frozenset[str]] | None] | None = None


def authenticate() -> Principal:
    """The principal of this request, from its bearer token (cached on flask.g)."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    token = _bearer_token()
    if token is None:
        raise _unauthorized(
            Msg("Silakan masuk terlebih dahulu (token Bearer).", "Sign in first (Bearer token).")
        )
    try:
        claims = verify_access_token(token)
    except InvalidToken as exc:
        raise _unauthorized(
            Msg("Token tidak sah atau kedaluwarsa.", "Invalid or expired token.")
        ) from exc
    principal = _principal_from_claims(claims)
    g.principal = principal
    set_actor(principal.actor)
    return principal


# Rights of (account or machine client, client, district), kept briefly in the process: the
# account, its grants and its membership and role, or the client's binding. Any commit writing
# one of these tables makes every process's entries stale (slrt.platform.freshness).
_RIGHTS: LocalCache[tuple[Any, ...], Principal | None] = LocalCache("rights", max_entries=20000)
watch("accounts", "platform_role_grants", "memberships", "roles", "oauth_clients")


def _cached_principal(key: tuple[Any, ...], load: Callable[[], Principal | None]) -> Principal:
    principal = _RIGHTS.get(key, load)
    if principal is None:
        raise _unauthorized(Msg("Akun tidak aktif.", "The account is disabled."))
    # A copy: a request may add to its principal (flask.g) without touching the cached one.
    return dataclasses.replace(principal, platform_roles=list(principal.platform_roles))


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    if "tenant" in claims and claims["sub"] == claims.get("client_id"):
        return _client_principal(claims)
    try:
        account_id = uuid.UUID(claims["sub"])
    except ValueError as exc:
        raise _unauthorized(Msg("Token tidak sah.", "Invalid token.")) from exc
    client_id = claims.get("client_id")
    tenant = current_tenant_or_none()
    key = ("account", account_id, client_id, tenant.id if tenant else None)
    return _cached_principal(key, lambda: _load_account_principal(account_id, client_id))


def _load_account_principal(account_id: uuid.UUID, client_id: str | None) -> Principal | None:
    account = db.session.get(Account, account_id)
    if account is None or not account.active:
        return None
    grants = db.session.execute(
        sa.select(PlatformRoleGrant.role, PlatformRoleGrant.province_code).where(
            PlatformRoleGrant.account_id == account_id
        )
    ).all()
    principal = Principal(
        actor=Actor(
            kind="account",
            label=account.label,
            account_id=account.id,
            client_id=client_id,
        ),
        account_id=account.id,
        client_id=client_id,
        platform_roles=[(r.role, r.province_code) for r in grants],
    )
    _load_tenant_rights(principal)
    return principal


def _client_principal(claims: dict[str, Any]) -> Principal:
    client_id = claims["client_id"]
    tenant = current_tenant_or_none()
    key = ("client", client_id, claims.get("tenant"), tenant.id if tenant else None)
    return _cached_principal(key, lambda: _load_client_principal(client_id, claims))


def _load_client_principal(client_id: str, claims: dict[str, Any]) -> Principal:
    loaded = client_loader(client_id) if client_loader else None
    if loaded is None or not loaded[0]:
        raise _unauthorized(Msg("Klien tidak aktif.", "The client is disabled."))
    _, tenant_id, permissions = loaded
    principal = Principal(
        actor=Actor(kind="client", label=f"client:{client_id}", client_id=client_id),
        client_id=client_id,
        client_tenant_id=tenant_id,
    )
    tenant = current_tenant_or_none()
    if tenant is not None and tenant.id == tenant_id == claims.get("tenant"):
        principal.permissions = frozenset(permissions)
    return principal


def _load_tenant_rights(principal: Principal) -> None:
    """Fill in role, permissions and scope for the current district, if any."""
    tenant = current_tenant_or_none()
    if tenant is None or principal.account_id is None:
        perms: set[str] = set()
        for role, _province in principal.platform_roles:
            perms |= {str(p) for p in PLATFORM_ROLES[role]["platform"]}
        principal.permissions = frozenset(perms)
        return
    row = db.session.execute(
        sa.select(Membership, Role)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id))
        .where(
            Membership.account_id == principal.account_id,
            Membership.status == MembershipStatus.active,
        )
    ).first()
    perms = set()
    if row is not None:
        membership, role = row
        principal.membership = MembershipRef(
            id=membership.id,
            tenant_id=membership.tenant_id,
            account_id=membership.account_id,
            role_id=membership.role_id,
        )
        principal.role_key = role.key
        principal.scope_kind = membership.scope_kind
        principal.scope_codes = tuple(membership.scope_codes or ())
        principal.agency_id = membership.agency_id
        perms |= set(role.permissions)
    for role_key, province in principal.platform_roles:
        if visible_provinces([(role_key, province)]) in (None, {tenant.code[:2]}):
            perms |= {str(p) for p in PLATFORM_ROLES[role_key]["tenant"]}
    principal.permissions = frozenset(perms)


def is_member_of_current_tenant(principal: Principal) -> bool:
    tenant = current_tenant_or_none()
    if tenant is None:
        return False
    if principal.client_id and principal.account_id is None:
        return principal.client_tenant_id == tenant.id
    if principal.membership is not None:
        return True
    if not principal.platform_roles:
        return False
    provinces = principal.visible_provinces()
    return provinces is None or tenant.code[:2] in provinces


def guard_tenant_request() -> None:
    """Before any signed-in tenant route: strangers see 404 before anything else (even before
    request bodies are validated), members of a suspended district may only read."""
    try:
        principal = authenticate()
    except Problem as exc:
        tenant = current_tenant_or_none()
        if exc.code == 401 and tenant is not None and tenant.suspended:
            from slrt.platform.tenant import NOT_FOUND

            raise Problem(404, NOT_FOUND) from None
        raise
    authorize(principal, None)


def authorize(principal: Principal, permission: str | None) -> None:
    """The one policy decision for tenant routes and platform routes alike."""
    tenant = current_tenant_or_none()
    if tenant is not None:
        if not is_member_of_current_tenant(principal):
            from slrt.platform.tenant import NOT_FOUND

            raise Problem(404, NOT_FOUND)
        if tenant.suspended and request.method in WRITE_METHODS:
            raise Problem(
                423,
                Msg(
                    "Kabupaten/kota ini sedang ditangguhkan; data hanya dapat dibaca.",
                    "This district is suspended; its data is read-only.",
                ),
            )
    if permission is not None and not principal.can(permission):
        words = PERMISSION_LABELS.get(permission) or Msg(permission, permission)
        raise Problem(
            403,
            Msg(
                f"Anda tidak memiliki izin '{words}' ({permission}).",
                f"You lack the permission '{words.en}' ({permission}).",
            ),
            missing_permission=str(permission),
            page_detail=Msg(
                f"Anda tidak memiliki izin '{words}'.", f"You lack the permission '{words.en}'."
            ),
        )


def require(permission: P | PP) -> Callable[[F], F]:
    """Declare the permission an operation needs; authenticate and authorize before it runs."""

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # On tenant routes the blueprint's guard has already authenticated the caller and
            # turned strangers away (404); this adds the operation's own permission.
            authorize(authenticate(), str(permission))
            return fn(*args, **kwargs)

        wrapper.required_permission = str(permission)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def principal_for_account(account_id: uuid.UUID, client_id: str) -> Principal:
    """The principal of a signed-in web session (the same checks as for a bearer token: account
    active, membership in the current district loaded fresh on every request)."""
    principal = _principal_from_claims({"sub": str(account_id), "client_id": client_id})
    g.principal = principal
    set_actor(principal.actor)
    return principal


def operator_principal() -> Principal:
    """Whoever runs `slrt` on a server, for the checks an action makes: the system, acting
    district-wide with every district permission (a shell on the server reaches further than any
    role already)."""
    return Principal(actor=SYSTEM, permissions=frozenset(str(p) for p in P))


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise RuntimeError("current_principal() outside a @require'd view")
    return principal


def public(reason: str) -> Callable[[F], F]:
    """Mark an API operation that needs no sign-in (public status check, letter verification,
    the public district directory); the reason is what the route-coverage test reads."""

    def decorator(fn: F) -> F:
        fn.public_reason = reason  # type: ignore[attr-defined]
        return fn

    return decorator
