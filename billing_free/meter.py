"""Usage metering: cheap counters on the hot path (Redis), flushed to PostgreSQL by a job.

Hot path: one HINCRBY on the hash `slrt:usage:live`, field `tenant|day|metric|village`.
Counts made inside a database transaction are sent only after it commits (a rolled-back intake
is not usage). API calls, counted on every request, are held in the process (`hold`) and sent
in batches: with the process's next reservation of API requests (`slrt.billing_free.quotas`),
before a flush, when the oldest is HOLD_SECONDS old, and when the process exits. A process
killed outright loses what it held (at most a few seconds' calls).

Flush (`flush()`, every few minutes):
1. a Lua script atomically RENAMEs the live hash to a new batch key `slrt:usage:batch:<uuid>`
   and remembers it in the set `slrt:usage:pending`; new counts start a fresh live hash;
2. each pending batch is written in ONE PostgreSQL transaction that also inserts the batch id
   into `usage_flush_batches`; a batch whose id is already there was written before a crash and
   is only deleted, so replays add nothing twice;
3. the batch key is deleted from Redis after the commit.
A crash between any two steps loses nothing and doubles nothing; losing Redis itself loses only
what was counted since the last flush. Gauges (active accounts, storage) are not counted but
measured from the database at flush time and written over the day's value.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import enum
import logging
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import redis
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from slrt.billing_free.funding import DISTRICT_LEVEL, funding_sources
from slrt.billing_free.models import UsageDaily, UsageFlushBatch
from slrt.billing_free.plans import district_today
from slrt.platform import db
from slrt.platform.config import setting
from slrt.platform.redis_client import forget_with_pool, get_redis
from slrt.platform.tenancy import current_tenant, tenant_context
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import after_commit

log = logging.getLogger(__name__)

LIVE_KEY = "slrt:usage:live"
PENDING_SET = "slrt:usage:pending"
BATCH_PREFIX = "slrt:usage:batch:"


class Metric(enum.StrEnum):
    API_CALLS = "api_calls"
    IMPORT_ROWS = "import_rows"
    JOBS_RUN = "jobs_run"
    EXPORTS = "exports"
    INTAKES = "intakes"
    REFERRALS = "referrals"
    # Gauges: measured at flush time, not counted.
    STORAGE_BYTES = "storage_bytes"
    ACTIVE_ACCOUNTS = "active_accounts"


GAUGES = (Metric.STORAGE_BYTES, Metric.ACTIVE_ACCOUNTS)
COUNTERS = tuple(m for m in Metric if m not in GAUGES)

METRIC_LABELS: dict[Metric, tuple[str, str]] = {
    Metric.API_CALLS: ("Permintaan API", "API requests"),
    Metric.IMPORT_ROWS: ("Baris diimpor", "Rows imported"),
    Metric.JOBS_RUN: ("Pekerjaan latar dijalankan", "Background jobs run"),
    Metric.EXPORTS: ("Ekspor", "Exports"),
    Metric.INTAKES: ("Layanan/keluhan diterima", "Intakes registered"),
    Metric.REFERRALS: ("Rujukan dikirim", "Referrals sent"),
    Metric.STORAGE_BYTES: ("Penyimpanan terpakai (byte, tertinggi)", "Storage used (bytes, peak)"),
    Metric.ACTIVE_ACCOUNTS: ("Akun aktif (tertinggi)", "Active accounts (peak)"),
}


def field_for(
    tenant_id: int, metric: Metric | str, village_code: str | None = None, day=None
) -> str:
    day = day or district_today()
    return f"{tenant_id}|{day.isoformat()}|{metric}|{village_code or ''}"


def _incr(field: str, n: int) -> None:
    from slrt.platform.redis_client import note_outage, redis_available

    try:
        if not redis_available():
            raise redis.ConnectionError("in an outage window")
        get_redis().hincrby(LIVE_KEY, field, n)
    except redis.RedisError as exc:
        # A public service keeps serving when its meter is down; the gap shows as missing usage.
        note_outage("usage meter", exc)
        log.info("usage counter lost (Redis unavailable): %s +%s", field, n)


# API calls served by this process and not yet sent to Redis: field -> count.
HOLD_SECONDS = 5.0
_held: Counter[str] = Counter()
_held_since: float | None = None
_held_lock = threading.Lock()


def hold(field: str, n: int = 1) -> None:
    """Count `n` for `field` in the process; sent with the next batch (at once if the held
    counts are HOLD_SECONDS old)."""
    global _held_since
    with _held_lock:
        _held[field] += n
        if _held_since is None:
            _held_since = time.monotonic()
        due = time.monotonic() - _held_since >= HOLD_SECONDS
    if due:
        send_held()


def take_held() -> dict[str, int]:
    """Everything held, taken out (to `send` with another command, or `put_back`)."""
    global _held_since
    with _held_lock:
        taken = dict(_held)
        _held.clear()
        _held_since = None
    return taken


def put_back(taken: dict[str, int]) -> None:
    """Counts whose sending failed are held again (the next batch carries them)."""
    global _held_since
    if not taken:
        return
    with _held_lock:
        _held.update(taken)
        if _held_since is None:
            _held_since = time.monotonic()


def send(pipe: redis.client.Pipeline, taken: dict[str, int]) -> None:
    """Add `taken` to the live counters in `pipe`."""
    for field, n in taken.items():
        pipe.hincrby(LIVE_KEY, field, n)


def _send_alone(taken: dict[str, int]) -> None:
    pipe = get_redis().pipeline(transaction=False)
    send(pipe, taken)
    pipe.execute()


def send_held() -> None:
    """Send what the process holds now, in its own round trip."""
    from slrt.platform.redis_client import note_outage, redis_available

    taken = take_held()
    if not taken:
        return
    if not redis_available():
        put_back(taken)
        return
    try:
        _send_alone(taken)
    except redis.RedisError as exc:
        put_back(taken)
        note_outage("usage meter", exc)


forget_with_pool(take_held)


@atexit.register
def _send_held_at_exit() -> None:
    # A process on its way out: what cannot be sent now is lost, and there is no one to tell.
    taken = take_held()
    if taken:
        with contextlib.suppress(Exception):
            _send_alone(taken)


def held_for(tenant_id: int) -> dict[tuple[str, str, str], int]:
    """This process's held counts of one district, keyed (day, metric, village)."""
    prefix = f"{tenant_id}|"
    with _held_lock:
        return {
            tuple(field.split("|")[1:]): n for field, n in _held.items() if field.startswith(prefix)
        }


