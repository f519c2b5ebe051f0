"""DTSEN demo (a DEMO_STEPS entry): in each demo district, the back office has uploaded this
quarter's desil file (waiting for its column mapping: the first page a district admin sees) and
recorded an usul for Baharuddin, whose family DTSEN does not list, with a house photo."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.platform import db
from slrt.platform.i18n import local_today
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import tenant_by_code
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.periods import Quarter
from slrt.tenants.flow.demo import TINY_PNG, _as, staff_email
from slrt.tenants.registry.models import Household, Person


def _desil_file(households: list[Household], heads: dict) -> bytes:
    """A desil file as SIKS-NG gives it: semicolons, its own header spellings."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["NO KK", "NIK", "NAMA", "DESIL NASIONAL"])
    for household in households:
        head = heads.get(household.id)
        if head is not None and household.dtks_status != "not_in_dtks":
            writer.writerow([household.kk_number, head.nik, head.name.upper(), 2])
    return out.getvalue().encode("utf-8")


def load_dtsen_demo() -> list[str]:
    from slrt.platform.commands.demo import DEMO_TENANTS

    for code in DEMO_TENANTS:
        tenant = tenant_by_code(code)
        with tenant_context(tenant.ref()):
            back_office = db.session.execute(
                sa.select(Account).where(Account.email == staff_email("back_office", tenant.slug))
            ).scalar_one()
            households = list(db.session.execute(sa.select(Household)).scalars())
            heads = {
                p.household_id: p
                for p in db.session.execute(
                    sa.select(Person).where(Person.relation == "kepala_keluarga")
                ).scalars()
            }
            baharuddin = db.session.execute(
                sa.select(Person).where(Person.name == "Baharuddin")
            ).scalar_one()
            with _as(back_office):
                actions.start_import(
                    "desil",
                    str(Quarter.of(local_today())),
                    "desil-dtsen.csv",
                    _desil_file(households, heads),
                )
                usul = actions.create_submission(
                    {
                        "kind": "usul",
                        "person": baharuddin,
                        "reason": "Lansia penyandang disabilitas, rumah tidak layak huni",
                        "submitter_name": "Ketua RT 003",
                    }
                )
                actions.add_evidence(usul, "photo", "rumah.png", TINY_PNG)
    return [
        "",
        "DTSEN demo: a desil file waiting for its column mapping (/t/<slug>/dtsen/imports/) and "
        "an usul with its house photo (/t/<slug>/dtsen/submissions/)",
    ]
