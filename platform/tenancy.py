"""Which tenant the current request or job acts for.

One context variable holds it (Redash's `current_org`, but fail-closed): tenant tables cannot be
queried or written without it, except inside `platform_bypass`, which names its reason and is
read-only at the database level.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class NoTenantContext(RuntimeError):
    """A tenant table was touched with no tenant context and no named platform bypass."""


@dataclass(frozen=True)
class TenantRef:
    id: int
    slug: str
    code: str
    name: str
    status: str
    zone: str = "Asia/Jakarta"  # the district's time zone (IANA name)

    @property
    def suspended(self) -> bool:
        return self.status == "suspended"


_tenant: ContextVar[TenantRef | None] = ContextVar("slrt_tenant", default=None)
_bypass: ContextVar[str | None] = ContextVar("slrt_platform_bypass", default=None)


def current_tenant() -> TenantRef:
    tenant = _tenant.get()
    if tenant is None:
        raise NoTenantContext("no tenant context is active")
    return tenant


def current_tenant_or_none() -> TenantRef | None:
    return _tenant.get()


def bypass_reason() -> str | None:
    return _bypass.get()


@contextmanager
def tenant_context(tenant: TenantRef) -> Iterator[TenantRef]:
    """Act for `tenant` until the block ends. The database session picks it up at its next
    transaction start, and immediately if a transaction is already open."""
    from slrt.platform.db import apply_tenant_setting, flush_pending

    token = _tenant.set(tenant)
    apply_tenant_setting()
    try:
        yield tenant
        # Rows added for this tenant are written while its context still holds; otherwise a
        # later autoflush would try to write them for whichever tenant is current then.
        flush_pending()
    finally:
        _tenant.reset(token)
        apply_tenant_setting()


def enter_tenant(tenant: TenantRef) -> None:
    """Request-scoped variant of tenant_context; `leave_tenant` runs at teardown."""
    from slrt.platform.db import apply_tenant_setting

    _tenant.set(tenant)
    apply_tenant_setting()


def leave_tenant() -> None:
    _tenant.set(None)
    _bypass.set(None)


@contextmanager
def platform_bypass(reason: str) -> Iterator[None]:
    """Read across tenants for a named platform purpose (e.g. Kemensos aggregates).

    The ORM drops its tenant criterion and the database session switches to the read-only
    slrt_platform_reader role for the transaction; writes to tenant tables stay impossible.
    """
    if not reason or not reason.strip():
        raise ValueError("a platform bypass needs a reason")
    from slrt.platform.db import apply_tenant_setting

    token = _bypass.set(reason)
    apply_tenant_setting()
    try:
        yield
    finally:
        _bypass.reset(token)
        apply_tenant_setting()