def count(
    metric: Metric,
    n: int = 1,
    *,
    village_code: str | None = None,
    tenant_id: int | None = None,
) -> None:
    """Count `n` units of `metric` for the current district (its today), after commit.

    Pass the village code for usage that happens in a village (intakes, referrals) so statements
    can split it by the village's funding source."""
    if metric in GAUGES:
        raise ValueError(f"{metric} is a gauge, measured at flush time")
    if n <= 0:
        return
    tid = tenant_id if tenant_id is not None else current_tenant().id
    field = field_for(tid, metric, village_code)
    after_commit(lambda: _incr(field, n))


# --- flushing ----------------------------------------------------------------------------------

_MOVE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[3])
  redis.call('SADD', KEYS[2], KEYS[3])
  return 1
end
return 0
"""


@dataclass
class FlushResult:
    batches: int = 0
    replayed: int = 0
    fields: int = 0
    gauges: int = 0


def move_live_to_pending(conn: redis.Redis | None = None) -> str | None:
    """Step 1: atomically turn the live counters into a new pending batch; returns its key."""
    conn = conn or get_redis()
    key = BATCH_PREFIX + str(uuid.uuid4())
    moved = conn.eval(_MOVE_LUA, 3, LIVE_KEY, PENDING_SET, key)
    return key if moved else None


def _parse(fields: dict[bytes, bytes]) -> dict[int, list[tuple]]:
    by_tenant: dict[int, list[tuple]] = defaultdict(list)
    for raw_field, raw_value in fields.items():
        tenant_s, day_s, metric, village = raw_field.decode().split("|")
        by_tenant[int(tenant_s)].append((day_s, metric, village, int(raw_value)))
    return by_tenant


_insert = insert(UsageDaily)
# Counters add to the day's row (one statement, executed for many rows at once).
_ADD_STMT = _insert.on_conflict_do_update(
    constraint="uq_usage_daily_key",
    set_={"value": UsageDaily.value + _insert.excluded.value, "updated_at": sa.func.now()},
)


def write_batch(key: str, conn: redis.Redis | None = None) -> bool:
    """Step 2: write one pending batch to PostgreSQL in one transaction; True if written now,
    False if it had been written before (a replay after a crash)."""
    conn = conn or get_redis()
    batch_id = uuid.UUID(key.removeprefix(BATCH_PREFIX))
    fields = conn.hgetall(key)
    sess = db.session
    inserted = sess.execute(
        insert(UsageFlushBatch)
        .values(id=batch_id, fields=len(fields))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(UsageFlushBatch.id)
    ).scalar_one_or_none()
    if inserted is None:
        sess.rollback()
        return False
    by_tenant = _parse(fields)
    tenants = {
        t.id: t
        for t in sess.execute(sa.select(Tenant).where(Tenant.id.in_(list(by_tenant)))).scalars()
    }
    for tenant_id, rows in sorted(by_tenant.items()):
        tenant = tenants.get(tenant_id)
        if tenant is None:
            log.warning("usage for unknown tenant %s dropped", tenant_id)
            continue
        with tenant_context(tenant.ref()):
            villages = {village for _, _, village, _ in rows if village}
            sources = funding_sources(villages) if villages else {}
            sess.execute(
                _ADD_STMT,
                [
                    {
                        "tenant_id": tenant_id,
                        "day": dt.date.fromisoformat(day_s),
                        "metric": metric,
                        "village_code": village,
                        "funding_source": sources.get(village, DISTRICT_LEVEL)
                        if village
                        else DISTRICT_LEVEL,
                        "value": value,
                    }
                    for day_s, metric, village, value in rows
                ],
            )
    sess.commit()
    return True


def _forget_batch(key: str, conn: redis.Redis) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.delete(key)
    pipe.srem(PENDING_SET, key)
    pipe.execute()


def flush_counters(conn: redis.Redis | None = None) -> FlushResult:
    """Steps 1-3 for every pending batch (older crashed batches included)."""
    conn = conn or get_redis()
    result = FlushResult()
    send_held()  # this process's own calls go with this flush
    move_live_to_pending(conn)
    for raw in sorted(conn.smembers(PENDING_SET)):
        key = raw.decode()
        result.fields += conn.hlen(key)
        if write_batch(key, conn):
            result.batches += 1
        else:
            result.replayed += 1
        _forget_batch(key, conn)
    return result


def flush_gauges() -> int:
    """Measure active accounts and storage of every district and store today's peak."""
    from slrt.billing_free.plans import Quota
    from slrt.billing_free.quotas import active_accounts, current_use

    tenants = list(db.session.execute(sa.select(Tenant).order_by(Tenant.id)).scalars())
    written = 0
    for tenant in tenants:
        with tenant_context(tenant.ref()):
            day = district_today()
            for metric, measure in (
                (Metric.ACTIVE_ACCOUNTS, active_accounts),
                (Metric.STORAGE_BYTES, lambda: current_use(Quota.STORAGE)),
            ):
                value = measure()
                stmt = insert(UsageDaily).values(
                    tenant_id=tenant.id,
                    day=day,
                    metric=str(metric),
                    village_code="",
                    funding_source=DISTRICT_LEVEL,
                    value=value,
                )
                # A gauge keeps the day's highest reading: a statement shows the peak.
                db.session.execute(
                    stmt.on_conflict_do_update(
                        constraint="uq_usage_daily_key",
                        set_={
                            "value": sa.func.greatest(UsageDaily.value, stmt.excluded.value),
                            "updated_at": sa.func.now(),
                        },
                    )
                )
                written += 1
        db.session.commit()
    return written


