"""Quota enforcement: the one module every feature calls.

- Count quotas (accounts, Puskesos units, storage): `check_count(Quota.ACCOUNTS, adding=1)`
  before creating the item, in the creating transaction. Over the limit it raises a 403
  problem+json naming the quota, the limit and the current use (Indonesian and English). A
  transaction-scoped advisory lock serialises concurrent checks of one district's quota, so two
  admins cannot both take the last seat.
- Rate quotas: API requests per minute (`check_api_rate`, called for every /api/v1/t/<tenant>/
  request by `slrt.billing_free.hooks`) and the daily ones (`take_daily` / `require_daily` for
  import rows and exports) answer 429 with Retry-After.
- Never by losing data: `take_daily` grants what is left of today's allowance; an import takes
  its chunk, stores the granted rows, and holds the rest until `resume_at` (the district's next
  midnight, in its own zone: a "day" is the district's day).
  With an idempotency key a retried chunk gets the same grant again instead of a second one.
- The jobs cap: `jobs_cap(tenant_id)` is the plan's "jobs running at once".
- Soft limit at 80%: `warnings()` feeds the SLRT-Quota-Warning header, `notices()` the district
  admin's notice list.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.models import Invitation, Membership
from slrt.billing_free import meter
from slrt.billing_free.meter import Metric, field_for, unflushed
from slrt.billing_free.models import UsageDaily
from slrt.billing_free.plans import (
    QUOTA_LABELS,
    EffectivePlan,
    Quota,
    district_today,
    effective_plan,
    next_district_midnight,
)
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.freshness import LocalCache, watch
from slrt.platform.i18n import zone_label
from slrt.platform.jobs.models import Job, JobFile
from slrt.platform.redis_client import (
    UNREACHABLE,
    forget_with_pool,
    get_redis,
    note_outage,
    redis_available,
)
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import after_commit
from slrt.tenants.flow.models import CaseAttachment
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

log = logging.getLogger(__name__)

SOFT_LIMIT = 0.8
SNAPSHOT_TTL_SECONDS = 30
DAILY_TTL_SECONDS = 2 * 86400
COUNT_QUOTAS = (Quota.ACCOUNTS, Quota.PUSKESOS, Quota.STORAGE)
DAILY_QUOTAS = {Quota.IMPORT_ROWS: Metric.IMPORT_ROWS, Quota.EXPORTS: Metric.EXPORTS}


# --- current use of the count quotas -------------------------------------------------------


def _pending_invitations() -> int:
    """Invitations of the current district still waiting to be accepted: each holds a seat, so
    an admin cannot promise more accounts than the plan allows."""
    now = sa.func.now()
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    ).scalar_one()


def _seats() -> int:
    """The accounts quota counts active members plus pending invitations."""
    return active_accounts() + _pending_invitations()


def active_accounts() -> int:
    """Accounts with an active membership in the current district (platform staff excluded)."""
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Membership)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.status == "active", Account.status == "active")
    ).scalar_one()


def _active_puskesos() -> int:
    """Active Puskesos units of the current district (the secretariat is not one)."""
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(ServicePoint)
        .where(ServicePoint.kind == ServicePointKind.puskesos, ServicePoint.active.is_(True))
    ).scalar_one()


# Current use per count quota, measured in the current tenant's context.
COUNT_SOURCES: dict[Quota, Callable[[], int]] = {
    Quota.ACCOUNTS: _seats,
    Quota.PUSKESOS: _active_puskesos,
}


def _case_attachment_bytes() -> int:
    return db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(CaseAttachment.size), 0))
    ).scalar_one()


def _job_file_bytes() -> int:
    return db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(JobFile.size), 0))
    ).scalar_one()


# Stored bytes per kind of file, measured in the current tenant's context: the service flow's
# case attachments (KTP, KK, SKTM scans, photos) and the jobs' files (uploaded spreadsheets,
# exports, error reports). Meeting minutes of DTKS proposals are checked on upload but not
# summed here: their size is not recorded.
STORAGE_SOURCES: list[Callable[[], int]] = [_case_attachment_bytes, _job_file_bytes]


def _storage_bytes() -> int:
    return sum(int(source()) for source in STORAGE_SOURCES)


def current_use(quota: Quota) -> int:
    """How much of a count quota the current district uses now (0 for a kind of thing no
    feature has registered: nothing of it exists)."""
    if quota == Quota.STORAGE:
        return _storage_bytes()
    if quota not in COUNT_QUOTAS:
        raise ValueError(f"{quota} is not a count quota")
    source = COUNT_SOURCES.get(quota)
    return int(source()) if source else 0


# --- the plan in force, cached briefly in Redis ---------------------------------------------------


def _snapshot_key(tenant_id: int) -> str:
    return f"slrt:quota:snapshot:{tenant_id}"


# The plan in force and the soft-limit header, also kept in the process (every API request of a
# district needs both): a plan change is seen by every process on its next request (a new epoch,
# slrt.platform.freshness); a counted addition by this process at once, by others within
# SLRT_LOCAL_CACHE_SECONDS.
_PLANS: LocalCache[int, EffectivePlan] = LocalCache("plans", max_entries=2048)
_WARNINGS: LocalCache[int, str] = LocalCache("quota-warnings", max_entries=2048)
watch("plans", "plan_assignments")


def plan_for(tenant_id: int) -> EffectivePlan:
    """The tenant's plan, from the process's cache, else a 30-second Redis cache (dropped at
    once on plan changes)."""
    return _PLANS.get(tenant_id, lambda: _shared_plan(tenant_id))


def _shared_plan(tenant_id: int) -> EffectivePlan:
    if not redis_available():
        return effective_plan(tenant_id)
    conn = get_redis()
    key = _snapshot_key(tenant_id)
    try:
        cached = conn.get(key)
    except redis.RedisError as exc:
        note_outage("quota snapshot", exc)
        return effective_plan(tenant_id)
    if cached:
        return EffectivePlan.from_json(json.loads(cached))
    plan = effective_plan(tenant_id)
    try:
        conn.set(key, json.dumps(plan.as_json()), ex=SNAPSHOT_TTL_SECONDS)
    except redis.RedisError as exc:
        note_outage("quota snapshot", exc)
    return plan


def _warning_key(tenant_id: int) -> str:
    return f"slrt:quota:warning:{tenant_id}"


def forget_snapshot(tenant_id: int) -> None:
    """Drop the cached plan and soft-limit state (after a plan change or a counted addition)."""
    _PLANS.forget(tenant_id)
    _WARNINGS.forget(tenant_id)
    try:
        get_redis().delete(_snapshot_key(tenant_id), _warning_key(tenant_id))
    except redis.RedisError:
        log.warning("quota snapshot not dropped (Redis unavailable); it expires by itself")


# --- refusals -----------------------------------------------------------------------------------


def _fmt(quota: Quota, value: int) -> str:
    if quota == Quota.STORAGE:
        return f"{value:,} byte ({value / 1024**3:.2f} GiB)".replace(",", ".")
    return f"{value:,}".replace(",", ".")


def _fmt_en(quota: Quota, value: int) -> str:
    if quota == Quota.STORAGE:
        return f"{value:,} bytes ({value / 1024**3:.2f} GiB)"
    return f"{value:,}"


class QuotaExceeded(Problem):
    """403: a count quota is full. The body names the quota, the limit and the current use."""

    def __init__(
        self, quota: Quota, plan: EffectivePlan, used: int, adding: int, **breakdown: int
    ) -> None:
        limit = plan.limit(quota)
        label_id, label_en = QUOTA_LABELS[quota]
        note_id = note_en = ""
        if breakdown.get("pending_invitations"):
            n = breakdown["pending_invitations"]
            note_id = f" (termasuk {n} undangan yang belum diterima)"
            note_en = f" (including {n} invitation(s) not yet accepted)"
        super().__init__(
            403,
            Msg(
                f"Kuota {label_id} paket {plan.name} sudah penuh: terpakai {_fmt(quota, used)}"
                f"{note_id} dari batas {_fmt(quota, limit)}, sehingga {_fmt(quota, adding)} lagi "
                "tidak dapat ditambahkan. Data yang ada tetap tersimpan. Nonaktifkan yang tidak "
                "dipakai atau minta Kemensos mengganti paket.",
                f"The {label_en} quota of plan {plan.name} is full: {_fmt_en(quota, used)} in "
                f"use{note_en} of a limit of {_fmt_en(quota, limit)}, so {_fmt_en(quota, adding)} "
                "more cannot be added. Existing data is kept. Deactivate what is not in use or "
                "ask Kemensos for another plan.",
            ),
            type="https://slrt.kemensos.go.id/problems/quota-exceeded",
            quota=str(quota),
            quota_label=label_id,
            quota_label_en=label_en,
            plan=plan.key,
            limit=limit,
            used=used,
            requested=adding,
            **breakdown,
        )


class RateLimited(Problem):
    """429 with Retry-After: a rate quota (per minute or per day) is used up for now."""

    def __init__(self, quota: Quota, plan: EffectivePlan, used: int, retry_after: int) -> None:
        limit = plan.limit(quota)
        label_id, label_en = QUOTA_LABELS[quota]
        retry_after = max(1, int(retry_after))
        super().__init__(
            429,
            Msg(
                f"Batas {label_id} paket {plan.name} tercapai ({_fmt(quota, used)} dari "
                f"{_fmt(quota, limit)}). Coba lagi dalam {retry_after} detik.",
                f"The {label_en} limit of plan {plan.name} is reached ({_fmt_en(quota, used)} "
                f"of {_fmt_en(quota, limit)}). Try again in {retry_after} seconds.",
            ),
            headers={"Retry-After": str(retry_after)},
            type="https://slrt.kemensos.go.id/problems/rate-limited",
            quota=str(quota),
            quota_label=label_id,
            quota_label_en=label_en,
            plan=plan.key,
            limit=limit,
            used=used,
            retry_after=retry_after,
        )


# --- count quotas ---------------------------------------------------------------------------------

_LOCK_CLASS = {q: 0x51540000 + i for i, q in enumerate(COUNT_QUOTAS)}


def check_count(quota: Quota, adding: int = 1) -> None:
    """Refuse (403) adding `adding` units of a count quota in the current district if the
    result would exceed the plan's limit. Call it in the transaction that adds the item."""
    if quota not in COUNT_QUOTAS:
        raise ValueError(f"{quota} is not a count quota")
    tenant = current_tenant()
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS[quota], tenant.id)))
    plan = plan_for(tenant.id)
    used = current_use(quota)
    if used + adding > plan.limit(quota):
        breakdown = {}
        if quota == Quota.ACCOUNTS:
            breakdown["pending_invitations"] = _pending_invitations()
        raise QuotaExceeded(quota, plan, used, adding, **breakdown)
    after_commit(lambda: forget_snapshot(tenant.id))


