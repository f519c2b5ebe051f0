"""Residents' free text kept under a key of their own (crypto-shredding).

What staff write about a resident (a case's description and notes, needs, referral outcomes and
rejection reasons, the history's notes, a DTKS proposal's reason, workflow notes in the
append-only audit trail) is stored encrypted with AES-256-GCM under a data key that belongs to
that one person. The data keys live in `person_keys`, each wrapped (encrypted) with the field
key SLRT_FIELD_KEY (`slrt.platform.field_crypto`), so a database dump without that setting
opens nothing. Erasing a person deletes their data key: every text sealed for them, including
events that may never be changed, becomes unreadable at once, while the rows, their counts and
states, and the audit chain stay whole.

Columns hold it with the `PersonalText` type. Code reads and assigns plain text: a flush seals
every new or changed value for the person the row is about (found like the subjects of a
recorded read, `slrt.platform.audit.reads`) and the plain text stays in memory; loading opens
it again, or shows `ERASED_TEXT` once the key is gone. A row about no known person (a case from
the public form before it has a subject) stays plain.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import uuid
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column

from slrt.platform.db import Base, TenantScoped, statement_mappers
from slrt.platform.field_crypto import field_cipher

PREFIX = "pd1:"
ERASED_TEXT = "(data dihapus)"
_CACHE = "slrt_person_keys"
_PLAIN = "slrt_sealed_plain"
_SHREDDED = "slrt_shredded_persons"


class PersonKey(TenantScoped, Base):
    """One resident's data key (`id` is the person's id), wrapped with the field key."""

    __tablename__ = "person_keys"

    wrapped_key: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "id"], ["persons.tenant_id", "persons.id"], ondelete="CASCADE"
        ),
    )


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _session() -> Session:
    from slrt.platform import db

    return db.session()


def _cache(session: Session) -> dict[str, bytes | None]:
    return session.info.setdefault(_CACHE, {})


def _load_key(session: Session, person_id: str) -> bytes | None:
    cache = _cache(session)
    if person_id not in cache:
        with session.no_autoflush:
            wrapped = session.execute(
                sa.select(PersonKey.wrapped_key).where(PersonKey.id == uuid.UUID(person_id))
            ).scalar_one_or_none()
        cache[person_id] = None if wrapped is None else field_cipher().decrypt(wrapped.encode())
    return cache[person_id]


def _key_for_sealing(session: Session, person_id: str) -> bytes | None:
    """The person's data key, made on first use; None once they were erased."""
    if person_id in session.info.get(_SHREDDED, set()):
        return None
    key = _load_key(session, person_id)
    if key is None:
        from slrt.platform.tenancy import current_tenant

        fresh = AESGCM.generate_key(bit_length=256)
        session.execute(
            pg_insert(PersonKey.__table__)
            .values(
                tenant_id=current_tenant().id,
                id=uuid.UUID(person_id),
                wrapped_key=field_cipher().encrypt(fresh).decode(),
            )
            .on_conflict_do_nothing()
        )
        _cache(session).pop(person_id, None)
        key = _load_key(session, person_id)
    return key


def _aad(person_id: str) -> bytes:
    return f"slrt-person-text:{person_id}".encode()


def seal(person_id: str, text: str, session: Session | None = None) -> str:
    """`text` encrypted under the person's key ("pd1:<person>:<nonce+ciphertext>"); an erased
    person's text is not kept at all."""
    session = session or _session()
    key = _key_for_sealing(session, person_id)
    if key is None:
        return ERASED_TEXT
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), _aad(person_id))
    blob = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"{PREFIX}{uuid.UUID(person_id).hex}:{blob}"


def open_text(value: str, session: Session | None = None) -> str:
    """The plain text of a sealed value, or ERASED_TEXT when its person's key is gone."""
    if not is_sealed(value):
        return value
    from slrt.platform.tenancy import current_tenant_or_none

    if current_tenant_or_none() is None:
        return ERASED_TEXT  # outside a district (cross-district reads): never the text
    person_hex, _, blob = value[len(PREFIX) :].partition(":")
    person_id = str(uuid.UUID(person_hex))
    key = _load_key(session or _session(), person_id)
    if key is None:
        return ERASED_TEXT
    raw = base64.urlsafe_b64decode(blob.encode())
    return AESGCM(key).decrypt(raw[:12], raw[12:], _aad(person_id)).decode()


def shred(person_id: uuid.UUID) -> int:
    """Delete the person's data key (erasure): every text sealed for them is unreadable from now
    on, and nothing new is sealed for them. Returns the number of keys deleted (0 or 1)."""
    session = _session()
    deleted = session.execute(sa.delete(PersonKey).where(PersonKey.id == person_id)).rowcount
    _cache(session)[str(person_id)] = None
    session.info.setdefault(_SHREDDED, set()).add(str(person_id))
    return int(deleted or 0)


_DEFERRING = "slrt_personal_text_deferring"
_WANTED = "slrt_personal_text_wanted"


