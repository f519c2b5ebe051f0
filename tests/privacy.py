"""A resident with a full history and unmistakable personal data (marker NIK, KK, name, phone,
address in every free text the service flow keeps), for the tests that look for a person's data
where it must not be: unaudited reads, leftovers after erasure, logs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from slrt.platform import db, region_codes
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant

NAME = "Wiratmoko Sastrodiharjo"
PHONE = "081299887766"
ADDRESS = "Jalan Kenari Markawi 77"


@dataclass
class Marked:
    """The marker person and the ids of everything written about them."""

    nik: str
    kk: str
    person_id: uuid.UUID
    household_id: uuid.UUID
    case_id: uuid.UUID
    referral_ids: list[uuid.UUID]
    attachment_id: uuid.UUID
    proposal_id: uuid.UUID
    batch_id: uuid.UUID
    export_job_id: uuid.UUID
    name: str = NAME
    phone: str = PHONE
    address: str = ADDRESS
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def texts(self) -> dict[str, str]:
        """What must never show without a read being recorded (or at all, after erasure)."""
        return {"NIK": self.nik, "name": self.name, "phone": self.phone, "address": self.address}


def marker_pdf() -> bytes:
    return (
        b"%PDF-1.4\n% Berita acara: "
        + NAME.encode()
        + b", NIK tercatat, HP "
        + PHONE.encode()
        + b"\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    )


def seed_marked_person(app, tenant: Tenant) -> Marked:
    """Register the marker person in `tenant` (the demo must be loaded: its staff and catalog act)
    and take them through the whole service flow, a DTKS proposal with minutes and a registry
    export."""
    from slrt.auth.accounts.models import Account
    from slrt.tenants.flow import actions as flow
    from slrt.tenants.flow.demo import _as, ensure_catalog, staff_email
    from slrt.tenants.proposals import actions as proposals
    from slrt.tenants.registry.actions import create_household, create_person, start_export
    from tests.platform.jobs.test_jobs import run_burst

    def account(key: str) -> Account:
        return db.session.execute(
            sa.select(Account).where(Account.email == staff_email(key, tenant.slug))
        ).scalar_one()

    kecamatan = region_codes.children_of(tenant.code)[0]
    village = region_codes.children_of(kecamatan.code)[-1]
    compact = kecamatan.code.replace(".", "")
    nik, kk = f"{compact}2208850777", f"{compact}0101209977"
    with app.test_request_context(), tenant_context(tenant.ref()):
        ids = ensure_catalog()
        with _as(account("front_office")):
            household = create_household(
                {
                    "kk_number": kk,
                    "address": ADDRESS,
                    "village_code": village.code,
                    "dtks_status": "not_in_dtks",
                }
            )
            person = create_person(
                {
                    "nik": nik,
                    "name": NAME,
                    "phone": PHONE,
                    "relation": "kepala_keluarga",
                    "birth_place": "Parepare",
                    "has_disability": False,
                },
                household,
            )
            case = flow.register_case(
                {
                    "kind": "complaint",
                    "channel": "secretariat",
                    "person_id": person.id,
                    "description": f"Bapak {NAME} (HP {PHONE}, {ADDRESS}) belum menerima BPNT.",
                    "needs": [{"sector": "food", "description": f"Pangan untuk {NAME}"}],
                }
            )
            attachment = flow.add_attachment(case, "ktp", "ktp.pdf", marker_pdf())
        with _as(account("back_office")):
            flow.assess_case(
                case,
                {
                    "needs": [{"sector": "food", "description": f"Pangan untuk {NAME}"}],
                    "dtks": {"status": "not_in_dtks"},
                    "note": f"NIK {nik} dicek; alamat {ADDRESS}",
                },
            )
            proposal = proposals.propose(person, f"{NAME} belum di DTKS, HP {PHONE}")
            batch = proposals.create_batch(village.code, proposals.meeting_kind_for(village.code))
            proposals.upload_minutes(batch, "berita-acara.pdf", marker_pdf())
        with _as(account("manager")):
            flow.decide_case(case, [ids["pbi"], ids["bpnt"]], f"Disetujui untuk {NAME}")
            referrals = flow.refer_case(case, f"Rujukan atas nama {NAME}")
        first = next(r for r in referrals if r.program_id == ids["pbi"])
        second = next(r for r in referrals if r.program_id == ids["bpnt"])
        with _as(account("dinkes")):
            flow.respond(first, "receive", f"Berkas {NAME} diterima")
            flow.respond(first, "reject", f"{NAME} sudah menerima program lain (NIK {nik})")
        with _as(account("dinsos")):
            flow.respond(second, "receive", None)
            flow.respond(second, "accept", None)
            flow.respond(second, "fulfil", f"BPNT diserahkan kepada {NAME} di {ADDRESS}")
        with _as(account("manager")):
            job = start_export("registry", "csv")
        marked = Marked(
            nik=nik,
            kk=kk,
            person_id=person.id,
            household_id=household.id,
            case_id=case.id,
            referral_ids=[r.id for r in referrals],
            attachment_id=attachment.id,
            proposal_id=proposal.id,
            batch_id=batch.id,
            export_job_id=job.id,
        )
        db.session.commit()
        db.session.remove()
    run_burst()
    return marked
