"""Referral letters (surat rujukan): numbering, the verification token and the PDF.

One letter per referral, numbered per district per year (`400.9/0001/SLRT/2026`, the codes from
the letterhead settings), with a random token behind the QR code. The PDF is rendered with fpdf2
(core fonts, no system packages) and segno for the QR code; the public verification page reveals
only that the letter is genuine and its status. The letterhead, the facts, the signature and the
QR code are pieces every letter of the district uses (the DTSEN outcome letters too); a referral
letter also states the family's latest official DTSEN standing and its period.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata

import segno
from fpdf import FPDF

from slrt.platform.config import public_url
from slrt.platform.i18n import local_date, local_today
from slrt.platform.region_codes import name_of
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.settings import letter_number, letterhead
from slrt.tenants.dtsen.standing import describe
from slrt.tenants.flow.models import Letter
from slrt.tenants.flow.sequences import next_value

MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def new_number(tenant: Tenant, year: int) -> str:
    head = letterhead(tenant)
    serial = next_value("letter", year)
    return letter_number(head, serial, year)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def verification_url(tenant: Tenant, token: str) -> str:
    return f"{public_url()}/t/{tenant.slug}/surat/{token}"


def tanggal(day: dt.date) -> str:
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def latin1(text: str | None) -> str:
    """Core PDF fonts are Latin-1: keep what fits, spell out the rest without accents."""
    text = text or ""
    if all(ord(c) < 256 for c in text):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if ord(c) < 256 and not unicodedata.combining(c))


def start_letter(tenant: Tenant, *, title: str, heading: str, number: str) -> FPDF:
    """An A4 letter with the district's letterhead (kop surat), its heading and number."""
    head = letterhead(tenant)
    pdf = FPDF(format="A4")
    pdf.set_title(f"{title} {number}")
    pdf.set_creator("SLRT")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_margins(20, 15, 20)

    # Letterhead (kop surat)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 6, latin1(head["government_name"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 7, latin1(head["office_name"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    contact = " | ".join(
        x for x in (head["address"], head["phone"], head["email"], head["website"]) if x
    )
    if contact:
        pdf.cell(0, 5, latin1(contact), align="C", new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 2
    pdf.set_line_width(0.8)
    pdf.line(20, y, 190, y)
    pdf.set_y(y + 5)

    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 6, heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(0, 5, f"Nomor: {latin1(number)}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    return pdf


def fact_rows(pdf: FPDF, rows: list[tuple[str, str | None]]) -> None:
    """Label / value lines ("Nama : ...") of a letter."""
    for key, value in rows:
        pdf.cell(45, 6, latin1(key))
        pdf.multi_cell(0, 6, latin1(f": {value or '-'}"), new_x="LMARGIN", new_y="NEXT")


def sign_and_verify(
    pdf: FPDF, tenant: Tenant, *, issued: dt.date, signer_title: str, signer_name: str, url: str
) -> bytes:
    """The QR code beside the place, date and signature, the verification line; the PDF."""
    head = letterhead(tenant)
    top = pdf.get_y()
    draw_qr(pdf, url, x=20, y=top, size=35)
    pdf.set_xy(110, top)
    pdf.multi_cell(
        80,
        5,
        latin1(f"{head['city']}, {tanggal(issued)}\n{signer_title}\n\n\n\n{signer_name}"),
        align="C",
    )
    pdf.set_y(top + 38)
    pdf.set_font("helvetica", "", 8)
    pdf.multi_cell(
        0,
        4,
        latin1(f"Keaslian surat ini dapat diperiksa dengan memindai kode QR atau membuka {url}"),
        link=url,
    )
    return bytes(pdf.output())


def render_pdf(
    *,
    tenant: Tenant,
    letter: Letter,
    person: dict[str, str | None],
    program_name: str,
    agency_name: str,
    ticket_number: str,
    needs: list[str],
) -> bytes:
    url = verification_url(tenant, letter.token)
    pdf = start_letter(
        tenant,
        title="Surat Rujukan",
        heading="SURAT RUJUKAN / REKOMENDASI",
        number=letter.number,
    )
    issued = local_date(letter.issued_at) if letter.issued_at else local_today()

    pdf.multi_cell(0, 5, latin1(f"Kepada Yth.\nPimpinan {agency_name}\ndi tempat"))
    pdf.ln(3)
    pdf.multi_cell(
        0,
        5,
        latin1(
            "Dengan hormat, melalui Sistem Layanan dan Rujukan Terpadu (SLRT) kami merujuk warga "
            "berikut untuk mendapatkan layanan program yang disebutkan di bawah ini:"
        ),
    )
    pdf.ln(2)
    rows = [
        ("Nama", person.get("name")),
        ("NIK", person.get("nik")),
        ("Tempat/tgl. lahir", person.get("born")),
        ("Desa/Kelurahan", person.get("village")),
        ("Alamat", person.get("address")),
        ("Status DTSEN", person.get("dtsen")),
        ("Nomor tiket", ticket_number),
        ("Program", program_name),
        ("OPD tujuan", agency_name),
    ]
    fact_rows(pdf, rows)
    if needs:
        pdf.ln(1)
        pdf.multi_cell(0, 5, latin1("Kebutuhan: " + "; ".join(needs)))
    pdf.ln(3)
    pdf.multi_cell(
        0,
        5,
        latin1(
            "Mohon kiranya warga tersebut dapat dilayani sesuai ketentuan program. Tanggapan "
            "(diterima, disetujui, ditolak beserta alasannya, atau layanan yang diberikan) "
            "dicatat melalui SLRT. Atas perhatian dan kerja samanya kami ucapkan terima kasih."
        ),
    )
    pdf.ln(6)
    return sign_and_verify(
        pdf,
        tenant,
        issued=issued,
        signer_title=letter.signer_title,
        signer_name=letter.signer_name,
        url=url,
    )


def draw_qr(pdf: FPDF, url: str, *, x: float, y: float, size: float) -> None:
    """The QR code as vector squares (sharp at any print size), one rectangle per run of dark
    modules in a row, inside a quiet zone of two modules; the area links to `url`."""
    qr = segno.make(url, error="m")
    rows = list(qr.matrix)
    module = size / (len(rows) + 4)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(
                    x + (start + 2) * module,
                    y + (r + 2) * module,
                    (c - start) * module,
                    module,
                    "F",
                )
            else:
                c += 1
    pdf.link(x, y, size, size, url)


def person_lines(person, household) -> dict[str, str | None]:
    born = None
    if person is not None and (person.birth_place or person.birth_date):
        born = ", ".join(
            x
            for x in (person.birth_place, tanggal(person.birth_date) if person.birth_date else None)
            if x
        )
    village_code = (person.village_code if person else None) or (
        household.village_code if household else None
    )
    dtsen = describe(household)
    return {
        "name": person.name if person else None,
        "nik": person.nik if person else None,
        "born": born,
        "village": name_of(village_code) if village_code else None,
        "address": household.address if household else None,
        "dtsen": str(dtsen) if dtsen else "Belum dicek",
    }
