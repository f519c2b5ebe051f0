"""Database core: declarative base, the TenantScoped mixin and the ORM half of tenant isolation.

Wall 1 (here): every ORM statement touching a tenant table gets `tenant_id = <current>` added,
new tenant rows are stamped, and with no tenant context a query raises NoTenantContext.
Wall 2 (migrations + `apply_tenant_setting`): PostgreSQL row-level security reads the
transaction-local setting `slrt.tenant_id`, written at the start of every transaction.

Also here: the engines (the primary, and the streaming replica the heavy read-only paths use
through `reads_from_replica` and `replica_session`), with both walls applied on each.
"""

from __future__ import annotations

import functools
import logging
import select
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

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
from sqlalchemy.util import ThreadLocalRegistry
from uuid6 import uuid7

from slrt.platform.commands.dbroles import PLATFORM_READER_ROLE
from slrt.platform.config import setting
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

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


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
_engine: sa.Engine | None = None
_replica_engine: sa.Engine | None = None
# True inside `reads_from_replica`: `session` then stands for the replica session of this thread.
_on_replica: ContextVar[bool] = ContextVar("slrt_on_replica", default=False)
REPLICA = "slrt_replica"
# How long a job waits for the replica to replay what the primary had written when it asked,
# before it reads from the primary instead.
REPLICA_CATCH_UP_SECONDS = 5.0


def _new_session() -> Session:
    if _on_replica.get():
        return _replica_session_now()
    return SessionFactory()


class _Sessions(ThreadLocalRegistry):
    """One session per thread and per side (primary, or replica inside `on_replica`); kept in
    thread-local storage like SQLAlchemy's own registry, so a finished thread's sessions go
    with it."""

    def _slots(self) -> dict[bool, Session]:
        slots = getattr(self.registry, "slots", None)
        if slots is None:
            slots = self.registry.slots = {}
        return slots

    def __call__(self) -> Session:
        slots, side = self._slots(), _on_replica.get()
        if side not in slots:
            slots[side] = self.createfunc()
        return slots[side]

    def has(self) -> bool:
        return _on_replica.get() in self._slots()

    def set(self, obj: Session) -> None:
        self._slots()[_on_replica.get()] = obj

    def clear(self) -> None:
        self._slots().pop(_on_replica.get(), None)


session: scoped_session[Session] = scoped_session(SessionFactory)
session.registry = _Sessions(_new_session)


def connect_args() -> dict[str, Any]:
    """psycopg connection arguments chosen by configuration."""
    if setting("SLRT_DB_PREPARED_STATEMENTS") == "0":
        # PgBouncer before 1.21 in transaction pooling does not follow a client's named
        # prepared statements from one backend to the next.
        return {"prepare_threshold": None}
    return {}


def _create_engine(url: str, name: str = "primary", **kw: Any) -> sa.Engine:
    """No pre-ping (a round trip before every checkout): a connection is checked without a round
    trip when it leaves the pool (`_refuse_dead_connection`), replaced after an hour
    (pool_recycle), and a request that still meets a lost connection answers 503 with
    Retry-After (slrt.platform.errors) while the pool drops every connection of that server."""
    kw.setdefault("pool_pre_ping", False)
    kw.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    kw.setdefault("pool_size", 5)
    kw.setdefault("max_overflow", 10)
    kw["connect_args"] = {**connect_args(), **kw.get("connect_args", {})}
    created = sa.create_engine(url, **kw)
    event.listen(created, "checkout", _refuse_dead_connection)
    event.listen(created, "commit", _send_with_commit)
    event.listen(created, "rollback", _drop_with_commit)
    for listener in _ENGINE_LISTENERS:
        listener(created, name)
    return created


# Called with every engine created and its name, "primary" or "replica" (metrics count pool
# use this way).
_ENGINE_LISTENERS: list[Callable[[sa.Engine, str], None]] = []


def init_engine(url: str, *, replica_url: str | None = None, **kw: Any) -> sa.Engine:
    """Bind the session factory to `url` (the app role) and, when `replica_url` or
    DATABASE_REPLICA_URL is set, open the replica engine beside it. Called by the app factory
    and by jobs after fork; disposes any engines inherited from a parent process."""
    global _engine, _replica_engine
    for old in (_engine, _replica_engine):
        if old is not None:
            old.dispose(close=False)
    _engine = _create_engine(url, **kw)
    if replica_url is None:
        from slrt.platform.runtime import database_replica_url

        replica_url = database_replica_url()
    _replica_engine = _create_engine(replica_url, "replica", **kw) if replica_url else None
    SessionFactory.configure(bind=_engine)
    session.remove()
    return _engine


