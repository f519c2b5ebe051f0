"""The schema stays distributable by district (Citus), read from the migrated database itself.

Citus distributes a table by one column and then requires: every primary key, unique
constraint and unique index of a distributed table contains that column; a foreign key between
two distributed tables includes it on both sides, column to column; a reference table (copied
to every node) may not point at a distributed table. Here the distribution column is
`tenant_id`, the distributed tables are the tenant tables of the metadata, and every other
table would become a reference table (README, "Past one primary").
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform.db import is_tenant_table
from slrt.platform.models import metadata

DISTRIBUTION_COLUMN = "tenant_id"

_UNIQUE_KEYS = sa.text(
    """
    SELECT t.relname, i.relname AS index_name,
           ARRAY(SELECT a.attname FROM unnest(x.indkey[0:x.indnkeyatts - 1]) k
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k) AS columns
      FROM pg_index x
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = :schema AND t.relkind IN ('r', 'p') AND (x.indisunique OR x.indisprimary)
    """
)

_FOREIGN_KEYS = sa.text(
    """
    SELECT c.conname, src.relname, dst.relname,
           ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
           ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
      FROM pg_constraint c
      JOIN pg_class src ON src.oid = c.conrelid
      JOIN pg_class dst ON dst.oid = c.confrelid
      JOIN pg_namespace n ON n.oid = src.relnamespace
     WHERE n.nspname = :schema AND c.contype = 'f'
    """
)


def citus_violations(conn: sa.Connection, schema: str, distributed: set[str]) -> list[str]:
    """What Citus would refuse if `distributed` were distributed by tenant_id and every other
    table of `schema` were a reference table."""
    problems: list[str] = []
    for table, index, columns in conn.execute(_UNIQUE_KEYS, {"schema": schema}):
        # Expressions may sit beside it (tenant_id, lower(name)); the column itself must be a key.
        if table in distributed and DISTRIBUTION_COLUMN not in columns:
            problems.append(f"{table}: unique {index} {columns} lacks {DISTRIBUTION_COLUMN}")
    for name, source, target, local, remote in conn.execute(_FOREIGN_KEYS, {"schema": schema}):
        if target in distributed and source not in distributed:
            problems.append(
                f"{source} -> {target} ({name}): a reference table points at a tenant table"
            )
        elif source in distributed and target in distributed:
            pairs = set(zip(local, remote, strict=True))
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                problems.append(
                    f"{source} -> {target} ({name}): {local} -> {remote} does not carry "
                    f"{DISTRIBUTION_COLUMN} to {DISTRIBUTION_COLUMN}"
                )
    return problems


def tenant_tables() -> set[str]:
    return {t.name for t in metadata.sorted_tables if is_tenant_table(t)}


def test_the_migrated_schema_satisfies_citus(owner_engine) -> None:
    distributed = tenant_tables()
    with owner_engine.connect() as conn:
        existing = set(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
        assert len(distributed) > 20 and distributed <= existing
        problems = citus_violations(conn, "public", distributed)
        # The check saw what it judges: every tenant table has a key, many have foreign keys.
        keys = conn.execute(_UNIQUE_KEYS, {"schema": "public"}).all()
        fks = conn.execute(_FOREIGN_KEYS, {"schema": "public"}).all()
    assert problems == [], "\n".join(problems)
    assert distributed <= {table for table, *_ in keys}
    assert sum(1 for _, s, t, *_ in fks if s in distributed and t in distributed) > 20


def test_the_check_finds_each_kind_of_violation(owner_engine) -> None:
    """Planted in a throwaway schema: what a careless migration could add."""
    schema = f"citus_probe_{uuid.uuid4().hex[:8]}"
    ddl = f"""
        CREATE SCHEMA {schema};
        SET LOCAL search_path = {schema};
        CREATE TABLE good (tenant_id int, id uuid, code text, PRIMARY KEY (tenant_id, id),
                           UNIQUE (tenant_id, code));
        CREATE TABLE bad_unique (tenant_id int, id uuid, nik text, PRIMARY KEY (tenant_id, id),
                                 UNIQUE (nik));
        CREATE UNIQUE INDEX bad_unique_lower ON bad_unique (lower(nik));
        CREATE TABLE bad_key (tenant_id int, id uuid PRIMARY KEY);
        CREATE TABLE bad_fk (tenant_id int, id uuid, key_id uuid REFERENCES bad_key (id),
                             PRIMARY KEY (tenant_id, id));
        CREATE TABLE crossed_fk (tenant_id int, id uuid, other_tenant int, good_id uuid,
                                 PRIMARY KEY (tenant_id, id),
                                 FOREIGN KEY (other_tenant, good_id) REFERENCES good (tenant_id, id));
        CREATE TABLE platform_thing (id int PRIMARY KEY, tenant_id int, good_id uuid,
                                     FOREIGN KEY (tenant_id, good_id) REFERENCES good (tenant_id, id));
        CREATE TABLE fine_fk (tenant_id int, id uuid, good_id uuid, platform_id int
                              REFERENCES platform_thing (id), PRIMARY KEY (tenant_id, id),
                              FOREIGN KEY (tenant_id, good_id) REFERENCES good (tenant_id, id));
    """
    distributed = {"good", "bad_unique", "bad_key", "bad_fk", "crossed_fk", "fine_fk"}
    with owner_engine.connect() as conn:
        try:
            conn.exec_driver_sql(ddl)
            problems = citus_violations(conn, schema, distributed)
        finally:
            conn.rollback()
    joined = "\n".join(problems)
    assert "bad_unique: unique bad_unique_nik_key ['nik']" in joined
    assert "bad_unique: unique bad_unique_lower" in joined
    assert "bad_key: unique bad_key_pkey ['id']" in joined
    assert "bad_fk -> bad_key" in joined
    assert "crossed_fk -> good" in joined
    assert "platform_thing -> good" in joined and "reference table points" in joined
    assert "fine_fk" not in joined and "good:" not in joined
    assert len(problems) == 6, problems


def _citus_section() -> str:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("### Past one primary")
    return readme[start : readme.index("\n## ", start)]


def test_the_readme_places_every_table() -> None:
    """The plan names each table once, and the distributed ones are exactly the tenant tables."""
    import re

    section = _citus_section()
    listed = re.search(r"\(`slrt\.platform\.db\.is_tenant_table`:\s*([^)]*)\)", section)
    distributed = {name.strip() for name in listed.group(1).replace("\n", " ").split(",")}
    assert distributed == tenant_tables()
    rest = section[section.index("**Reference tables**") : section.index("**RLS and roles")]
    placed = set(re.findall(r"`([a-z_]+)`", rest))
    others = {t.name for t in metadata.sorted_tables if not is_tenant_table(t)}
    oauth = {t for t in others if t.startswith("oauth_") and t != "oauth_clients"}
    assert others - oauth - placed == set()
