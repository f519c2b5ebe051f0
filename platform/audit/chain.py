"""Checking the audit trail's hash chains and purging them through the break-glass.

The database links every event to the one before it when it is inserted (one chain per
district, one for the platform; see the privacy migration). `verify_district` and
`verify_platform` recompute each link's hash with the database's own `audit_event_digest`
(so the formula exists once) and report every event whose content no longer matches its hash,
every gap in the numbering and every broken link. A retention purge removes a prefix of a
chain and records the last removed link as the anchor the rest verifies from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from slrt.platform import db

_DIGEST_ARGS = (
    "kind, action, entity_type, entity_id, actor_kind, actor_label, actor_account_id, "
    "endpoint, ip, before, after, note"
)

_DISTRICT_SQL = sa.text(
    "SELECT"  # noqa: S608 - constants only
    " chain_seq, id::text AS id, prev_hash, chain_hash, action, after, "
    "audit_event_digest(prev_hash, tenant_id::text, id::text, chain_seq, occurred_at, "
    f"{_DIGEST_ARGS}) AS expected FROM audit_events ORDER BY chain_seq"
)
_PLATFORM_SQL = sa.text(
    "SELECT"  # noqa: S608 - constants only
    " chain_seq, id::text AS id, prev_hash, chain_hash, action, after, "
    "audit_event_digest(prev_hash, 'platform', id::text, chain_seq, occurred_at, "
    f"{_DIGEST_ARGS}) AS expected FROM platform_audit_events ORDER BY chain_seq"
)


@dataclass
class ChainReport:
    """What one chain looks like: how many events, its head (to note down outside the
    system: a later verify that no longer reaches it shows the end was cut off) and every
    problem found."""

    scope: str
    events: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_links(scope: str, rows: list[Any]) -> ChainReport:
    """The chain of `rows` (chain_seq order) checked link by link."""
    report = ChainReport(scope)
    anchors = {
        (int(r.after["anchor_seq"]), r.after.get("anchor_hash"))
        for r in rows
        if r.action == "audit.purged" and r.after and r.after.get("anchor_seq") is not None
    }
    previous = None
    for row in rows:
        report.events += 1
        if row.expected != row.chain_hash:
            report.problems.append(
                f"event #{row.chain_seq} ({row.id}) was changed after it was written"
            )
        if previous is None:
            if row.chain_seq == 1:
                if row.prev_hash is not None:
                    report.problems.append("the first event points to a predecessor")
            elif (row.chain_seq - 1, row.prev_hash) not in anchors:
                report.problems.append(
                    f"events #1..#{row.chain_seq - 1} are missing and no purge recorded them"
                )
        elif row.chain_seq != previous.chain_seq + 1:
            report.problems.append(
                f"events #{previous.chain_seq + 1}..#{row.chain_seq - 1} are missing"
            )
        elif row.prev_hash != previous.chain_hash:
            report.problems.append(f"event #{row.chain_seq} does not follow #{previous.chain_seq}")
        previous = row
    if previous is not None:
        report.head_seq, report.head_hash = previous.chain_seq, previous.chain_hash
    return report


def verify_district(scope: str) -> ChainReport:
    """The current district's chain (call inside its tenant context)."""
    return check_links(scope, list(db.session.execute(_DISTRICT_SQL)))


def verify_platform() -> ChainReport:
    return check_links("platform", list(db.session.execute(_PLATFORM_SQL)))


def purge_district_before(before: dt.datetime, reason: str) -> int:
    """The retention break-glass for the current district's trail: removes the oldest events
    up to the last one before `before` and records the purge in the same chain. Runs in the
    caller's transaction (an action or a job step)."""
    return int(
        db.session.execute(
            sa.text("SELECT audit_purge(:before, :reason)"), {"before": before, "reason": reason}
        ).scalar_one()
    )


def purge_platform_before(before: dt.datetime, reason: str) -> int:
    return int(
        db.session.execute(
            sa.text("SELECT platform_audit_purge(:before, :reason)"),
            {"before": before, "reason": reason},
        ).scalar_one()
    )


def apply_platform_retention() -> int:
    """The platform trail's retention (scheduled once a night): events older than
    SLRT_RETAIN_AUDIT_DAYS leave through the break-glass, which records the purge. Commits."""
    from slrt.platform.config import setting

    days = int(setting("SLRT_RETAIN_AUDIT_DAYS") or 0)
    if not days:
        return 0
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    purged = purge_platform_before(cutoff, f"retensi: jejak audit lebih dari {days} hari")
    db.session.commit()
    return purged