def flush() -> FlushResult:
    """The scheduled job: counters then gauges."""
    result = flush_counters()
    result.gauges = flush_gauges()
    prune_batches()
    return result


_last_flush: float | None = None


def flush_if_due() -> None:
    """A scheduler step (every heartbeat): flush when SLRT_USAGE_FLUSH_SECONDS have passed since
    this process's last flush (at once on its first tick)."""
    global _last_flush
    interval = int(setting("SLRT_USAGE_FLUSH_SECONDS") or 300)
    if _last_flush is not None and time.monotonic() - _last_flush < interval:
        return
    flush()
    _last_flush = time.monotonic()


def prune_batches(keep_days: int = 30) -> None:
    """Batch ids are only needed while a replay is possible (minutes); keep a month."""
    db.session.execute(
        sa.delete(UsageFlushBatch).where(
            UsageFlushBatch.flushed_at
            < sa.func.now() - sa.text(f"interval '{int(keep_days)} days'")
        )
    )
    db.session.commit()


def unflushed_all(conn: redis.Redis | None = None) -> dict[int, dict[tuple[str, str, str], int]]:
    """Every district's counts still in Redis: {tenant_id: {(day, metric, village): value}}."""
    conn = conn or get_redis()
    out: dict[int, dict[tuple[str, str, str], int]] = defaultdict(lambda: defaultdict(int))
    keys = [LIVE_KEY] + [k.decode() for k in conn.smembers(PENDING_SET)]
    for key in keys:
        for raw_field, raw_value in conn.hscan_iter(key, count=1000):
            tenant_s, day_s, metric, village = raw_field.decode().split("|")
            out[int(tenant_s)][(day_s, metric, village)] += int(raw_value)
    return {tid: dict(values) for tid, values in out.items()}


def unflushed(tenant_id: int, conn: redis.Redis | None = None) -> dict[tuple[str, str, str], int]:
    """Counts of one district still in Redis (live and pending), keyed (day, metric, village):
    'current usage' shows them so a district sees its last minutes too."""
    conn = conn or get_redis()
    prefix = f"{tenant_id}|"
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    keys = [LIVE_KEY] + [k.decode() for k in conn.smembers(PENDING_SET)]
    for key in keys:
        for raw_field, raw_value in conn.hscan_iter(key, match=prefix + "*", count=1000):
            _, day_s, metric, village = raw_field.decode().split("|")
            out[(day_s, metric, village)] += int(raw_value)
    for held_key, n in held_for(tenant_id).items():
        out[held_key] += n
    return dict(out)
