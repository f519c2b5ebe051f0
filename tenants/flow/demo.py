"""Demo of the service flow (a DEMO_STEPS entry): in each demo district, the staff of the flow
(front office, back office, manager, two agency officers), two agencies with PBI-JK and BPNT
enabled, a few households and persons, one case in progress (referred; one referral received by
the agency), and a DTKS proposal batch waiting for its village meeting.

Runs through the same write layer as the API, as the demo manager, so the demo's rows are what a
real day would leave behind.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import sqlalchemy as sa
from flask import g

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.actions import grant_membership
from slrt.auth.memberships.models import Membership
from slrt.auth.permissions import P
from slrt.auth.policy import Principal
from slrt.platform import db, region_codes
from slrt.platform.actor import Actor, acting_as
from slrt.platform.config import public_url
from slrt.platform.secrets_store import get_secret
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, tenant_by_code

DEMO_DOMAIN = "demo.slrt.id"
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)


def ensure_catalog() -> dict[str, uuid.UUID]:
    """Dinas Kesehatan with PBI-JK and Dinas Sosial with BPNT in the current district (kept if
    the district already has them). Returns ids by key: dinkes, dinsos, pbi, bpnt."""
    from slrt.tenants.agencies.models import Agency
    from slrt.tenants.programs.actions import enable_national_program
    from slrt.tenants.programs.catalog import seed_national_catalog
    from slrt.tenants.programs.models import NationalProgram, Program

    seed_national_catalog(db.session.connection())  # idempotent: adds only missing programs
    ids: dict[str, uuid.UUID] = {}
    for key, name in (("dinkes", "Dinas Kesehatan"), ("dinsos", "Dinas Sosial")):
        agency = db.session.execute(
            sa.select(Agency).where(sa.func.lower(Agency.name) == name.lower())
        ).scalar_one_or_none()
        if agency is None:
            agency = Agency(name=name, kind="dinas", active=True)
            db.session.add(agency)
            db.session.flush()
        ids[key] = agency.id
    for key, code, agency_key in (("pbi", "PBI-JK", "dinkes"), ("bpnt", "BPNT", "dinsos")):
        national = db.session.execute(
            sa.select(NationalProgram).where(NationalProgram.code == code)
        ).scalar_one()
        program = db.session.execute(
            sa.select(Program).where(Program.national_program_id == national.id)
        ).scalar_one_or_none()
        if program is None or not program.active:
            agency = db.session.execute(
                sa.select(Agency).where(Agency.id == ids[agency_key])
            ).scalar_one()
            program, _ = enable_national_program(national, agency)
        ids[key] = program.id
    return ids


def _account(email: str, name: str) -> Account:
    account = db.session.execute(
        sa.select(Account).where(Account.email == email)
    ).scalar_one_or_none()
    if account is None:
        account = Account(name=name, email=email, email_verified=True, status="active")
        try:
            from slrt.auth.accounts.passwords import hash_password

            account.password_hash = hash_password(get_secret("demo_password:" + email))
        except ImportError:  # pragma: no cover - sign-in module not present
            pass
        db.session.add(account)
        db.session.flush()
    return account


@contextmanager
def _as(account: Account):
    """Act as `account` with district-wide rights, as the API would after authentication."""
    actor = Actor(kind="account", label=account.email, account_id=account.id)
    saved = g.get("principal")
    with acting_as(actor):
        g.principal = Principal(
            actor=actor, account_id=account.id, permissions=frozenset(str(p) for p in P)
        )
        try:
            yield
        finally:
            g.principal = saved


def staff(tenant: Tenant, ids: dict[str, uuid.UUID]) -> dict[str, Account]:
    slug = tenant.slug
    city = region_codes.short_name(tenant.name)
    kecamatan = region_codes.children_of(tenant.code)[0]
    village = region_codes.children_of(kecamatan.code)[0]
    people = {
        "front_office": ("front_office", f"Front Office {city}", None, []),
        "back_office": ("back_office", f"Back Office {city}", None, []),
        "manager": ("manager", f"Manajer SLRT {city}", None, []),
        "dinkes": ("agency_officer", f"Petugas Dinas Kesehatan {city}", ids["dinkes"], []),
        "dinsos": ("agency_officer", f"Petugas Dinas Sosial {city}", ids["dinsos"], []),
        # The same facilitator as the sign-in demo's (kept as it is when that one exists).
        "fasilitator": ("facilitator", f"Fasilitator {village.name}", None, [village.code]),
    }
    out = {}
    for key, (role, name, agency_id, codes) in people.items():
        account = _account(staff_email(key, slug), name)
        has = db.session.execute(
            sa.select(Membership.id).where(Membership.account_id == account.id)
        ).first()
        if has is None:
            grant_membership(
                account.id,
                role,
                scope_kind="village" if codes else "district",
                scope_codes=codes,
                agency_id=agency_id,
            )
        out[key] = account
    return out


def _residents(tenant: Tenant) -> list[dict]:
    """Two households in the district's first kelurahan/desa; NIKs first issued there."""
    kecamatan = region_codes.children_of(tenant.code)[0]
    village = region_codes.children_of(kecamatan.code)[0]
    compact = kecamatan.code.replace(".", "")
    return [
        {
            "household": {
                "kk_number": f"{compact}0101200001",
                "address": "RT 001 / RW 002",
                "village_code": village.code,
            },
            "persons": [
                {
                    "nik": f"{compact}4101800001",
                    "name": "Sitti Aminah",
                    "birth_place": region_codes.short_name(tenant.name),
                    "relation": "kepala_keluarga",
                    "has_disability": False,
                },
                {
                    "nik": f"{compact}1503120002",
                    "name": "Muhammad Rizal",
                    "birth_place": region_codes.short_name(tenant.name),
                    "relation": "anak",
                    "has_disability": False,
                },
            ],
        },
        {
            "household": {
                "kk_number": f"{compact}0101200002",
                "address": "RT 003 / RW 001",
                "village_code": village.code,
                "dtks_status": "not_in_dtks",
            },
            "persons": [
                {
                    "nik": f"{compact}0207550003",
                    "name": "Baharuddin",
                    "birth_place": region_codes.short_name(tenant.name),
                    "relation": "kepala_keluarga",
                    "has_disability": True,
                },
            ],
        },
    ]


