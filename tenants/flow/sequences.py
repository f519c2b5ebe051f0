"""Per-tenant, per-year counters (ticket numbers, letter numbers) without races.

`next_value` is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the row lock it takes is held
until the transaction ends, so two concurrent requests get different numbers and a rolled-back
request does not leave a number used twice.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.tenancy import current_tenant
from slrt.tenants.flow.models import Counter


def next_value(name: str, year: int) -> int:
    table = Counter.__table__
    stmt = (
        insert(table)
        .values(tenant_id=current_tenant().id, id=uuid7(), name=name, year=year, value=1)
        .on_conflict_do_update(
            constraint="uq_counters_tenant_name_year", set_={"value": table.c.value + 1}
        )
        .returning(table.c.value)
    )
    return int(db.session.execute(stmt).scalar_one())
