"""Database core: declarative base, the TenantScoped mixin and the ORM half of tenant isolation.

Wall 1 (here): every ORM statement touching a tenant table gets `tenant_id = <current>` added,
new tenant rows are stamped, and with no tenant context a query raises NoTenantContext.
Wall 2 (migrations + `apply_tenant_setting`): PostgreSQL row-level security reads the
transaction-local setting `slrt.tenant_id`, written at the start of every transaction.
"""

from __future__ import annotations

import functools
import select
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables
from uuid6 import uuid7

from slrt.platform.commands.dbroles import PLATFORM_READER_ROLE
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import NoTenantContext, bypass_reason, current_tenant_or_none

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_SETTING = "slrt.tenant_id"
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: postgresql.JSONB}
    # Values the server sets (updated_at = now()) come back in the INSERT or UPDATE itself
    # (RETURNING): showing the row after a write needs no second read, nor a new transaction.
    __mapper_args__ = {"eager_defaults": True}


def utcnow_column(**kw: Any) -> Mapped[Any]:
    return mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False, **kw
    )


class Timestamps:
    created_at: Mapped[Any] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False, sort_order=900
    )
    updated_at: Mapped[Any] = mapped_column(
        sa.DateTime(timezone=True),
        server_default=sa.func.now(),
        onupdate=sa.func.now(),
        nullable=False,
        sort_order=901,
    )


class TenantScoped:
    """Mixin for every table that lives inside one district.

    `tenant_id` is the first column of the composite primary key (tenant_id, id); foreign keys
    between tenant tables are built with `tenant_fk` so they include tenant_id as well.
    """

    __tenant_scoped__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            primary_key=True,
            sort_order=-100,
        )

    @declared_attr
    def id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(sa.Uuid, primary_key=True, default=uuid7, sort_order=-99)


def tenant_fk(
    local: str, target_table: str, *, ondelete: str | None = None, name: str | None = None
) -> sa.ForeignKeyConstraint:
    """A foreign key (tenant_id, local) -> target_table(tenant_id, id)."""
    return sa.ForeignKeyConstraint(
        ["tenant_id", local],
        [f"{target_table}.tenant_id", f"{target_table}.id"],
        ondelete=ondelete,
        name=name,
    )


def is_tenant_table(table: sa.Table) -> bool:
    return table.info.get("tenant_scoped", False)


@event.listens_for(TenantScoped, "instrument_class", propagate=True)
def _mark_tenant_table(mapper, cls) -> None:
    if getattr(cls, "__table__", None) is not None:
        cls.__table__.info["tenant_scoped"] = True


# --- engine and session -------------------------------------------------------------------

SessionFactory = sessionmaker(expire_on_commit=False)
session: scoped_session[Session] = scoped_session(SessionFactory)
_engine: sa.Engine | None = None


def init_engine(url: str, **kw: Any) -> sa.Engine:
    """Bind the session factory to `url` (the app role). Called by the app factory and by
    jobs after fork; disposes any engine inherited from a parent process.

    No pre-ping (a round trip before every checkout): a connection is checked without a round
    trip when it leaves the pool (`_refuse_dead_connection`), replaced after an hour
    (pool_recycle), and a request that still meets a lost connection answers 503 with
    Retry-After (slrt.platform.errors) while the pool drops every connection of that server."""
    global _engine
    if _engine is not None:
        _engine.dispose(close=False)
    kw.setdefault("pool_pre_ping", False)
    kw.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    kw.setdefault("pool_size", 5)
    kw.setdefault("max_overflow", 10)
    _engine = sa.create_engine(url, **kw)
    event.listen(_engine, "checkout", _refuse_dead_connection)
    SessionFactory.configure(bind=_engine)
    session.remove()
    return _engine


POOL_RECYCLE_SECONDS = 3600


def _refuse_dead_connection(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """An idle connection has nothing to read; if its socket is readable the server has closed
    it (restart, failover, idle timeout: PostgreSQL says why, then hangs up) or it is broken.
    The pool then opens another one (DisconnectionError), at no round trip's cost."""
    if dbapi_conn.closed:
        raise sa.exc.DisconnectionError("connection closed")
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError) as exc:
        raise sa.exc.DisconnectionError("connection unusable") from exc
    if readable:
        raise sa.exc.DisconnectionError("server closed the connection")


def engine() -> sa.Engine:
    if _engine is None:
        raise RuntimeError("database engine not initialised")
    return _engine


