"""Erasure leaves nothing readable: a resident with a full history (case, needs, assessment,
referrals rejected and fulfilled with texts naming them, letters, an attachment, a DTKS proposal
with its meeting's minutes, a registry export) is erased, then every table (text, jsonb and
binary columns alike, compressed spreadsheets opened), the file store and Redis are searched for
their NIK, KK, name, phone and address. The append-only audit trail keeps its events (and its
chain verifies); what they said about the resident can no longer be read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.chain import verify_district
from slrt.platform.redis_client import get_redis
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member, put_on_plan
from tests.platform.audit.test_read_coverage import _parepare
from tests.privacy import Marked, seed_marked_person


def _needles(marked: Marked) -> dict[str, bytes]:
    texts = {**marked.texts, "KK": marked.kk}
    return {what: value.encode() for what, value in texts.items()}


def _opened(blob: bytes) -> bytes:
    """The bytes and, for a zip (XLSX), every member's bytes too."""
    if blob[:2] != b"PK":
        return blob
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return blob + b"".join(archive.read(name) for name in archive.namelist())
    except zipfile.BadZipFile:
        return blob


def _found_in(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    opened = _opened(blob)
    return [what for what, needle in needles.items() if needle in opened]


def _database_hits(admin_engine: sa.Engine, needles: dict[str, bytes]) -> list[str]:
    hits = []
    with admin_engine.connect() as conn:
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in tables:
            for (row,) in conn.execute(sa.text(f'SELECT t::text FROM "{table}" t')):
                text = row.encode()
                found = _found_in(text, needles)
                # binary columns show as \x<hex>: look for the hex of each needle too
                found += [what for what, n in needles.items() if n.hex().encode() in text]
                if found:
                    hits.append(f"{table}: {sorted(set(found))} in {row[:200]}")
            columns = conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = :t AND data_type = 'bytea'"
                ),
                {"t": table},
            ).scalars()
            for column in columns:
                for (blob,) in conn.execute(sa.text(f'SELECT "{column}" FROM "{table}"')):
                    if blob and (found := _found_in(bytes(blob), needles)):
                        hits.append(f"{table}.{column} (opened): {found}")
    return hits


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def _file_hits(paths: set[Path], needles: dict[str, bytes]) -> list[str]:
    return [
        f"{path}: {found}"
        for path in sorted(paths)
        if path.is_file() and (found := _found_in(path.read_bytes(), needles))
    ]


def _redis_hits(needles: dict[str, bytes]) -> list[str]:
    redis = get_redis()
    hits = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key)
        if kind == b"string":
            values = [redis.get(key) or b""]
        elif kind == b"hash":
            values = [k + b"=" + v for k, v in redis.hgetall(key).items()]
        elif kind == b"list":
            values = redis.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(redis.smembers(key))
        elif kind == b"zset":
            values = redis.zrange(key, 0, -1)
        else:
            values = []
        blob = key + b"".join(values)
        if found := _found_in(blob, needles):
            hits.append(f"redis {key!r}: {found}")
    return hits


def test_erasure_leaves_the_person_nowhere(app, client, admin_engine, services, monkeypatch):
    # The file store outlives each test in a session: only this test's files are searched.
    files = Path(services["SLRT_DATA_DIR"])
    earlier = _files(files)
    parepare = _parepare(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    marked = seed_marked_person(app, parepare)
    ours = _files(files) - earlier
    assert _file_hits(ours, _needles(marked)), "the search finds the person's files"
    needles = _needles(marked)
    admin = member(app, parepare, "district_admin")
    # Read it all once (fills caches, writes read events), then erase.
    assert (
        client.get(
            f"/api/v1/t/parepare/persons/{marked.person_id}/export", headers=admin.headers
        ).status_code
        == 200
    )
    assert _database_hits(admin_engine, needles), "the search finds the person before erasure"
    resp = client.post(
        f"/api/v1/t/parepare/persons/{marked.person_id}/erase",
        json={"reason": "Permintaan penghapusan tertulis (UU PDP pasal 8)"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()

    hits = _database_hits(admin_engine, needles)
    hits += _file_hits(ours | (_files(files) - earlier), needles)
    hits += _redis_hits(needles)
    assert not hits, "\n".join(hits)

    # What is left reads as erased, and the history is whole.
    case = client.get(f"/api/v1/t/parepare/cases/{marked.case_id}", headers=admin.headers)
    assert case.status_code == 200 and marked.name not in case.get_data(as_text=True)
    trail = client.get(
        f"/api/v1/t/parepare/audit-events?entity_type=case&entity_id={marked.case_id}",
        headers=admin.headers,
    ).get_json()
    notes = {e["action"]: e["note"] for e in trail}
    assert notes["case.assess"] == "(data dihapus)"  # the event is there, its words are not
    with app.app_context(), tenant_context(parepare.ref()):
        assert verify_district("parepare").ok
        db.session.remove()
