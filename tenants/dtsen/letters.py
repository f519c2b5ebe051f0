"""The outcome letter of an usul or sanggah (surat pemberitahuan hasil), printed with the
district's letterhead, numbered in the district's letter sequence and verifiable through its QR
code, like a referral letter (the pieces are `flow.letters`').
"""

from __future__ import annotations

from slrt.platform.config import public_url
from slrt.platform.i18n import local_date
from slrt.platform.tenant import Tenant
from slrt.tenants.dtsen.models import Submission
from slrt.tenants.flow.letters import fact_rows, latin1, sign_and_verify, start_letter, tanggal
from slrt.tenants.regions.access import village_name

KIND_WORDS = {"usul": "Usul pendaftaran ke DTSEN", "sanggah": "Sanggah atas keluarga di DTSEN"}

OUTCOMES = {
    "accepted": {
        "usul": "DITERIMA. Usul ini diteruskan ke musyawarah desa/kelurahan untuk dibahas dan "
        "diajukan melalui SIKS-NG kepada Kementerian Sosial; hasil penetapannya akan "
        "diberitahukan.",
        "sanggah": "DITERIMA. Sanggah ini dibahas dalam musyawarah desa/kelurahan dan "
        "diteruskan melalui SIKS-NG kepada Kementerian Sosial.",
    },
    "rejected": "DITOLAK setelah verifikasi lapangan.",
    "deemed_rejected": "DIANGGAP DITOLAK karena tidak dapat diverifikasi sampai batas waktu.",
}
# The letter states the decision it was issued for: SIKS-NG's later answer to an accepted usul
# is the family's DTSEN history, not a change of this letter.
DECIDED = {"listed": "accepted", "not_listed": "accepted"}


def verification_url(tenant: Tenant, token: str) -> str:
    return f"{public_url()}/t/{tenant.slug}/surat-dtsen/{token}"


def outcome_text(submission: Submission) -> str:
    found = OUTCOMES.get(DECIDED.get(submission.status, submission.status), "")
    if isinstance(found, dict):
        return found[submission.kind]
    return found


def render_outcome_pdf(tenant: Tenant, submission: Submission) -> bytes:
    """The letter as it stands (number, date and signer fixed when it was issued)."""
    assert submission.letter_number and submission.token and submission.letter_issued_at
    url = verification_url(tenant, submission.token)
    pdf = start_letter(
        tenant,
        title="Surat Pemberitahuan",
        heading="SURAT PEMBERITAHUAN HASIL USUL/SANGGAH DTSEN",
        number=submission.letter_number,
    )
    pdf.multi_cell(
        0,
        5,
        latin1(f"Kepada Yth.\n{submission.submitter_name or submission.name}\ndi tempat"),
    )
    pdf.ln(3)
    pdf.multi_cell(
        0,
        5,
        latin1(
            "Dengan hormat, bersama ini kami sampaikan hasil penanganan "
            f"{KIND_WORDS[submission.kind].lower()} berikut:"
        ),
    )
    pdf.ln(2)
    fact_rows(
        pdf,
        [
            ("Jenis", KIND_WORDS[submission.kind]),
            ("Nama", submission.name),
            ("NIK", submission.nik),
            ("Nomor KK", submission.kk_number),
            ("Desa/Kelurahan", village_name(submission.village_code)),
            ("Diterima", tanggal(submission.received_on)),
            ("Batas verifikasi", tanggal(submission.due_on)),
            (
                "Verifikasi lapangan",
                tanggal(submission.visited_on) if submission.visited_on else "tidak dilakukan",
            ),
        ],
    )
    pdf.ln(2)
    pdf.set_font("helvetica", "B", 10)
    pdf.multi_cell(0, 5, latin1(f"Hasil: {outcome_text(submission)}"))
    pdf.set_font("helvetica", "", 10)
    if submission.decision_note:
        pdf.ln(1)
        pdf.multi_cell(0, 5, latin1(f"Keterangan: {submission.decision_note}"))
    pdf.ln(3)
    pdf.multi_cell(
        0,
        5,
        latin1(
            "Bila Bapak/Ibu tidak sependapat, usul atau sanggah dapat diajukan kembali melalui "
            "Puskesos atau aplikasi Cek Bansos Kementerian Sosial. Atas perhatiannya kami ucapkan "
            "terima kasih."
        ),
    )
    pdf.ln(6)
    return sign_and_verify(
        pdf,
        tenant,
        issued=local_date(submission.letter_issued_at),
        signer_title=submission.letter_signer_title or "",
        signer_name=submission.letter_signer_name or "",
        url=url,
    )