POOL_RECYCLE_SECONDS = 3600

# Statements waiting to go with the COMMIT of their connection's transaction (send_with_commit).
_WITH_COMMIT = "slrt_with_commit"


def send_with_commit(statement: psycopg.sql.Composable, values: Mapping[str, Any]) -> None:
    """Send `statement` with the COMMIT of the session's transaction, in the same message, when
    the session commits (and never if it rolls back). The server runs both without waiting for
    this process in between, so a lock the statement takes is held only for that long, and the
    pair costs one round trip. The message holds several statements, which the protocol allows
    only without separate parameters: psycopg quotes `values` into it (as `ClientCursor` does,
    with the connection's own escaping)."""
    conn = session.connection()
    conn.info.setdefault(_WITH_COMMIT, []).append((statement, values))


# Each statement's text rendered once per encoding, by identity: a statement is composed once (a
# module's constant) and sent on every read; rendering it again each time cost more than quoting
# its values, and bytes let psycopg reuse its parse of the placeholders.
_rendered: dict[tuple[int, str], tuple[psycopg.sql.Composable, bytes]] = {}


def _render(statement: psycopg.sql.Composable, driver: psycopg.Connection) -> bytes:
    key = (id(statement), driver.info.encoding)
    hit = _rendered.get(key)
    if hit is None or hit[0] is not statement:
        if len(_rendered) >= 64:  # statements made on the fly: keep the cache small
            _rendered.clear()
        hit = _rendered[key] = (statement, statement.as_bytes(driver))
    return hit[1]


def _send_with_commit(conn: sa.Connection) -> None:
    pending = conn.info.pop(_WITH_COMMIT, None)
    if not pending:
        return
    driver = conn.connection.driver_connection
    quoting = psycopg.ClientCursor(driver)
    statements = [quoting.mogrify(_render(s, driver), v) for s, v in pending]
    # The driver then finds the transaction ended, and its own COMMIT sends nothing.
    _send_message(conn, "; ".join([*statements, "COMMIT"]))


_SENT = (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK)


