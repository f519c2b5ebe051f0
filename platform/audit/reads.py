"""Reads of personal data, recorded by construction.

An area declares which of its rows hold personal data and whose they are
(`personal_rows(Case, lambda c: ("person", c.person_id))`), and how to follow one kind of
subject to a more precise one (`follow_subject("case", ...)`: a case to its person). A route that
returns personal data declares it: `@personal_data("case.read")` on the view (API operation or
page). While any request runs, every such row the ORM loads is noted; after a declared route
answered with success, one read event per kind of subject is written (actor, subjects by id,
the route, the address, the declared purpose), unless the view already recorded those subjects
itself. Reads that bypass the ORM name their subjects with `note_subjects`.

A test generated from the URL map calls every GET route with seeded marker persons and fails
when a response shows a marker without a read event naming that person.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg.sql
import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm.util import identity_key
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent, AuditKind
from slrt.platform.db import Base
from slrt.platform.tenancy import current_tenant, current_tenant_or_none

Subject = tuple[str, str]  # (kind, id), e.g. ("person", "7d1c...")

_SUBJECT_OF: dict[type, Callable[[Any], Subject | None]] = {}
_FOLLOW: dict[str, Callable[[list[str]], dict[str, Subject]]] = {}
# Audit events about these entities say something about a resident.
_AUDITED_ENTITIES: set[str] = {"person", "household", "case"}


@dataclass(frozen=True)
class PersonalRead:
    """A route's declaration: the audit action of its reads and, where it has one, why the
    data is shown."""

    action: str
    purpose: str | None = None


def personal_rows(model: type, subject: Callable[[Any], Subject | None]) -> None:
    """Rows of `model` hold personal data of `subject(row)` (None: of nobody in particular)."""
    _SUBJECT_OF[model] = subject


def follow_subject(
    kind: str, resolve: Callable[[list[str]], dict[str, Subject]], *, audited: bool = True
) -> None:
    """Subjects of `kind` stand for someone more precise: `resolve(ids)` maps each id to it
    (a case to its person, a referral to its case); ids it leaves out stay as they are.
    `audited`: audit events about this kind of entity name a resident too."""
    _FOLLOW[kind] = resolve
    if audited:
        _AUDITED_ENTITIES.add(kind)


def follow_column(key: Any, target: Any, kind: str) -> Callable[[list[str]], dict[str, Subject]]:
    """A resolver for `follow_subject`: rows whose `key` column is one of the ids point to the
    `kind` subject in their `target` column (e.g. Case.id -> Case.person_id as a person)."""
    entity = key.class_

    def resolve(ids: list[str]) -> dict[str, Subject]:
        tenant = current_tenant_or_none()
        loaded = db.session().identity_map
        found: dict[str, Subject] = {}
        wanted = []
        for ident in ids:
            try:
                row_id = uuid.UUID(ident)
            except ValueError:
                continue
            # The view has usually loaded the row itself: its column answers without a query.
            row = None if tenant is None else loaded.get(identity_key(entity, (tenant.id, row_id)))
            held = None if row is None else sa.inspect(row).dict
            if held is not None and target.key in held:
                if held[target.key] is not None:
                    found[ident] = (kind, str(held[target.key]))
            else:
                wanted.append(row_id)
        if wanted:
            rows = db.session.execute(sa.select(key, target).where(key.in_(wanted)))
            found.update({str(a): (kind, str(b)) for a, b in rows if b is not None})
        return found

    resolve.step = (key, target, kind)  # type: ignore[attr-defined]
    return resolve


def personal_data(
    action: str, *, purpose: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare that a view returns personal data: its reads are recorded after it answers."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.personal_read = PersonalRead(action, purpose)  # type: ignore[attr-defined]
        return view

    return mark


def declaration_of(view: Callable[..., Any] | None) -> PersonalRead | None:
    """The declaration on a view or on any function it wraps."""
    while view is not None:
        found = getattr(view, "personal_read", None)
        if isinstance(found, PersonalRead):
            return found
        view = getattr(view, "__wrapped__", None) or getattr(view, "view_class", None)
    return None


def note_subjects(subjects: Iterable[Subject]) -> None:
    """Name subjects a view shows without loading their rows through the ORM."""
    if has_request_context():
        g.setdefault("personal_subjects", set()).update(
            (kind, str(ident)) for kind, ident in subjects if ident is not None
        )


def note_links(kind: str, target_kind: str, links: Iterable[tuple[Any, Any]]) -> None:
    """A view that read where its `kind` subjects lead (each referral's case's person, say) says
    so: following them needs no query."""
    if has_request_context():
        known = g.setdefault("personal_links", {})
        for ident, target in links:
            if target is not None:
                known[(kind, str(ident))] = (target_kind, str(target))


def subject_of(row: Any) -> Subject | None:
    """Whose personal data `row` holds, as declared by its area (None: nobody's)."""
    subject = _SUBJECT_OF.get(type(row))
    return subject(row) if subject is not None else None


def subject_step(kind: str) -> tuple[Any, Any, str] | None:
    """How a subject of `kind` leads to the next: (key column, target column, next kind)."""
    return getattr(_FOLLOW.get(kind), "step", None)


def names_resident(entity_type: str | None) -> bool:
    """Whether audit events about this kind of entity concern a resident."""
    return entity_type in _AUDITED_ENTITIES


def _audit_subject(event_row: AuditEvent) -> Subject | None:
    if event_row.entity_type in _AUDITED_ENTITIES and event_row.entity_id:
        return (event_row.entity_type, event_row.entity_id)
    return None


personal_rows(AuditEvent, _audit_subject)


def _on_load(target: Any, context: Any) -> None:
    subject_of = _SUBJECT_OF.get(type(target))
    if subject_of is None or not has_request_context():
        return
    subject = subject_of(target)
    if subject is not None and subject[1] is not None:
        g.setdefault("personal_subjects", set()).add((subject[0], str(subject[1])))


event.listen(Base, "load", _on_load, propagate=True)


def _followed(subjects: set[Subject]) -> set[Subject]:
    """Each subject followed to the most precise one known (a few hops at most)."""
    for _ in range(4):
        by_kind: dict[str, list[str]] = {}
        for kind, ident in subjects:
            if kind in _FOLLOW:
                by_kind.setdefault(kind, []).append(ident)
        if not by_kind:
            return subjects
        changed = False
        result = set()
        for kind, ident in subjects:
            result.add((kind, ident))
        known = g.get("personal_links", {}) if has_request_context() else {}
        for kind, ids in by_kind.items():
            unique = sorted(set(ids))
            mapping = {i: known[(kind, i)] for i in unique if (kind, i) in known}
            rest = [i for i in unique if i not in mapping]
            if rest:
                mapping.update(_FOLLOW[kind](rest))
            for ident in ids:
                target = mapping.get(ident)
                if target is not None and target[1] is not None:
                    result.discard((kind, ident))
                    result.add((target[0], str(target[1])))
                    changed = True
        subjects = result
        if not changed:
            return subjects
    return subjects


def remember_recorded(kind: str, ids: Iterable[Any]) -> None:
    """A view recorded these reads itself: the declaration does not repeat them."""
    if has_request_context():
        g.setdefault("personal_recorded", set()).update((kind, str(i)) for i in ids)


# A transaction that writes nothing but the record of a read commits without waiting for the
# write-ahead log to reach the disk. Waiting made every read of a person take a disk flush while
# holding the district's audit-chain lock, so reads in one district queued behind each other.
# What it risks: if the PostgreSQL server itself crashes, the read records of its last fraction
# of a second (at most three wal_writer_delay, 0.6 s by default) are lost, the newest ones
# only, so the chain that remains still verifies. Answers already sent are never left without
# a record for any other failure (the app, the network, a refused write: the data is not sent).
# Every other write, and a read recorded together with one, waits for the disk as before.
#
# Such a read event goes with the COMMIT, in one message that also makes that setting
# (`db.send_with_commit`): the district's audit chain is locked from the event's INSERT to the
# COMMIT, so the lock is held only while the server runs them, and reads of one district do not
# queue behind a process that has yet to send its COMMIT.
_audit = AuditEvent.__table__
# Every column but those the server fills (the time, the chain's links).
_READ_EVENT_COLUMNS = [c.name for c in _audit.columns if c.server_default is None]
_QUICK_READ_EVENT = psycopg.sql.SQL(
    "SET LOCAL synchronous_commit TO off; INSERT INTO {table} ({columns}) VALUES ({values})"
).format(
    table=psycopg.sql.Identifier(_audit.name),
    columns=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, _READ_EVENT_COLUMNS)),
    values=psycopg.sql.SQL(", ").join(map(psycopg.sql.Placeholder, _READ_EVENT_COLUMNS)),
)