# --- API requests per minute -------------------------------------------------------------------
# A process does not ask Redis for every request: it reserves a few of the district's requests
# of the minute at a time (a lease: INCRBY on the minute's counter) and serves them from memory.
# Leases start at one request and double while the process keeps serving the district, up to
# LEASE_MAX, and never take more than a LEASE_SHARE-th of what the district has left, so near
# the limit every request asks Redis again and the limit holds exactly. The district is never
# served more than its limit; what a process reserved and did not use by the end of the minute
# is lost to that minute (at most LEASE_MAX per process that served the district).

LEASE_MAX = 16
LEASE_SHARE = 8


def _minute_window(now: float) -> tuple[int, int]:
    window = int(now // 60)
    retry_after = max(1, math.ceil((window + 1) * 60 - now))
    return window, retry_after


def _rate_key(tenant_id: int, window: int) -> str:
    return f"slrt:quota:rate:{tenant_id}:{window}"


@dataclass
class _Lease:
    window: int
    left: int  # requests this process may still serve in the window
    counted: int  # the district's count when this process last reserved (what it reserved in)
    size: int  # the last reservation's size


_leases: dict[int, _Lease] = {}
_leases_lock = threading.Lock()
forget_with_pool(_leases.clear)


def _lease_size(lease: _Lease | None, window: int, limit: int) -> int:
    size = 1
    if lease is not None and lease.window >= window - 1:
        size = min(LEASE_MAX, lease.size * 2)
    known = lease.counted if lease is not None and lease.window == window else 0
    return max(1, min(size, (limit - known) // LEASE_SHARE))


def check_api_rate(tenant_id: int) -> tuple[EffectivePlan, int]:
    """Count one API request of a district in the current minute (and meter it as api_calls);
    raise 429 once the plan's per-minute limit is used up. Fixed one-minute windows."""
    plan = plan_for(tenant_id)
    limit = plan.limit(Quota.API_PER_MINUTE)
    window, retry_after = _minute_window(time.time())
    field = field_for(tenant_id, Metric.API_CALLS)
    with _leases_lock:
        lease = _leases.get(tenant_id)
        if lease is not None and lease.window == window and lease.left > 0:
            lease.left -= 1
            used = lease.counted - lease.left
            served = True
        else:
            size = _lease_size(lease, window, limit)
            served = False
    if served:
        meter.hold(field)
        return plan, used
    if not redis_available():
        return plan, 0  # fail open while Redis is out of reach (logged once per window)
    key = _rate_key(tenant_id, window)
    held = meter.take_held()
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.incrby(key, size)
        pipe.expire(key, 120)
        meter.send(pipe, held)
        counted = int(pipe.execute()[0])
    except redis.RedisError as exc:
        meter.put_back(held)
        note_outage("API rate limit", exc)
        return plan, 0
    granted = max(0, min(size, limit - (counted - size)))
    if not granted:
        raise RateLimited(Quota.API_PER_MINUTE, plan, limit, retry_after)
    meter.hold(field)
    counted -= size - granted
    with _leases_lock:
        lease = _leases.get(tenant_id)
        if lease is not None and lease.window == window:
            lease.left += granted - 1  # another thread of this process reserved meanwhile
            lease.counted, lease.size = max(lease.counted, counted), size
        else:
            lease = _leases[tenant_id] = _Lease(window, granted - 1, counted, size)
        return plan, lease.counted - lease.left


def api_requests_this_minute(tenant_id: int) -> int:
    """The district's requests of this minute, as reserved by the processes serving it."""
    window, _ = _minute_window(time.time())
    try:
        value = get_redis().get(_rate_key(tenant_id, window))
    except UNREACHABLE as exc:
        note_outage("API rate reading", exc)
        return 0
    return int(value or 0)


# --- daily quotas -----------------------------------------------------------------------------

_TAKE_LUA = """
if ARGV[6] == '1' then
  local prev = redis.call('GET', KEYS[2])
  if prev then return {tonumber(prev), -1} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
end
local used = tonumber(redis.call('GET', KEYS[1]))
local n = tonumber(ARGV[1])
local room = tonumber(ARGV[2]) - used
if room < 0 then room = 0 end
local grant = n
if grant > room then
  if ARGV[5] == '1' then grant = room else grant = 0 end
end
if grant > 0 then redis.call('INCRBY', KEYS[1], grant) end
if ARGV[6] == '1' then redis.call('SET', KEYS[2], grant, 'EX', ARGV[4]) end
return {grant, used}
"""


@dataclass(frozen=True)
class Grant:
    """What a daily quota allows now: `granted` of `requested`; the rest waits for
    `resume_at` (the district's next midnight)."""

    quota: Quota
    requested: int
    granted: int
    limit: int
    resume_at: dt.datetime

    @property
    def held(self) -> bool:
        return self.granted < self.requested

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.resume_at - dt.datetime.now(dt.UTC)).total_seconds()))