# Both settings in one round trip. set_config('role', ..., true) is SET LOCAL ROLE: it ends with
# the transaction, so it is safe behind PgBouncer in transaction pooling; 'none' is the login
# role (slrt_app), whose policies are the tenant's (FORCE ROW LEVEL SECURITY applies to it).
_SETTING_SQL = sa.text(
    "SELECT set_config('slrt.tenant_id', :tenant, true), set_config('role', :role, true)"
)


def _tenant_setting_sql(conn: sa.Connection) -> None:
    tenant = current_tenant_or_none()
    role = PLATFORM_READER_ROLE if bypass_reason() else "none"
    conn.execute(_SETTING_SQL, {"tenant": str(tenant.id) if tenant else "", "role": role})


@event.listens_for(Session, "after_begin")
def _after_begin(sess: Session, transaction, connection: sa.Connection) -> None:
    _tenant_setting_sql(connection)


def apply_tenant_setting() -> None:
    """Re-write the RLS setting on the current session's open transaction, if any, so a tenant
    entered mid-transaction takes effect at once."""
    if not session.registry.has():
        return
    sess = session()
    if not sess.in_transaction():
        return
    conn = sess.connection()
    status = conn.connection.dbapi_connection.info.transaction_status
    if status == psycopg.pq.TransactionStatus.INERROR:
        return  # an aborted transaction runs nothing more; the next one starts with after_begin
    _tenant_setting_sql(conn)


def flush_pending() -> None:
    """Flush the current session if it holds unwritten changes."""
    if not session.registry.has():
        return
    sess = session()
    if sess.new or sess.dirty or sess.deleted:
        sess.flush()


def _tenant_tables_in(state: ORMExecuteState) -> bool:
    for mapper in state.all_mappers:
        if getattr(mapper.class_, "__tenant_scoped__", False):
            return True
    try:
        tables = find_tables(state.statement, include_crud=True, include_joins=True)
    except Exception:
        return False
    return any(is_tenant_table(t) for t in tables if isinstance(t, sa.Table))


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria added to the parent statement propagate to these loads
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _tenant_tables_in(state):
        return
    if bypass_reason():
        return
    tenant = current_tenant_or_none()
    if tenant is None:
        raise NoTenantContext(
            "query on a tenant table with no tenant context; use tenant_context() or a named "
            "platform_bypass()"
        )
    tenant_id = tenant.id
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(sess: Session, flush_context, instances) -> None:
    touched = [o for o in (*sess.new, *sess.dirty, *sess.deleted) if isinstance(o, TenantScoped)]
    if not touched:
        return
    tenant = current_tenant_or_none()
    if tenant is None:
        raise NoTenantContext("writing a tenant row with no tenant context")
    for obj in touched:
        if obj.tenant_id is None:
            obj.tenant_id = tenant.id
        elif obj.tenant_id != tenant.id:
            raise NoTenantContext(
                f"{type(obj).__name__} belongs to tenant {obj.tenant_id}, not to {tenant.id}"
            )


_LOCKED = "slrt_locked_rows"


def one_or_404(stmt: sa.Select, not_found: Msg, *, lock: bool = False) -> Any:
    """The one row `stmt` selects, or 404 with `not_found`. Every access helper ends here, so a
    row of another district, outside the caller's region or missing answers the same."""
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise Problem(404, not_found)
    if lock:
        sess = session()
        sess.info.setdefault(_LOCKED, {})[sa.inspect(row).identity_key] = sess.get_transaction()
    return row


def locked_in_transaction(obj: Any) -> bool:
    """Whether `obj` was read FOR UPDATE (fresh) in the session's open transaction."""
    sess = session()
    state = sa.inspect(obj, raiseerr=False)
    if state is None or state.identity_key is None or not sess.in_transaction():
        return False
    return sess.info.get(_LOCKED, {}).get(state.identity_key) is sess.get_transaction()


def reuse_in_request(fn: Callable[..., T]) -> Callable[..., T]:
    """For an access helper `fn(id, *, lock=False)`: within one request, the row it returned for
    an id is returned again without a query (the blueprint resolves every path id before the
    view, and the view asks for the same row). `lock=True` always reads again, FOR UPDATE."""

    @functools.wraps(fn)
    def run(row_id: Any, *args: Any, **kwargs: Any) -> T:
        if args or kwargs.get("lock") or not has_request_context():
            return fn(row_id, *args, **kwargs)
        tenant = current_tenant_or_none()
        key = (fn, row_id, tenant.id if tenant else None, frozenset(kwargs.items()))
        rows = g.setdefault("slrt_resolved_rows", {})
        if key not in rows:
            rows[key] = fn(row_id, *args, **kwargs)
        return rows[key]

    return run
