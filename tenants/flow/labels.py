"""How the service flow's stored codes read to people, in Indonesian and English: kinds of
contact, channels, sectors of need, documents, DTKS status, resolutions, and the steps of a
case's history. Pages show these words, never the codes (`workflow.label` does the states).
"""

from __future__ import annotations

from slrt.platform.errors import Msg
from slrt.tenants.programs.models import SECTOR_NAMES

CASE_KINDS: dict[str, Msg] = {
    "service_request": Msg("Permohonan layanan", "Service request"),
    "complaint": Msg("Pengaduan", "Complaint"),
    "question": Msg("Pertanyaan", "Question"),
    "suggestion": Msg("Saran", "Suggestion"),
}

CHANNELS: dict[str, Msg] = {
    "secretariat": Msg("Datang ke Sekretariat SLRT", "Visit to the SLRT secretariat"),
    "puskesos": Msg("Datang ke Puskesos", "Visit to a Puskesos"),
    "outreach": Msg("Penjangkauan oleh fasilitator", "Outreach by a facilitator"),
    "phone_whatsapp": Msg("Telepon / WhatsApp", "Phone / WhatsApp"),
    "public_form": Msg("Formulir daring (warga)", "Online form (resident)"),
}

# The sectors' Indonesian names are the program catalog's.
_SECTORS_EN = {
    "health": "Health",
    "education": "Education",
    "food": "Food",
    "housing": "Housing",
    "cash_transfer": "Cash transfer",
    "social_rehabilitation": "Social rehabilitation",
    "civil_registration": "Civil registration",
    "employment": "Employment and livelihood",
    "other": "Other",
}
SECTORS: dict[str, Msg] = {
    code: Msg(name, _SECTORS_EN.get(code, name)) for code, name in SECTOR_NAMES.items()
}

ATTACHMENT_KINDS: dict[str, Msg] = {
    "ktp": Msg("KTP", "KTP (identity card)"),
    "kk": Msg("KK (kartu keluarga)", "KK (family card)"),
    "sktm": Msg("SKTM (surat keterangan tidak mampu)", "SKTM (certificate of low income)"),
    "photo": Msg("Foto (rumah, kondisi warga)", "Photo (home, the resident's situation)"),
    "other": Msg("Dokumen lain", "Other document"),
}

DTKS_STATUSES: dict[str, Msg] = {
    "in_dtks": Msg("Terdaftar di DTSEN", "Listed in DTSEN"),
    "not_in_dtks": Msg("Tidak terdaftar di DTSEN", "Not listed in DTSEN"),
    "unknown": Msg("Belum dicek", "Not checked yet"),
}

RESOLUTIONS: dict[str, Msg] = {
    "resolved": Msg("Terselesaikan", "Resolved"),
    "unresolved": Msg("Tidak terselesaikan", "Unresolved"),
}

SEXES: dict[str, Msg] = {"L": Msg("Laki-laki", "Male"), "P": Msg("Perempuan", "Female")}

# A step of the history as it reads afterwards ("Dinilai"), per machine.
DONE: dict[str, dict[str, Msg]] = {
    "case": {
        "register": Msg("Didaftarkan", "Registered"),
        "assess": Msg("Dinilai (asesmen)", "Assessed"),
        "return": Msg("Dikembalikan untuk perbaikan", "Returned for correction"),
        "decide": Msg("Diputuskan", "Decided"),
        "refer": Msg("Dirujuk", "Referred"),
        "follow_up": Msg("Ditindaklanjuti", "Followed up"),
        "close": Msg("Ditutup", "Closed"),
    },
    "referral": {
        "send": Msg("Surat rujukan dikirim ke OPD", "Referral letter sent to the agency"),
        "receive": Msg("Diterima OPD", "Received by the agency"),
        "accept": Msg("Disetujui OPD", "Accepted by the agency"),
        "reject": Msg("Ditolak OPD", "Rejected by the agency"),
        "fulfil": Msg("Layanan diberikan", "Service delivered"),
        "escalate": Msg("Terlambat: dilaporkan ke atasan", "Overdue: escalated"),
    },
    "letter": {"revoke": Msg("Surat rujukan dicabut", "Referral letter revoked")},
}

# A case step as something to do next ("Asesmen"): what a refusal offers instead.
TO_DO: dict[str, Msg] = {
    "assess": Msg("asesmen (back office)", "assessment (back office)"),
    "decide": Msg(
        "keputusan (Manajer SLRT / Koordinator Puskesos)",
        "decision (SLRT manager / Puskesos coordinator)",
    ),
    "return": Msg("pengembalian untuk perbaikan", "return for correction"),
    "refer": Msg("rujukan dan penerbitan surat", "referral and letters"),
    "follow_up": Msg("tindak lanjut (fasilitator)", "follow-up (facilitator)"),
    "close": Msg("penutupan kasus", "closing the case"),
}


def in_flow_order(steps: list[str]) -> list[str]:
    """Case steps in the order the flow takes them (the table's order)."""
    return [step for step in TO_DO if step in steps]


def done(machine: str, action: str) -> Msg:
    return DONE.get(machine, {}).get(action) or Msg(action, action)


def choices(labels: dict[str, Msg]) -> list[tuple[str, Msg]]:
    """(code, words) pairs for a select or a group of radios, in the table's order."""
    return list(labels.items())