@functools.cache
def _read_event_processors(dialect: sa.Dialect) -> dict[str, Callable[[Any], Any]]:
    """Each column's own conversion of a value for the driver (JSON columns wrap theirs)."""
    processors = {}
    for name in _READ_EVENT_COLUMNS:
        type_ = _audit.c[name].type
        processor = type_.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return processors


def _read_event_values(values: dict[str, Any]) -> dict[str, Any]:
    processors = _read_event_processors(db.session.get_bind().dialect)
    return {
        name: processors[name](values.get(name)) if name in processors else values.get(name)
        for name in _READ_EVENT_COLUMNS
    }


def record_subject_reads(
    kind: str, action: str, ids: list[str], note: str | None, audit_kind: AuditKind
) -> None:
    """One audit event naming every subject of one kind (a single one by entity id)."""
    from slrt.platform.audit.record import event_values, record, with_circumstances
    from slrt.platform.transaction import action_depth

    if not ids:
        return
    entity_id = ids[0] if len(ids) == 1 else None
    after = {f"{kind}_ids": ids} if len(ids) != 1 else None
    sess = db.session()
    if audit_kind is AuditKind.read and action_depth() == 1 and not sess.new and not sess.dirty:
        # Nothing else is written in this transaction.
        values = event_values(
            audit_kind, action, kind, entity_id, after=with_circumstances(after), note=note
        )
        values.update(tenant_id=current_tenant().id, id=uuid7())
        db.send_with_commit(_QUICK_READ_EVENT, _read_event_values(values))
    else:
        record(audit_kind, action, kind, entity_id, after=after, note=note)
    remember_recorded(kind, ids)


