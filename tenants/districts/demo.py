"""Demo step: configure the demo districts like a real lokus district on its first day, through
the same actions a district admin and Kemensos use."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant
from slrt.tenants.agencies.actions import create_agency
from slrt.tenants.districts.actions import designate
from slrt.tenants.programs.actions import create_local_program, enable_national_program
from slrt.tenants.programs.catalog import seed_national_catalog
from slrt.tenants.programs.models import NationalProgram
from slrt.tenants.regions.actions import update_village
from slrt.tenants.regions.models import Village
from slrt.tenants.service_points.actions import create_service_point

DEMO_CODES = ("33.24", "73.72")

AGENCIES = (
    ("Dinas Sosial", "dinas"),
    ("Dinas Kesehatan", "dinas"),
    ("Dinas Pendidikan", "dinas"),
    ("Dinas Perumahan dan Kawasan Permukiman", "dinas"),
    ("BAZNAS", "baznas"),
)
# National program -> the agency that handles it locally.
PROGRAM_AGENCY = {
    "PKH": "Dinas Sosial",
    "BPNT": "Dinas Sosial",
    "ATENSI": "Dinas Sosial",
    "PBI-JK": "Dinas Kesehatan",
    "PIP": "Dinas Pendidikan",
    "RTLH": "Dinas Perumahan dan Kawasan Permukiman",
}
LOCAL_RULE = "age >= 60 and in_dtks and desil <= 5"


def configure_demo_districts() -> list[str]:
    seed_national_catalog(db.session.connection())
    national = {p.code: p for p in db.session.execute(sa.select(NationalProgram)).scalars()}
    lines = ["Demo configuration (agencies, service points, programs, intervention villages):"]
    for code in DEMO_CODES:
        tenant = db.session.execute(sa.select(Tenant).where(Tenant.code == code)).scalar_one()
        designate(
            tenant,
            {
                "wave": 1,
                "year": 2021,
                "decree_number": "Kepmensos 146/HUK/2021",
                "decree_date": dt.date(2021, 6, 14),
                "note": "Demo",
            },
        )
        with tenant_context(tenant.ref()):
            lines.append(_configure(tenant, national))
    return lines


def _configure(tenant: Tenant, national: dict[str, NationalProgram]) -> str:
    agencies = {}
    for name, kind in AGENCIES:
        agencies[name] = create_agency({"name": name, "kind": kind, "phone": "0800-1-500-299"})
    villages = list(
        db.session.execute(sa.select(Village).order_by(Village.code).limit(2)).scalars()
    )
    for village in villages:
        update_village(village, {"is_intervention": True})
    short = tenant.name.replace("Kabupaten ", "").replace("Kota ", "")
    create_service_point(
        {
            "kind": "secretariat",
            "name": f"Sekretariat SLRT {short}",
            "address": f"Kantor Dinas Sosial {tenant.name}",
            "decree_number": f"SK Bupati/Wali Kota {short} 460/2021",
            "decree_date": dt.date(2021, 7, 1),
            "opened_on": dt.date(2021, 8, 2),
        }
    )
    create_service_point(
        {
            "kind": "puskesos",
            "name": f"Puskesos {villages[0].name}",
            "village_id": villages[0].id,
            "address": f"Kantor {villages[0].kind.replace('_', ' ').title()} {villages[0].name}",
            "opened_on": dt.date(2021, 9, 1),
        }
    )
    for program_code, agency_name in PROGRAM_AGENCY.items():
        enable_national_program(national[program_code], agencies[agency_name])
    create_local_program(
        {
            "code": "ASLUT-DA",
            "name": f"Asistensi Sosial Lanjut Usia Daerah {short}",
            "description": "Bantuan tunai bulanan APBD bagi lansia miskin.",
            "sector": "cash_transfer",
            "owner": f"Pemerintah {tenant.name}",
            "funding": "apbd",
            "required_documents": ["KTP (NIK)", "Kartu Keluarga (KK)"],
            "deadline_days": 21,
            "rule_text": LOCAL_RULE,
            "agency_id": agencies["Dinas Sosial"].id,
        }
    )
    db.session.flush()
    return (
        f"  {tenant.name}: {len(AGENCIES)} OPD, secretariat + Puskesos {villages[0].name}, "
        f"{len(PROGRAM_AGENCY)} national programs + ASLUT-DA, intervention villages "
        + ", ".join(v.name for v in villages)
    )