def _flow(tenant: Tenant, people: dict[str, Account], ids: dict[str, uuid.UUID]) -> str:
    from slrt.tenants.flow import actions as actions
    from slrt.tenants.proposals import actions as proposals
    from slrt.tenants.registry.actions import create_household, create_person

    created = []
    with _as(people["front_office"]):
        for spec in _residents(tenant):
            household = create_household(dict(spec["household"]))
            members = [create_person(dict(p), household) for p in spec["persons"]]
            created.append((household, members))
        (_hh1, (sitti, _rizal)), (_hh2, (baharuddin,)) = created
        case = actions.register_case(
            {
                "kind": "service_request",
                "channel": "puskesos",
                "person_id": sitti.id,
                "description": "Ibu Sitti belum punya jaminan kesehatan; keluarga kesulitan pangan.",
                "needs": [{"sector": "health", "description": "Belum terdaftar BPJS Kesehatan"}],
            }
        )
        actions.add_attachment(case, "ktp", "ktp-sitti.png", TINY_PNG)
    with _as(people["back_office"]):
        actions.assess_case(
            case,
            {
                "needs": [
                    {"sector": "health", "description": "Belum terdaftar BPJS Kesehatan"},
                    {"sector": "food", "description": "Kesulitan pangan"},
                ],
                "dtks": {"status": "in_dtks", "desil": 2},
                "note": "Terdaftar DTKS desil 2 (cek SIKS-NG).",
            },
        )
        proposals.propose(baharuddin, "Lansia penyandang disabilitas, belum terdaftar DTKS")
        kind = region_codes.village_kind(baharuddin.village_code)
        proposals.create_batch(
            baharuddin.village_code, "muskel" if kind == "kelurahan" else "musdes"
        )
    with _as(people["manager"]):
        actions.decide_case(case, [ids["pbi"], ids["bpnt"]], "Disetujui")
        referrals = actions.refer_case(case, "Surat rujukan ditandatangani")
    with _as(people["dinkes"]):
        pbi = next(r for r in referrals if r.program_id == ids["pbi"])
        actions.respond(pbi, "receive", "Berkas diterima loket Dinas Kesehatan")
    db.session.flush()
    return case.ticket_number


STAFF_KEYS = ("front_office", "back_office", "manager", "dinkes", "dinsos")
# Where each of them starts in the browser, and what they do there (printed by `slrt up`).
STARTS = {
    "front_office": ("cases/new", "front office: registers a visit, prints the receipt"),
    "back_office": ("cases?status=registered", "back office: checks DTKS/DTSEN, assesses"),
    "manager": ("cases?status=assessed", "manager: decides, returns, refers"),
    "dinkes": ("referrals", "Dinas Kesehatan officer: answers referrals"),
    "dinsos": ("referrals", "Dinas Sosial officer: answers referrals"),
}


def staff_email(key: str, slug: str) -> str:
    return f"{key.replace('_', '')}.{slug}@{DEMO_DOMAIN}"


def load_flow_demo() -> list[str]:
    """DEMO_STEPS entry: the staff, the catalog mapping and a case in progress per district."""
    from slrt.platform.commands.demo import DEMO_TENANTS

    lines = ["", "Service flow demo:"]
    for code in DEMO_TENANTS:
        tenant = tenant_by_code(code)
        with tenant_context(tenant.ref()):
            ids = ensure_catalog()
            people = staff(tenant, ids)
            ticket = _flow(tenant, people, ids)
        lines.append(
            f"  {tenant.name}: case {ticket} referred (PBI-JK received by Dinas Kesehatan, BPNT sent)"
        )
    return lines + flow_sign_in_lines()


def flow_sign_in_lines() -> list[str]:
    """DEMO_REMINDERS entry: the flow staff's sign-in, printed by every `slrt up`."""
    from slrt.platform.commands.demo import DEMO_TENANTS

    slugs = [region_codes.slugs()[code] for code in DEMO_TENANTS]
    emails = [staff_email(key, slug) for slug in slugs for key in STAFF_KEYS]
    accounts = {
        a.email: a
        for a in db.session.execute(sa.select(Account).where(Account.email.in_(emails))).scalars()
    }
    if not accounts:
        return []
    base = public_url()
    lines = ["", "Service flow staff (or `slrt flow demo-token EMAIL` for an API token):"]
    for slug in slugs:
        for key in STAFF_KEYS:
            email = staff_email(key, slug)
            account = accounts.get(email)
            if account is None:
                continue
            password = get_secret("demo_password:" + email) if account.password_hash else "-"
            path, what = STARTS[key]
            lines.append(f"  {email:<38} {password}")
            lines.append(f"      {what} · {base}/t/{slug}/{path}")
    lines += ["", "Residents (no sign-in):"]
    for slug in slugs:
        lines.append(f"  complaint or request: {base}/t/{slug}/pengaduan")
        lines.append(f"  ticket status:        {base}/t/{slug}/cek-tiket")
    return lines
