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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from flask import g, has_request_context, request

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.models import Invitation, Membership
from slrt.billing_free.meter import LIVE_KEY, Metric, field_for, unflushed
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
from slrt.platform.freshness import LocalCache, ride_along, watch
from slrt.platform.i18n import zone_label
from slrt.platform.jobs.models import Job, JobFile
from slrt.platform.redis_client import UNREACHABLE, get_redis, note_outage, redis_available
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

_RATE_LUA = """
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if c > tonumber(ARGV[1]) then return {0, c} end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return {1, c}
"""


def _minute_window(now: float) -> tuple[int, int]:
    window = int(now // 60)
    retry_after = max(1, math.ceil((window + 1) * 60 - now))
    return window, retry_after


# The count usually rides along with the request's first Redis round trip (the epoch, see
# slrt.platform.freshness.ride_along), before the district is even resolved: the rider guesses
# the district from the process's memory of its URL name. Whatever was counted for a request that
# turns out not to be a member's request to that district (a stranger, a wrong guess, a
# 404) is taken back; a refused request is taken back from the meter. The limit is compared
# once the plan is known.
_COUNT_LUA = """
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return c
"""
_UNCOUNT_LUA = """
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
return 0
"""
_UNMETER_LUA = "redis.call('HINCRBY', KEYS[1], ARGV[1], -1) return 0"


@dataclass(frozen=True)
class _Counted:
    tenant_id: int
    key: str
    field: str
    used: int


def _rate_key(tenant_id: int, window: int) -> str:
    return f"slrt:quota:rate:{tenant_id}:{window}"


def _rate_rider() -> tuple[list[tuple[Any, ...]], Callable[[list[Any]], None]] | None:
    from slrt.platform.api import API_PREFIX
    from slrt.platform.tenant import known_tenant

    if not has_request_context() or "quota_counted" in g:
        return None
    prefix = f"{API_PREFIX}/t/"
    if not request.path.startswith(prefix) or "Authorization" not in request.headers:
        return None
    known = known_tenant(request.path[len(prefix) :].partition("/")[0])
    if known is None:
        return None  # counted the ordinary way, once the district is known
    tenant_id, zone = known
    window, _ = _minute_window(time.time())
    key = _rate_key(tenant_id, window)
    field = field_for(tenant_id, Metric.API_CALLS, day=district_today(zone=zone))
    g.quota_counted = None  # asked: not again in this request, whatever the answer

    def use(answers: list[Any]) -> None:
        g.quota_counted = _Counted(tenant_id, key, field, int(answers[0]))

    return [("EVAL", _COUNT_LUA, 2, key, LIVE_KEY, 120, field)], use


ride_along(_rate_rider)


def uncount_unused() -> None:
    """Take back this request's ride-along count if no district's quota claimed it."""
    counted = g.pop("quota_counted", None)
    if counted is None:
        return
    try:
        get_redis().eval(_UNCOUNT_LUA, 2, counted.key, LIVE_KEY, counted.field)
    except redis.RedisError as exc:
        note_outage("API rate limit", exc)


def _counted_for(tenant_id: int) -> _Counted | None:
    if not has_request_context() or g.get("quota_counted") is None:
        return None
    if g.quota_counted.tenant_id != tenant_id:
        uncount_unused()
        return None
    return g.pop("quota_counted")


def check_api_rate(tenant_id: int) -> tuple[EffectivePlan, int]:
    """Count one API request of a district in the current minute (and meter it as api_calls);
    raise 429 once the plan's per-minute limit is used up. Fixed one-minute windows."""
    plan = plan_for(tenant_id)
    limit = plan.limit(Quota.API_PER_MINUTE)
    window, retry_after = _minute_window(time.time())
    counted = _counted_for(tenant_id)
    if counted is not None:
        if counted.used > limit:
            try:
                get_redis().eval(_UNMETER_LUA, 1, LIVE_KEY, counted.field)
            except redis.RedisError as exc:
                note_outage("API rate limit", exc)
            raise RateLimited(Quota.API_PER_MINUTE, plan, counted.used - 1, retry_after)
        return plan, counted.used
    key = _rate_key(tenant_id, window)
    if not redis_available():
        return plan, 0  # fail open while Redis is out of reach (logged once per window)
    try:
        allowed, used = get_redis().eval(
            _RATE_LUA, 2, key, LIVE_KEY, limit, 120, field_for(tenant_id, Metric.API_CALLS)
        )
    except redis.RedisError as exc:
        note_outage("API rate limit", exc)
        return plan, 0
    if not allowed:
        raise RateLimited(Quota.API_PER_MINUTE, plan, int(used) - 1, retry_after)
    return plan, int(used)


def api_requests_this_minute(tenant_id: int) -> int:
    window, _ = _minute_window(time.time())
    try:
        value = get_redis().get(f"slrt:quota:rate:{tenant_id}:{window}")
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