def _daily_key(tenant_id: int, quota: Quota, day: dt.date) -> str:
    return f"slrt:quota:daily:{tenant_id}:{day.isoformat()}:{quota}"


def _daily_seed(tenant_id: int, quota: Quota, day: dt.date) -> int:
    """Today's use as PostgreSQL and the unflushed counters know it: the starting point when
    Redis has no counter for today (first use of the day, or Redis lost its data)."""
    metric = DAILY_QUOTAS[quota]
    stored = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(UsageDaily.value), 0)).where(
            UsageDaily.day == day, UsageDaily.metric == str(metric)
        )
    ).scalar_one()
    pending = sum(
        v for (d, m, _), v in unflushed(tenant_id).items() if d == day.isoformat() and m == metric
    )
    return int(stored) + pending


def take_daily(
    quota: Quota,
    n: int,
    *,
    key: str | None = None,
    partial: bool = True,
    now: dt.datetime | None = None,
) -> Grant:
    """Take up to `n` units of today's allowance of a daily quota for the current district.

    `partial=True` grants what is left (an import stores those rows and holds the rest);
    `partial=False` grants all or nothing. `key` makes the call idempotent for a day: a retried
    chunk with the same key gets the grant it had, not a second one."""
    if quota not in DAILY_QUOTAS:
        raise ValueError(f"{quota} is not a daily quota")
    tenant = current_tenant()
    plan = plan_for(tenant.id)
    day = district_today(now)
    counter = _daily_key(tenant.id, quota, day)
    grant_key = f"slrt:quota:grant:{tenant.id}:{day.isoformat()}:{quota}:{key or ''}"
    conn = get_redis()
    seed = 0 if conn.exists(counter) else _daily_seed(tenant.id, quota, day)
    granted, _used = conn.eval(
        _TAKE_LUA,
        2,
        counter,
        grant_key,
        n,
        plan.limit(quota),
        seed,
        DAILY_TTL_SECONDS,
        "1" if partial else "0",
        "1" if key else "0",
    )
    if int(granted) > 0:
        conn.delete(_warning_key(tenant.id))
    return Grant(
        quota=quota,
        requested=n,
        granted=int(granted),
        limit=plan.limit(quota),
        resume_at=next_district_midnight(now),
    )