def _write_reads(declared: PersonalRead, subjects: set[Subject]) -> None:
    from slrt.platform.transaction import action

    @action
    def write() -> None:
        grouped: dict[str, list[str]] = {}
        for kind, ident in sorted(subjects):
            grouped.setdefault(kind, []).append(ident)
        for kind, ids in grouped.items():
            record_subject_reads(kind, declared.action, ids, declared.purpose, AuditKind.read)

    write()


def _after_request(response: Response) -> Response:
    subjects = g.pop("personal_subjects", None)
    if not subjects or response.status_code >= 400:
        return response
    if request.method not in ("GET", "HEAD") and response.status_code != 200:
        return response  # a form posted and redirected: the write is audited by its action
    view = current_app.view_functions.get(request.endpoint or "")
    declared = declaration_of(view)
    if declared is None or current_tenant_or_none() is None:
        return response
    pending = _followed(set(subjects)) - _followed(set(g.get("personal_recorded", set())))
    if pending:
        # Fails closed: if the read cannot be recorded, the answer is an error, not the data.
        _write_reads(declared, pending)
    return response


def init_personal_reads(app: Flask) -> None:
    app.after_request(_after_request)


@functools.cache
def declared_endpoints(app: Flask) -> frozenset[str]:
    """Endpoints whose views declare personal data (for the generated coverage test)."""
    return frozenset(
        endpoint for endpoint, view in app.view_functions.items() if declaration_of(view)
    )
