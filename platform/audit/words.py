"""The audit trail in words, for pages: what an event's action, entity and fields mean to a person
in Indonesian and English, and its before/after as rows of a small table. Pages never show the
stored keys or JSON; an action or field this table does not know yet reads as its key with the
underscores made spaces.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from slrt.platform.audit.models import AuditKind
from slrt.platform.errors import Msg

KINDS: dict[str, Msg] = {
    AuditKind.config: Msg("Perubahan pengaturan", "Configuration change"),
    AuditKind.workflow: Msg("Langkah layanan", "Service step"),
    AuditKind.security: Msg("Akses dan pengguna", "Access and members"),
    AuditKind.read: Msg("Data pribadi dibaca", "Personal data read"),
    AuditKind.export: Msg("Data pribadi diekspor", "Personal data exported"),
    AuditKind.letter: Msg("Surat yang menyebut warga", "Letter naming a resident"),
    AuditKind.erasure: Msg("Penghapusan data pribadi", "Personal data erased"),
}

ENTITIES: dict[str, Msg] = {
    "tenant": Msg("Kabupaten/kota", "District"),
    "lokus_designation": Msg("Penetapan lokus", "Lokus designation"),
    "kecamatan": Msg("Kecamatan", "Kecamatan"),
    "village": Msg("Desa/kelurahan", "Village"),
    "service_point": Msg("Sekretariat/Puskesos", "Secretariat/Puskesos"),
    "agency": Msg("OPD", "Agency"),
    "program": Msg("Program", "Program"),
    "membership": Msg("Keanggotaan", "Membership"),
    "invitation": Msg("Undangan", "Invitation"),
    "role": Msg("Peran", "Role"),
    "case": Msg("Kasus", "Case"),
    "referral": Msg("Rujukan", "Referral"),
    "letter": Msg("Surat rujukan", "Referral letter"),
    "attachment": Msg("Lampiran kasus", "Case attachment"),
    "household": Msg("Keluarga (KK)", "Household"),
    "person": Msg("Warga", "Person"),
    "dtks_proposal": Msg("Usulan DTSEN", "DTKS proposal"),
    "dtks_proposal_batch": Msg("Berkas usulan DTKS", "DTKS proposal batch"),
    "job": Msg("Pekerjaan latar", "Background job"),
    "plan": Msg("Paket layanan", "Plan"),
}

ACTIONS: dict[str, Msg] = {
    "tenant.onboard": Msg("Kabupaten/kota didaftarkan di SLRT", "District onboarded"),
    "tenant.suspend": Msg("Kabupaten/kota ditangguhkan", "District suspended"),
    "tenant.reactivate": Msg("Kabupaten/kota diaktifkan kembali", "District reactivated"),
    "lokus.designate": Msg("Ditetapkan sebagai lokus Kemensos", "Designated a Kemensos lokus"),
    "profile.update": Msg("Kop surat atau penomoran surat diubah", "Letterhead changed"),
    "profile.timezone": Msg("Zona waktu diubah", "Time zone changed"),
    "plan.assign": Msg("Paket layanan diganti", "Plan changed"),
    "regions.sync": Msg(
        "Wilayah dilengkapi dari referensi Kemendagri", "Regions completed from the reference"
    ),
    "kecamatan.update": Msg("Kecamatan diganti namanya", "Kecamatan renamed"),
    "village.create": Msg("Desa/kelurahan lokal ditambahkan", "Local village added"),
    "village.update": Msg("Desa/kelurahan diubah", "Village changed"),
    "service_point.create": Msg("Sekretariat/Puskesos ditambahkan", "Service point added"),
    "service_point.update": Msg("Sekretariat/Puskesos diubah", "Service point changed"),
    "agency.create": Msg("OPD ditambahkan", "Agency added"),
    "agency.update": Msg("OPD diubah", "Agency changed"),
    "program.create": Msg("Program daerah ditambahkan", "Local program added"),
    "program.enable": Msg("Program nasional diaktifkan", "National program enabled"),
    "program.update": Msg("Program diubah", "Program changed"),
    "membership.update": Msg(
        "Peran atau wilayah anggota diubah", "Member's role or region changed"
    ),
    "membership.revoke": Msg("Keanggotaan dicabut", "Membership revoked"),
    "invitation.create": Msg("Undangan dikirim", "Invitation sent"),
    "invitation.revoke": Msg("Undangan dicabut", "Invitation revoked"),
    "invitation.accept": Msg("Undangan diterima", "Invitation accepted"),
    "role.create": Msg("Peran dibuat", "Role created"),
    "role.update": Msg("Peran diubah", "Role changed"),
    "role.delete": Msg("Peran dihapus", "Role deleted"),
    "case.register": Msg("Kasus didaftarkan", "Case registered"),
    "case.update": Msg("Kasus diubah", "Case changed"),
    "case.attach": Msg("Dokumen dilampirkan pada kasus", "Document attached to a case"),
    "case.assess": Msg("Kasus dinilai (asesmen)", "Case assessed"),
    "case.decide": Msg("Layanan diputuskan", "Service decided"),
    "case.return": Msg("Kasus dikembalikan untuk perbaikan", "Case returned for correction"),
    "case.refer": Msg("Kasus dirujuk", "Case referred"),
    "case.follow_up": Msg("Tindak lanjut dicatat", "Follow-up recorded"),
    "case.close": Msg("Kasus ditutup", "Case closed"),
    "referral.send": Msg("Rujukan dikirim ke OPD", "Referral sent to the agency"),
    "referral.receive": Msg("Rujukan diterima OPD", "Referral received by the agency"),
    "referral.accept": Msg("Rujukan disetujui OPD", "Referral accepted"),
    "referral.reject": Msg("Rujukan ditolak OPD", "Referral rejected"),
    "referral.fulfil": Msg("Layanan rujukan diberikan", "Referral fulfilled"),
    "referral.escalate": Msg("Rujukan terlambat dieskalasi", "Overdue referral escalated"),
    "letter.issue": Msg("Surat rujukan diterbitkan", "Referral letter issued"),
    "letter.print": Msg("Surat rujukan dicetak", "Referral letter printed"),
    "letter.revoke": Msg("Surat rujukan dicabut", "Referral letter revoked"),
    "household.create": Msg("Keluarga didaftarkan", "Household registered"),
    "household.update": Msg("Data keluarga diubah", "Household changed"),
    "household.read": Msg("Data keluarga dibaca", "Household read"),
    "household.list": Msg("Daftar keluarga dibaca", "Household list read"),
    "person.create": Msg("Warga didaftarkan", "Person registered"),
    "person.update": Msg("Data warga diubah", "Person changed"),
    "person.read": Msg("Data warga dibaca", "Person read"),
    "person.list": Msg("Daftar warga dibaca", "Person list read"),
    "person.export": Msg("Data warga diekspor", "Person's data exported"),
    "person.erase": Msg("Data warga dihapus", "Person's data erased"),
    "attachment.read": Msg("Lampiran kasus dibuka", "Case attachment opened"),
    "registry.import": Msg("Registri diimpor dari berkas", "Registry imported from a file"),
    "job.cancel": Msg("Pekerjaan latar dibatalkan", "Background job cancelled"),
    "proposal.create": Msg("Usulan DTSEN dibuat", "DTSEN proposal made"),
    "proposal.batch": Msg("Usulan masuk berkas desa/kelurahan", "Proposal put in a batch"),
    "proposal.accept": Msg("Usulan diterima di DTSEN", "Proposal accepted into DTSEN"),
    "proposal.reject": Msg("Usulan tidak diterima di DTSEN", "Proposal not accepted into DTSEN"),
    "proposal_batch.create": Msg("Berkas usulan dibuat", "Proposal batch created"),
    "proposal_batch.minutes": Msg("Berita acara musyawarah diunggah", "Meeting minutes uploaded"),
    "proposal_batch.verify": Msg("Berkas usulan diverifikasi", "Proposal batch verified"),
    "proposal_batch.export": Msg("Berkas usulan diekspor untuk SIKS-NG", "Batch exported"),
    "proposal_batch.result": Msg("Hasil SIKS-NG dicatat", "SIKS-NG result recorded"),
}

# Last resort for an action the table above does not know: its entity and its verb.
VERBS: dict[str, Msg] = {
    "create": Msg("ditambahkan", "added"),
    "update": Msg("diubah", "changed"),
    "delete": Msg("dihapus", "deleted"),
    "read": Msg("dibaca", "read"),
    "list": Msg("dibaca dalam daftar", "read in a list"),
    "export": Msg("diekspor", "exported"),
}

FIELDS: dict[str, Msg] = {
    "name": Msg("Nama", "Name"),
    "code": Msg("Kode", "Code"),
    "kind": Msg("Jenis", "Kind"),
    "source": Msg("Asal data", "Source"),
    "reference_name": Msg("Nama di referensi", "Reference name"),
    "is_intervention": Msg("Desa intervensi", "Intervention village"),
    "funding_source": Msg("Sumber dana", "Funding source"),
    "active": Msg("Aktif", "Active"),
    "village_id": Msg("Desa/kelurahan", "Village"),
    "address": Msg("Alamat", "Address"),
    "phone": Msg("Telepon", "Phone"),
    "email": Msg("Email", "Email"),
    "website": Msg("Situs web", "Website"),
    "decree_number": Msg("Nomor SK", "Decree number"),
    "decree_date": Msg("Tanggal SK", "Decree date"),
    "opened_on": Msg("Mulai beroperasi", "Opened on"),
    "contact_name": Msg("Narahubung", "Contact person"),
    "description": Msg("Keterangan", "Description"),
    "sector": Msg("Sektor", "Sector"),
    "owner": Msg("Pemilik program", "Program owner"),
    "funding": Msg("Sumber dana", "Funding"),
    "required_documents": Msg("Dokumen persyaratan", "Required documents"),
    "deadline_days": Msg("Batas waktu layanan (hari)", "Service deadline (days)"),
    "rule_text": Msg("Aturan kelayakan", "Eligibility rule"),
    "agency_id": Msg("OPD", "Agency"),
    "national_program_id": Msg("Program nasional", "National program"),
    "version": Msg("Versi", "Version"),
    "status": Msg("Status", "Status"),
    "note": Msg("Catatan", "Note"),
    "government_name": Msg("Nama pemerintah daerah", "Government name"),
    "office_name": Msg("Nama dinas", "Office name"),
    "city": Msg("Kota penandatanganan", "Place of signing"),
    "head_name": Msg("Nama kepala dinas", "Head of office"),
    "head_title": Msg("Jabatan kepala", "Head's title"),
    "head_nip": Msg("NIP kepala", "Head's civil servant number"),
    "letter_code": Msg("Kode klasifikasi surat", "Letter classification code"),
    "letter_unit": Msg("Kode unit surat", "Letter unit code"),
    "timezone": Msg("Zona waktu", "Time zone"),
    "wave": Msg("Tahap", "Wave"),
    "year": Msg("Tahun", "Year"),
    "role": Msg("Peran", "Role"),
    "role_key": Msg("Peran", "Role"),
    "scope_kind": Msg("Jenis wilayah kerja", "Region kind"),
    "scope_codes": Msg("Wilayah kerja", "Region"),
    "permissions": Msg("Izin", "Permissions"),
    "kecamatan_added": Msg("Kecamatan ditambahkan", "Kecamatan added"),
    "villages_added": Msg("Desa/kelurahan ditambahkan", "Villages added"),
    "plan": Msg("Paket", "Plan"),
    "reason": Msg("Alasan", "Reason"),
    "expires_on": Msg("Berlaku sampai", "Valid until"),
    "person_ids": Msg("Warga", "Persons"),
    "number": Msg("Nomor surat", "Letter number"),
    "ticket_number": Msg("Nomor tiket", "Ticket number"),
    "case_id": Msg("Kasus", "Case"),
    "referral_id": Msg("Rujukan", "Referral"),
    "program_id": Msg("Program", "Program"),
    "person_id": Msg("Warga", "Person"),
    "household_id": Msg("Keluarga", "Household"),
    "channel": Msg("Saluran", "Channel"),
    "outcome": Msg("Hasil", "Outcome"),
    "household_ids": Msg("Keluarga", "Households"),
}

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
YES, NO, NOTHING = Msg("Ya", "Yes"), Msg("Tidak", "No"), Msg("—", "—")

# Stored values that read differently to a person, whatever field holds them.
VALUES: dict[str, Msg] = {
    "apbn_kemensos": Msg("APBN Kemensos (intervensi)", "APBN Kemensos (intervention)"),
    "apbn": Msg("APBN", "APBN"),
    "apbd": Msg("APBD", "APBD"),
    "dana_desa": Msg("Dana Desa", "Dana Desa"),
    "zakat": Msg("Zakat (BAZNAS)", "Zakat (BAZNAS)"),
    "kelurahan": Msg("Kelurahan", "Kelurahan"),
    "desa": Msg("Desa", "Desa"),
    "desa_adat": Msg("Desa adat", "Desa adat"),
    "reference": Msg("Referensi Kemendagri", "Kemendagri reference"),
    "local": Msg("Ditambahkan kabupaten/kota", "Added by the district"),
    "secretariat": Msg("Sekretariat SLRT", "SLRT secretariat"),
    "puskesos": Msg("Puskesos", "Puskesos"),
    "dinas": Msg("Dinas", "Dinas"),
    "hospital": Msg("Rumah sakit", "Hospital"),
    "baznas": Msg("BAZNAS", "BAZNAS"),
    "health": Msg("Kesehatan", "Health"),
    "education": Msg("Pendidikan", "Education"),
    "food": Msg("Pangan", "Food"),
    "housing": Msg("Perumahan", "Housing"),
    "cash_transfer": Msg("Bantuan tunai", "Cash transfer"),
    "social_rehabilitation": Msg("Rehabilitasi sosial", "Social rehabilitation"),
    "civil_registration": Msg("Administrasi kependudukan", "Civil registration"),
    "employment": Msg("Ketenagakerjaan dan ekonomi", "Employment and livelihood"),
    "district": Msg("Seluruh kabupaten/kota", "Whole district"),
    "Asia/Jakarta": Msg("WIB (Asia/Jakarta)", "WIB (Asia/Jakarta)"),
    "Asia/Makassar": Msg("WITA (Asia/Makassar)", "WITA (Asia/Makassar)"),
    "Asia/Jayapura": Msg("WIT (Asia/Jayapura)", "WIT (Asia/Jayapura)"),
    "village": Msg("Desa/kelurahan", "Villages"),
}


def _readable_key(key: str) -> Msg:
    text = key.replace("_", " ").replace(".", " ")
    return Msg(text, text)


def kind_label(kind: str) -> Msg:
    return KINDS.get(kind) or _readable_key(kind)


def entity_label(entity_type: str) -> Msg:
    return ENTITIES.get(entity_type) or _readable_key(entity_type)


def action_label(action: str) -> Msg:
    """ "village.update" -> "Desa/kelurahan diubah"."""
    if action in ACTIONS:
        return ACTIONS[action]
    entity, _, verb = action.rpartition(".")
    noun = entity_label(entity) if entity else None
    said = VERBS.get(verb) or _readable_key(verb)
    if noun is None:
        return said
    return Msg(f"{noun} {said}", f"{noun.en} {said.en}")


def field_label(field: str) -> Msg:
    return FIELDS.get(field) or _readable_key(field)


# The entity types whose `status` moves through a service-flow state machine, and its name.
MACHINE_OF = {
    "case": "case",
    "referral": "referral",
    "dtks_proposal": "proposal",
    "dtks_proposal_batch": "batch",
}


@cache
def _states() -> dict[str, dict[str, tuple[str, str]]]:
    from slrt.tenants.flow.workflow import STATE_LABELS

    return STATE_LABELS


def value_text(
    field: str, value: Any, names: Mapping[str, str] | None = None, entity_type: str = ""
) -> Msg:
    """A stored value as a person reads it; ids found in `names` (id -> name) by their name, a
    case's or referral's `status` by the state's name."""
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        if field.endswith("_ids"):
            return Msg(f"{len(value)} data", f"{len(value)} record(s)")
        parts = [value_text(field, item, names) for item in value]
        return Msg(", ".join(parts), ", ".join(p.en for p in parts))
    if isinstance(value, dict):
        parts = [(field_label(k), value_text(k, v, names)) for k, v in value.items()]
        return Msg(
            "; ".join(f"{k}: {v}" for k, v in parts), "; ".join(f"{k.en}: {v.en}" for k, v in parts)
        )
    text = str(value)
    if field == "status" and entity_type in MACHINE_OF:
        state = _states()[MACHINE_OF[entity_type]].get(text)
        if state is not None:
            return Msg(*state)
    if names and text in names:
        return Msg(names[text], names[text])
    if text in VALUES:
        return VALUES[text]
    if UUID_RE.match(text):  # a record without a name here: its short reference
        return Msg(f"#{text[:8]}", f"#{text[:8]}")
    if field.endswith(("_date", "_on")):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            pass
        else:
            shown = day.strftime("%d-%m-%Y")
            return Msg(shown, shown)
    return Msg(text, text)


@dataclass(frozen=True)
class ChangeRow:
    field: Msg
    before: Msg
    after: Msg


def change_rows(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    names: Mapping[str, str] | None = None,
    entity_type: str = "",
) -> list[ChangeRow]:
    """An event's before/after as table rows, one per field, in the order they were recorded."""
    before, after = before or {}, after or {}
    fields = list(before) + [k for k in after if k not in before]

    def shown(values: Mapping[str, Any], name: str) -> Msg:
        if name not in values:
            return NOTHING
        return value_text(name, values[name], names, entity_type)

    return [
        ChangeRow(field_label(name), shown(before, name), shown(after, name)) for name in fields
    ]


def ids_in(*values: Mapping[str, Any] | None) -> set[str]:
    """The ids a before/after names in `*_id` fields (to look their names up in one go)."""
    found: set[str] = set()
    for value in values:
        for key, item in (value or {}).items():
            if key.endswith("_id") and isinstance(item, str):
                found.add(item)
    return found