def require_daily(quota: Quota, n: int = 1) -> Grant:
    """All of `n` now or a 429 with Retry-After until the next day (e.g. one export)."""
    grant = take_daily(quota, n, partial=False)
    if grant.granted < n:
        tenant = current_tenant()
        raise RateLimited(
            quota, plan_for(tenant.id), daily_used(tenant.id, quota), grant.retry_after
        )
    return grant


def daily_used(tenant_id: int, quota: Quota, day: dt.date | None = None) -> int:
    day = day or district_today()
    try:
        value = get_redis().get(_daily_key(tenant_id, quota, day)) if redis_available() else None
    except UNREACHABLE as exc:
        note_outage("daily quota use", exc)
        value = None
    if value is None:
        return _daily_seed(tenant_id, quota, day)
    return int(value)


# --- jobs -----------------------------------------------------------------------------------------


def jobs_cap(tenant_id: int) -> int:
    """How many of a district's background jobs may run at once (its plan's quota)."""
    return plan_for(tenant_id).limit(Quota.CONCURRENT_JOBS)


def running_jobs() -> int:
    """Jobs of the current district running now."""
    return db.session.execute(
        sa.select(sa.func.count()).select_from(Job).where(Job.status == "running")
    ).scalar_one()


def held_jobs() -> list[Job]:
    """Jobs of the current district paused by a quota (they resume by themselves)."""
    return list(
        db.session.execute(
            sa.select(Job).where(Job.status == "held").order_by(Job.created_at, Job.id)
        ).scalars()
    )


