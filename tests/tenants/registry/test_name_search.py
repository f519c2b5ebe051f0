"""Registry name search: case-insensitive substring, region-scoped, district-walled, and served
by the per-district trigram index ix_persons_tenant_name_trgm (through person_ids_by_name: under
row-level security a plain ILIKE of the app role can never use an index)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Person
from tests.fixtures import member

BACUKIKI = "73.72.01.1001"  # a kelurahan in kecamatan 73.72.01
SOREANG = "73.72.03.1001"  # a kelurahan in kecamatan 73.72.03


def _people(app, tenant, rows: list[tuple[str, str]]) -> None:
    with app.app_context(), tenant_context(tenant.ref()):
        db.session.execute(
            sa.insert(Person),
            [
                {
                    "tenant_id": tenant.id,
                    "id": uuid.uuid4(),
                    "name": n,
                    "sex": "P",
                    "village_code": v,
                }
                for n, v in rows
            ],
        )
        db.session.commit()
        db.session.remove()


def _names(client, user, q: str) -> list[str]:
    resp = client.get("/api/v1/t/parepare/persons", query_string={"name": q}, headers=user.headers)
    assert resp.status_code == 200, resp.data
    return sorted(p["name"] for p in resp.json)


def test_name_search_is_substring_case_insensitive_and_region_scoped(
    app, client, parepare, kendal
) -> None:
    _people(
        app,
        parepare,
        [
            ("Siti Hasnah", BACUKIKI),
            ("HASNAWATI Daeng", SOREANG),
            ("Budi Santoso", BACUKIKI),
            ("Diskon 100% Hasna_h", BACUKIKI),
        ],
    )
    _people(app, kendal, [("Hasnah Kendal", "33.24.01.2001")])
    admin = member(app, parepare, "district_admin")
    facilitator = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[BACUKIKI])
    assert _names(client, admin, "hasna") == [
        "Diskon 100% Hasna_h",
        "HASNAWATI Daeng",
        "Siti Hasnah",
    ]
    assert _names(client, facilitator, "HASNA") == ["Diskon 100% Hasna_h", "Siti Hasnah"]
    # % and _ are letters in a search, not wildcards.
    assert _names(client, admin, "100%") == ["Diskon 100% Hasna_h"]
    assert _names(client, admin, "a_h") == ["Diskon 100% Hasna_h"]
    assert _names(client, admin, "kendal") == []


def test_name_search_uses_the_trigram_index(app, parepare, kendal, services, owner_engine):
    first = ["Siti", "Ahmad", "Budi", "Dewi", "Eko", "Fitri", "Indah", "Joko", "Nur", "Sri"]
    last = ["Rahayu", "Susanto", "Wijaya", "Hidayat", "Saputra", "Daeng", "Baso", "Tahir"]
    many = [(f"{first[i % 10]} {last[i % 8]} {i}", BACUKIKI) for i in range(3000)]
    _people(app, parepare, [*many, ("Hasnah Binti Lapawawoi", BACUKIKI)])
    _people(app, kendal, many[:1000])
    with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE persons"))  # statistics and GIN pending list

    # The app role's query, with the nested statement of person_ids_by_name logged by
    # auto_explain (loaded by the superuser, then the session becomes slrt_app).
    admin_engine = sa.create_engine(services["DATABASE_ADMIN_URL"])
    plans: list[str] = []
    try:
        with admin_engine.connect() as conn:
            conn.connection.driver_connection.add_notice_handler(
                lambda diag: plans.append(diag.message_primary or "")
            )
            conn.execute(sa.text("LOAD 'auto_explain'"))
            for name, value in (
                ("auto_explain.log_min_duration", "0"),
                ("auto_explain.log_nested_statements", "on"),
                ("auto_explain.log_level", "notice"),
                ("enable_seqscan", "off"),
            ):
                conn.execute(sa.select(sa.func.set_config(name, value, False)))
            conn.execute(sa.text("SET ROLE slrt_app"))
            conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(parepare.id), False)))
            with app.app_context(), tenant_context(parepare.ref()):
                from slrt.tenants.registry.models import name_matches

                stmt = sa.select(Person.name).where(name_matches("hasnah"))
                found = conn.execute(stmt).scalars().all()
            plain = conn.execute(
                sa.text("SELECT count(*) FROM persons WHERE name ILIKE '%hasnah%'")
            ).scalar()
            conn.execute(sa.text("RESET ROLE"))
    finally:
        admin_engine.dispose()
    assert found == ["Hasnah Binti Lapawawoi"] and plain == 1
    nested = [p for p in plans if "person_ids_by_name" not in p and "public.persons" in p]
    assert nested and "ix_persons_tenant_name_trgm" in nested[0], nested
    # The matches are then fetched by primary key, not by reading the whole district.
    outer = [p for p in plans if "FROM person_ids_by_name" in p]
    assert outer and "Index Scan using pk_persons" in outer[0], outer
    # Why the function exists: the app role's own ILIKE is not allowed to use the index.
    direct = [p for p in plans if "WHERE name ILIKE '%hasnah%'" in p]
    # (It may still read the district's entries of the index, but never by the name.)
    assert direct, plans
    conditions = [line for line in direct[0].splitlines() if "Index Cond" in line]
    assert not any("~~*" in line for line in conditions), direct[0]