class PersonalText(sa.TypeDecorator):
    """A text column of free text about a resident: sealed by the flush hook below, opened when
    loaded. Inside an ORM query the keys are fetched once for all its rows (`_open_in_bulk`),
    so a list costs one key query, not one per person."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None or not is_sealed(value):
            return value
        session = _session()
        if session.info.get(_DEFERRING):
            person_id = str(uuid.UUID(value[len(PREFIX) :].partition(":")[0]))
            if person_id not in _cache(session):
                session.info.setdefault(_WANTED, set()).add(person_id)
                return value  # opened by _open_in_bulk once the query's rows are in
        return open_text(value, session)


@functools.cache  # a mapper's columns are fixed once mapped; asked on every ORM query
def _has_personal_text(mapper: Any) -> bool:
    return any(isinstance(attr.columns[0].type, PersonalText) for attr in mapper.column_attrs)


def _preload(session: Session, person_ids: set[str]) -> None:
    cache = _cache(session)
    wanted = [uuid.UUID(p) for p in person_ids if p not in cache]
    if not wanted:
        return
    with session.no_autoflush:
        rows = session.execute(
            sa.select(PersonKey.id, PersonKey.wrapped_key).where(PersonKey.id.in_(wanted))
        ).all()
    found = {str(i): field_cipher().decrypt(w.encode()) for i, w in rows}
    for person_id in wanted:
        cache[str(person_id)] = found.get(str(person_id))


@event.listens_for(Session, "do_orm_execute")
def _open_in_bulk(state: Any) -> Any:
    """An ORM SELECT of rows with sealed text: its rows are read with the key lookups held
    back, then every missing key is fetched in one query and the texts opened."""
    from slrt.platform.tenancy import current_tenant_or_none

    if (
        not state.is_select
        or state.execution_options.get("yield_per")
        or state.execution_options.get("stream_results")
        or current_tenant_or_none() is None
        or not any(_has_personal_text(m) for m in statement_mappers(state))
    ):
        return None
    session = state.session
    session.info[_DEFERRING] = session.info.get(_DEFERRING, 0) + 1
    try:
        frozen = state.invoke_statement().freeze()
    finally:
        session.info[_DEFERRING] -= 1
    wanted = session.info.pop(_WANTED, set())
    if wanted:
        _preload(session, wanted)

        def opened(value: Any) -> Any:
            if is_sealed(value):
                return open_text(value, session)
            if value is not None and hasattr(value, "_sa_instance_state"):
                _open_instance(value, session)
            return value

        # rows are tuples of values, or (one entity per row) the values themselves
        frozen.data = [
            tuple(opened(v) for v in row) if isinstance(row, tuple | sa.Row) else opened(row)
            for row in frozen.data
        ]
    return frozen()


def _open_instance(obj: Any, session: Session) -> None:
    state = sa.inspect(obj)
    for name in _personal_columns(obj):
        value = state.dict.get(name)
        if is_sealed(value):
            attributes.set_committed_value(obj, name, open_text(value, session))


# --- sealing on flush -----------------------------------------------------------------------------


def _personal_columns(obj: Any) -> list[str]:
    mapper = sa.inspect(type(obj))
    return [
        attr.key for attr in mapper.column_attrs if isinstance(attr.columns[0].type, PersonalText)
    ]


def _person_of(session: Session, obj: Any) -> str | None:
    from slrt.platform.audit.reads import subject_of, subject_step

    subject = subject_of(obj)
    for _ in range(5):
        if subject is None or subject[1] is None:
            return None
        kind, ident = subject[0], str(subject[1])
        if kind == "person":
            return ident
        step = subject_step(kind)
        if step is None:
            return None
        key, target, next_kind = step
        found = None
        for pending in list(session.new) + list(session.identity_map.values()):
            if isinstance(pending, key.class_) and str(getattr(pending, key.key)) == ident:
                found = getattr(pending, target.key)
                break
        if found is None:
            with session.no_autoflush:
                found = session.execute(
                    sa.select(target).where(key == uuid.UUID(ident))
                ).scalar_one_or_none()
        subject = (next_kind, found)
    return None


@event.listens_for(Session, "before_flush")
def _seal_on_flush(session: Session, flush_context: Any, instances: Any) -> None:
    plain: list[tuple[Any, str, str]] = session.info.setdefault(_PLAIN, [])
    for obj in list(session.new) + list(session.dirty):
        columns = _personal_columns(obj)
        if not columns:
            continue
        state = sa.inspect(obj)
        changed = [
            name
            for name in columns
            if isinstance(getattr(obj, name), str)
            and not is_sealed(getattr(obj, name))
            and (state.pending or state.attrs[name].history.has_changes())
        ]
        if not changed or not getattr(obj, "seals_personal_text", lambda: True)():
            continue
        person_id = _person_of(session, obj)
        if person_id is None:
            continue
        for name in changed:
            text = getattr(obj, name)
            setattr(obj, name, seal(person_id, text, session))
            plain.append((obj, name, text))


@event.listens_for(Session, "after_flush_postexec")
def _keep_plain_in_memory(session: Session, flush_context: Any) -> None:
    """After the flush wrote the sealed values, the objects show the plain text again (without
    becoming dirty), so an answer built from them reads as before."""
    for obj, name, text in session.info.pop(_PLAIN, []):
        if name in sa.inspect(obj).dict:
            attributes.set_committed_value(obj, name, text)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PLAIN, None)
    session.info.pop(_CACHE, None)
    session.info.pop(_SHREDDED, None)


@event.listens_for(Session, "after_commit")
def _forget_shredded(session: Session) -> None:
    session.info.pop(_SHREDDED, None)