# --- status, warnings and notices -----------------------------------------------------------


@dataclass(frozen=True)
class QuotaStatus:
    quota: Quota
    limit: int
    used: int | None  # None: not measured here

    @property
    def ratio(self) -> float:
        if self.used is None:
            return 0.0
        if self.limit <= 0:
            return math.inf if self.used > 0 else 0.0
        return self.used / self.limit

    @property
    def level(self) -> str:
        if self.used is None:
            return "ok"
        if self.used >= self.limit:
            return "limit"
        if self.ratio >= SOFT_LIMIT:
            return "warning"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        label_id, label_en = QUOTA_LABELS[self.quota]
        return {
            "quota": str(self.quota),
            "label": label_id,
            "label_en": label_en,
            "limit": self.limit,
            "used": self.used,
            "level": self.level,
        }


def _measure(tenant_id: int, quota: Quota) -> int:
    """How much of one quota the current district uses right now."""
    if quota in COUNT_QUOTAS:
        return current_use(quota)
    if quota in DAILY_QUOTAS:
        return daily_used(tenant_id, quota)
    if quota == Quota.API_PER_MINUTE:
        return api_requests_this_minute(tenant_id)
    return running_jobs()  # Quota.CONCURRENT_JOBS


def status(tenant_id: int, only: Iterable[Quota] = tuple(Quota)) -> list[QuotaStatus]:
    """Every quota (or the `only` ones) of the current district with its limit and use now."""
    plan = plan_for(tenant_id)
    return [QuotaStatus(q, plan.limit(q), _measure(tenant_id, q)) for q in only]


# The per-minute API rate is answered by 429 within the minute and running jobs by holding the
# next one: a soft-limit warning about either would only be noise, so neither is even measured.
WARNED_QUOTAS = tuple(q for q in Quota if q not in (Quota.API_PER_MINUTE, Quota.CONCURRENT_JOBS))


def warnings(tenant_id: int) -> list[QuotaStatus]:
    """Quotas at or above the soft limit (80%), measuring only the ones that are warned about."""
    return [s for s in status(tenant_id, WARNED_QUOTAS) if s.level != "ok"]