def _send_message(conn: sa.Connection, message: str) -> None:
    """Send statements whose values are quoted in already as one message of the simple protocol,
    through libpq itself (PQexec, which waits for the answer without holding the GIL).

    For statements whose rows nobody reads (a transaction's setting, what goes with its COMMIT):
    a cursor's execution costs more in Python than these statements cost the server. The
    engine's cursor events still see the message, as they see every statement. A failure is
    raised as SQLAlchemy raises any (`DBAPIError`; a lost connection is invalidated, so the pool
    never hands it out again)."""
    events = conn.dispatch
    events.before_cursor_execute(conn, None, message, (), None, False)
    driver = conn.connection.driver_connection
    pgconn = driver.pgconn
    try:
        result = pgconn.exec_(message.encode(driver.info.encoding))
        if result.status not in _SENT:
            raise psycopg.errors.error_from_result(result, driver.info.encoding)
    except psycopg.Error as exc:
        if pgconn.status == psycopg.pq.ConnStatus.BAD:
            # Lost: SQLAlchemy finds it so on the next statement, as on any other (it drops
            # this connection and the pool's older ones, and says connection_invalidated).
            conn.exec_driver_sql("SELECT 1")
        raise sa.exc.DBAPIError.instance(
            message, None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc
    events.after_cursor_execute(conn, None, message, (), None, False)


def _drop_with_commit(conn: sa.Connection) -> None:
    if conn.invalidated:
        # Lost with its connection: the pool's next connection starts with an empty info (and
        # asking for this one's would try to reconnect inside the rollback).
        return
    conn.info.pop(_WITH_COMMIT, None)


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


# Both settings in one statement. set_config('role', ..., true) is SET LOCAL ROLE: it ends with
# the transaction, so it is safe behind PgBouncer in transaction pooling; 'none' is the login
# role (slrt_app), whose policies are the tenant's (FORCE ROW LEVEL SECURITY applies to it).
_SETTING_SQL = (
    "SELECT set_config('slrt.tenant_id', {tenant}, true), set_config('role', {role}, true)"
)
# The same for a replica session, which is also read-only (SET TRANSACTION READ ONLY): on a
# standby it is implied; on the primary (no replica configured) it proves the replica-safe paths
# never write. Turning a transaction read-only is allowed at any point of it.
_READ_ONLY_SETTING_SQL = (
    "SELECT set_config('transaction_read_only', 'on', true), "
    "set_config('slrt.tenant_id', {tenant}, true), set_config('role', {role}, true)"
)


def replica_engine() -> sa.Engine | None:
    """The replica's engine, or None when reads stay on the primary."""
    return _replica_engine


def _replica_session_now(min_lsn: str | None = None) -> Session:
    """A read-only session on the replica (on the primary when there is none, or when the
    replica has not replayed `min_lsn` within REPLICA_CATCH_UP_SECONDS)."""
    bind = _replica_engine
    if bind is not None and min_lsn is not None and not _replica_reached(bind, min_lsn):
        log.warning("replica behind %s after %.0f s: reading from the primary", min_lsn,
                    REPLICA_CATCH_UP_SECONDS)  # fmt: skip
        bind = None
    return SessionFactory(bind=bind or engine(), info={REPLICA: True})


def _replica_reached(bind: sa.Engine, lsn: str) -> bool:
    deadline = time.monotonic() + REPLICA_CATCH_UP_SECONDS
    with bind.connect() as conn:
        while True:
            replayed = conn.execute(
                # A server not in recovery (promoted, or a primary named here) has it all.
                sa.text(
                    "SELECT NOT pg_is_in_recovery() "
                    "OR pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"
                ),
                {"lsn": lsn},
            ).scalar()
            conn.rollback()
            if replayed or time.monotonic() > deadline:
                return bool(replayed)
            time.sleep(0.05)


def primary_lsn() -> str:
    """Where the primary's write-ahead log ends now: a read on a replica that has replayed
    this far sees everything committed before this call."""
    with engine().connect() as conn:
        return conn.execute(sa.text("SELECT CAST(pg_current_wal_lsn() AS text)")).scalar_one()


@contextmanager
def replica_session(*, fresh: bool = False) -> Iterator[Session]:
    """A read-only session on the replica, closed at the end of the block; the tenant setting
    and role of row-level security apply on it exactly as on the primary (after_begin).

    `fresh=True` (jobs): the replica must first have replayed everything the primary had
    written when the block started (what the user wrote before asking), else the block reads
    from the primary. Without it (dashboard GETs) the replica's small lag is accepted."""
    if _replica_engine is None:
        fresh = False
    sess = _replica_session_now(primary_lsn() if fresh else None)
    try:
        yield sess
    finally:
        sess.close()


@contextmanager
def on_replica(*, fresh: bool = False) -> Iterator[None]:
    """Inside the block `session` is a read-only replica session (see `replica_session` for
    `fresh`), closed at the end; writes after the block go to the primary again."""
    if _on_replica.get():
        yield
        return
    min_lsn = primary_lsn() if fresh and _replica_engine is not None else None
    token = _on_replica.set(True)
    try:
        session.registry.set(_replica_session_now(min_lsn))
        yield
    finally:
        session.remove()
        _on_replica.reset(token)


def reads_from_replica(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a view (a GET that writes nothing and shows nothing its reader just wrote:
    aggregates, summaries) as safe to serve from the replica. Put it nearest the function,
    under `require(...)`, so the caller's membership is still checked on the primary (a
    membership revoked a moment ago is refused at once)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with on_replica():
            return fn(*args, **kwargs)

    run.__slrt_replica__ = True  # type: ignore[attr-defined]
    return run


def on_replica_session() -> bool:
    """Whether `session` is a replica session here."""
    return _on_replica.get()


def _tenant_setting_sql(conn: sa.Connection, *, read_only: bool = False) -> None:
    tenant = current_tenant_or_none()
    role = PLATFORM_READER_ROLE if bypass_reason() else "none"
    driver = conn.connection.driver_connection
    # The driver would send its own BEGIN alone and wait for it: sent with the setting, the
    # transaction opens in one round trip.
    idle = driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    begin = _begin_of(driver) if idle and not driver.autocommit else ""
    _send_message(conn, _setting_message(tenant.id if tenant else None, role, read_only, begin))


def _begin_of(driver: psycopg.Connection) -> str:
    """The BEGIN the driver would send, with what its settings add (psycopg's own rule)."""
    parts = ["BEGIN"]
    if driver.isolation_level is not None:
        level = psycopg.IsolationLevel(driver.isolation_level).name.replace("_", " ")
        parts.append(f"ISOLATION LEVEL {level}")
    if driver.read_only is not None:
        parts.append("READ ONLY" if driver.read_only else "READ WRITE")
    if driver.deferrable is not None:
        parts.append("DEFERRABLE" if driver.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


@functools.lru_cache(maxsize=4096)
def _setting_message(tenant_id: int | None, role: str, read_only: bool, begin: str) -> str:
    template = psycopg.sql.SQL(_READ_ONLY_SETTING_SQL if read_only else _SETTING_SQL)
    tenant = psycopg.sql.Literal("" if tenant_id is None else str(tenant_id))
    setting = template.format(tenant=tenant, role=psycopg.sql.Literal(role)).as_string(None)
    return f"{begin}; {setting}" if begin else setting


@event.listens_for(Session, "after_begin")
def _after_begin(sess: Session, transaction, connection: sa.Connection) -> None:
    _tenant_setting_sql(connection, read_only=bool(sess.info.get(REPLICA)))


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
    _tenant_setting_sql(conn, read_only=bool(sess.info.get(REPLICA)))


def flush_pending() -> None:
    """Flush the current session if it holds unwritten changes."""
    if not session.registry.has():
        return
    sess = session()
    if sess.new or sess.dirty or sess.deleted:
        sess.flush()


# What a statement object reads, worked out once: `ORMExecuteState.all_mappers` goes through the
# statement's column descriptions on every call, and a statement built once (a module's constant)
# runs on every request.
_statement_mappers: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()
_statement_tenant_tables: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def statement_mappers(state: ORMExecuteState) -> tuple[Any, ...]:
    """`state.all_mappers`, kept per statement object."""
    found = _statement_mappers.get(state.statement)
    if found is None:
        found = _statement_mappers[state.statement] = tuple(state.all_mappers)
    return found


def _tenant_tables_in(state: ORMExecuteState) -> bool:
    found = _statement_tenant_tables.get(state.statement)
    if found is None:
        found = _statement_tenant_tables[state.statement] = _reads_tenant_tables(state)
    return found


def _reads_tenant_tables(state: ORMExecuteState) -> bool:
    for mapper in statement_mappers(state):
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
    state.statement = _scoped(state.statement)


def _criteria_tenant_id() -> int:
    tenant = current_tenant_or_none()
    if tenant is None:
        raise NoTenantContext("a query scoped to a district ran with no district in force")
    return tenant.id


# The district's id in the criteria is bound when the statement runs, from the district in force
# then (as row-level security reads it): one option and one scoped copy of each statement serve
# every district, and SQLAlchemy does not take the id out of a lambda's closure on every run.
_TENANT_ID = sa.bindparam("slrt_tenant_id", callable_=_criteria_tenant_id, type_=sa.Integer)
_TENANT_CRITERIA = with_loader_criteria(
    TenantScoped, lambda cls: cls.tenant_id == _TENANT_ID, include_aliases=True
)

# A statement built once (a module's constant, its values bound at execution) is scoped once: a
# new statement object per execution would have SQLAlchemy work out its cache key again every
# time. A statement built for one request is forgotten with it.
_scoped_statements: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _scoped(statement: Any) -> Any:
    scoped = _scoped_statements.get(statement)
    if scoped is None:
        scoped = _scoped_statements[statement] = statement.options(_TENANT_CRITERIA)
    return scoped


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


def one_or_404(
    stmt: sa.Select, not_found: Msg, *, lock: bool = False, params: Mapping[str, Any] | None = None
) -> Any:
    """The one row `stmt` selects (with `params` bound), or 404 with `not_found`. Every access
    helper ends here, so a row of another district, outside the caller's region or missing
    answers the same."""
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = session.execute(stmt, params).scalar_one_or_none()
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
