"""The import's lookups go by key whatever the statistics say of the district.

A district's first import starts while PostgreSQL's statistics know nothing of its rows (they
were taken before it had any, and other districts fill the list of common values). With the
district's id in sight, the planner then believes the district holds about one row and may find
any index that starts with tenant_id as cheap as the key's own: it would read the district's
every row once per staged row, and the import would grow quadratic with its size. Each lookup
must instead use the index of its key (NIK, KK number, household id)."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.bench import populate_district
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.jobs import INSERT_PERSONS, STAGE, STORED, UPDATE_PERSONS

# Each lookup's key, by the table it reads.
KEYS = {"persons": ("nik", "id"), "households": ("kk_number", "id")}


def _scans(node: dict) -> list[dict]:
    found = [node] if node.get("Relation Name") in KEYS else []
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


def _unkeyed(plan: dict) -> list[str]:
    """Each read of persons or households that does not go by its key's index."""
    bad = []
    for scan in _scans(plan["Plan"]):
        if scan["Node Type"] == "ModifyTable":  # the write itself, not a read
            continue
        keyed = scan.get("Index Cond", "")
        # "(nik)::text = s.nik", "id = p.household_id", never the "id" of "tenant_id"
        if not any(
            re.search(rf"(?<!\w)\(?{key}\)?(::[a-z ]+)? = ", keyed)
            for key in KEYS[scan["Relation Name"]]
        ):
            bad.append(f"{scan['Node Type']} on {scan['Relation Name']} ({keyed or 'no key'})")
    return bad


def test_the_import_lookups_go_by_key_in_a_district_the_statistics_do_not_know(
    app, parepare, kendal
) -> None:
    populate_district(kendal.id, 10_000)  # and its statistics taken

    params = {
        "tenant_id": parepare.id,
        "district_code": parepare.code,
        "stored": [],
        "niks": ["7372010101900001"],
        "kks": ["7372010000000001"],
        "names": ["Warga"],
        "sexes": ["L"],
        "places": ["Parepare"],
        "births": ["1990-01-01"],
        "relations": ["anak"],
        "disabilities": [False],
        "phones": [None],
        "villages": ["73.72.01.1001"],
        "since": "2026-01-01T00:00:00Z",
    }
    found = {}
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(STAGE)
        db.session.execute(
            sa.text(
                "INSERT INTO import_rows (line, id, household_id, nik, kk, name, village)"
                " SELECT g, gen_random_uuid(), gen_random_uuid(), (7372010000000000 + g)::text,"
                " (7372020000000000 + g / 4)::text, 'Warga', '73.72.01.1001'"
                " FROM generate_series(1, 2000) g"
            )
        )
        for name, statement in (
            ("STORED", STORED),
            ("INSERT_PERSONS", INSERT_PERSONS),
            ("UPDATE_PERSONS", UPDATE_PERSONS),
        ):
            plan = db.session.execute(
                sa.text("EXPLAIN (FORMAT JSON) " + statement.text), params
            ).scalar_one()
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
            assert _scans(plan["Plan"]), (name, plan)  # the walk finds the tables it reads
            found[name] = _unkeyed(plan)
        db.session.rollback()
        db.session.remove()
    assert found == {"STORED": [], "INSERT_PERSONS": [], "UPDATE_PERSONS": []}