def warning_header(tenant_id: int) -> str | None:
    """`accounts=41/50, import_rows_per_day=9000/10000` for quotas past 80%, or None. Cached
    for 30 seconds (dropped at once when a counted item is added or the plan changes), so API
    requests do not each count rows."""
    return _WARNINGS.get(tenant_id, lambda: _shared_warning(tenant_id)) or None


def _shared_warning(tenant_id: int) -> str:
    if not redis_available():
        return ""  # a warning is not worth waiting for Redis
    conn = get_redis()
    key = _warning_key(tenant_id)
    cached = conn.get(key)
    if cached is not None:
        return cached.decode()
    items = warnings(tenant_id)
    value = ", ".join(f"{s.quota}={s.used}/{s.limit}" for s in items)
    conn.set(key, value, ex=SNAPSHOT_TTL_SECONDS)
    return value


def notices(tenant_id: int) -> list[dict[str, Any]]:
    """What the district admin should know now: quotas near or at their limit, held imports'
    resumption, a trial plan ending."""
    plan = plan_for(tenant_id)
    out: list[dict[str, Any]] = []
    for s in warnings(tenant_id):
        label_id, label_en = QUOTA_LABELS[s.quota]
        pct = 100 if s.limit == 0 else round(100 * s.used / s.limit)
        if s.level == "limit":
            text = Msg(
                f"Kuota {label_id} paket {plan.name} sudah penuh ({_fmt(s.quota, s.used)} dari "
                f"{_fmt(s.quota, s.limit)}). Penambahan baru ditolak; data yang ada tetap aman.",
                f"The {label_en} quota of plan {plan.name} is full ({_fmt_en(s.quota, s.used)} "
                f"of {_fmt_en(s.quota, s.limit)}). New additions are refused; existing data is "
                "safe.",
            )
        else:
            text = Msg(
                f"Pemakaian {label_id} sudah {pct}% dari kuota paket {plan.name} "
                f"({_fmt(s.quota, s.used)} dari {_fmt(s.quota, s.limit)}).",
                f"{label_en.capitalize()} use is at {pct}% of plan {plan.name}'s quota "
                f"({_fmt_en(s.quota, s.used)} of {_fmt_en(s.quota, s.limit)}).",
            )
        if s.quota == Quota.IMPORT_ROWS and s.level == "limit":
            label = zone_label()
            text = Msg(
                text + " Impor yang melewati batas ditahan dan dilanjutkan otomatis besok "
                f"pukul 00.00 {label}, tanpa baris yang hilang.",
                text.en + " Imports over the limit are held and resume automatically tomorrow "
                f"at 00:00 {label}, with no row lost.",
            )
        out.append(
            {**s.as_dict(), "code": f"quota.{s.level}", "message": str(text), "message_en": text.en}
        )
    for job in held_jobs():
        text = Msg(
            f"Pekerjaan {job.kind} ditahan oleh kuota dan akan dilanjutkan otomatis: "
            f"{job.progress_message or ''}".rstrip(": "),
            f"Job {job.kind} is held by a quota and resumes by itself.",
        )
        out.append(
            {
                "code": "job.held",
                "level": "warning",
                "quota": str(Quota.IMPORT_ROWS) if "import" in job.kind else None,
                "label": None,
                "label_en": None,
                "limit": None,
                "used": None,
                "job_id": str(job.id),
                "message": str(text),
                "message_en": text.en,
            }
        )
    if plan.expires_on is not None:
        days = (plan.expires_on - district_today()).days
        if days <= 14:
            if days < 0:
                text = Msg(
                    f"Masa paket {plan.name} berakhir pada {plan.expires_on.isoformat()}. Kuota "
                    "tetap berlaku; minta Kemensos menetapkan paket berikutnya.",
                    f"Plan {plan.name} ended on {plan.expires_on.isoformat()}. Its quotas still "
                    "apply; ask Kemensos to set the next plan.",
                )
            else:
                text = Msg(
                    f"Masa paket {plan.name} berakhir pada {plan.expires_on.isoformat()} "
                    f"({days} hari lagi).",
                    f"Plan {plan.name} ends on {plan.expires_on.isoformat()} (in {days} days).",
                )
            out.append(
                {
                    "code": "plan.ending" if days >= 0 else "plan.ended",
                    "level": "warning",
                    "quota": None,
                    "label": None,
                    "label_en": None,
                    "limit": None,
                    "used": None,
                    "message": str(text),
                    "message_en": text.en,
                }
            )
    return out
