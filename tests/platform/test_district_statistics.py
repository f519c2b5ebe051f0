"""A district's rows soon reach the planner's statistics, so its lookups go by key.

Statistics taken before a district had rows say it holds about one: a person looked up by id
may then be found by reading the whole district through another index that starts with
tenant_id. PostgreSQL's default takes them again only after a tenth of the table has changed,
which a district's arrival in a large nation never reaches; the national tables are analysed
again after a small share of them has changed."""

from __future__ import annotations

import time

import sqlalchemy as sa

from slrt.platform.bench import populate_district


def _last_analyze(conn: sa.Connection) -> float:
    return conn.execute(
        sa.text(
            "SELECT coalesce(extract(epoch FROM greatest(last_autoanalyze, last_analyze)), 0)"
            " FROM pg_stat_user_tables WHERE relname = 'persons'"
        )
    ).scalar_one()


def test_a_new_districts_persons_are_soon_in_the_statistics_and_found_by_key(
    parepare, kendal, admin_engine
) -> None:
    populate_district(kendal.id, 40_000)  # the nation, its statistics taken
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Autovacuum looks every second instead of every minute, for the test's sake only.
        conn.execute(sa.text("ALTER SYSTEM SET autovacuum_naptime = 1"))
        conn.execute(sa.text("SELECT pg_reload_conf()"))
        try:
            before = _last_analyze(conn)
            # The new district's registry: 3,000 persons, under a tenth of the table.
            populate_district(parepare.id, 3_000, analyse=False)
            deadline = time.monotonic() + 30
            while _last_analyze(conn) <= before and time.monotonic() < deadline:
                time.sleep(0.5)
            analysed = _last_analyze(conn) > before
        finally:
            conn.execute(sa.text("ALTER SYSTEM RESET autovacuum_naptime"))
            conn.execute(sa.text("SELECT pg_reload_conf()"))
        assert analysed, "persons was not analysed again after the district's rows arrived"

        person_id = conn.execute(
            sa.text("SELECT id FROM persons WHERE tenant_id = :t LIMIT 1"), {"t": parepare.id}
        ).scalar_one()
        plan = "\n".join(
            conn.execute(
                sa.text("EXPLAIN SELECT * FROM persons WHERE tenant_id = :t AND id = :id"),
                {"t": parepare.id, "id": person_id},
            ).scalars()
        )
    assert "pk_persons" in plan and "id = " in plan, plan
