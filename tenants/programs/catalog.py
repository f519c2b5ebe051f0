"""The national programs every installation starts with (Kemensos edits them afterwards).

`seed_national_catalog` inserts the programs whose code is missing and never overwrites a
program Kemensos has already edited; migration 0004 runs it, and so does the demo loader.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from slrt.tenants.programs.rules import parse_rule

KTP_KK = ["KTP (NIK)", "Kartu Keluarga (KK)"]

SEED: list[dict] = [
    {
        "code": "PKH",
        "name": "Program Keluarga Harapan (PKH)",
        "description": "Bantuan tunai bersyarat bagi keluarga miskin dengan komponen ibu hamil, "
        "anak usia dini, anak sekolah, lansia atau penyandang disabilitas berat.",
        "sector": "cash_transfer",
        "owner": "Kementerian Sosial - Direktorat Jaminan Sosial",
        "funding": "apbn",
        "required_documents": [*KTP_KK, "Bukti komponen (buku KIA, kartu pelajar, dsb.)"],
        "deadline_days": 30,
        "rule_text": "in_dtks and desil <= 4 and (has_school_age_children or age >= 60 "
        "or has_disability)",
    },
    {
        "code": "BPNT",
        "name": "Program Sembako / Bantuan Pangan Non Tunai (BPNT)",
        "description": "Bantuan pangan bulanan melalui kartu keluarga sejahtera.",
        "sector": "food",
        "owner": "Kementerian Sosial - Direktorat Jaminan Sosial",
        "funding": "apbn",
        "required_documents": KTP_KK,
        "deadline_days": 30,
        "rule_text": "in_dtks and desil <= 4",
    },
    {
        "code": "PBI-JK",
        "name": "Penerima Bantuan Iuran Jaminan Kesehatan (PBI-JK)",
        "description": "Iuran BPJS Kesehatan dibayar negara; membutuhkan NIK yang sah dan "
        "terdaftar di DTKS/DTSEN.",
        "sector": "health",
        "owner": "Kementerian Sosial bersama BPJS Kesehatan",
        "funding": "apbn",
        "required_documents": KTP_KK,
        "deadline_days": 14,
        "rule_text": "in_dtks and desil <= 5",
    },
    {
        "code": "PIP",
        "name": "Program Indonesia Pintar / Kartu Indonesia Pintar (PIP/KIP)",
        "description": "Bantuan tunai pendidikan bagi anak usia sekolah dari keluarga miskin.",
        "sector": "education",
        "owner": "Kementerian Pendidikan Dasar dan Menengah",
        "funding": "apbn",
        "required_documents": [*KTP_KK, "Kartu pelajar atau surat keterangan sekolah"],
        "deadline_days": 30,
        "rule_text": "in_dtks and desil <= 4 and has_school_age_children",
    },
    {
        "code": "RTLH",
        "name": "Rehabilitasi Rumah Tidak Layak Huni (RTLH)",
        "description": "Perbaikan rumah tidak layak huni milik keluarga miskin.",
        "sector": "housing",
        "owner": "Kementerian Perumahan dan Kawasan Permukiman",
        "funding": "apbn",
        "required_documents": [
            *KTP_KK,
            "Bukti kepemilikan atau penguasaan tanah",
            "Foto kondisi rumah",
        ],
        "deadline_days": 90,
        "rule_text": "in_dtks and desil <= 3 and is_head_of_family",
    },
    {
        "code": "ATENSI",
        "name": "Asistensi Rehabilitasi Sosial (ATENSI)",
        "description": "Layanan rehabilitasi sosial bagi lansia, penyandang disabilitas, anak "
        "dan kelompok rentan lain.",
        "sector": "social_rehabilitation",
        "owner": "Kementerian Sosial - Direktorat Jenderal Rehabilitasi Sosial",
        "funding": "apbn",
        "required_documents": [*KTP_KK, "Surat keterangan (disabilitas / kondisi sosial)"],
        "deadline_days": 14,
        "rule_text": "age >= 60 or has_disability",
    },
]

SEED_CODES = tuple(p["code"] for p in SEED)


def seed_national_catalog(conn: sa.Connection) -> int:
    """Insert the seed programs whose code is missing; returns how many were inserted."""
    from slrt.tenants.programs.models import NationalProgram

    rows = [
        {
            **program,
            "id": uuid.uuid4(),
            "rule_ast": parse_rule(program["rule_text"]),
            "active": True,
            "version": 1,
        }
        for program in SEED
    ]
    result = conn.execute(
        postgresql.insert(NationalProgram.__table__)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(NationalProgram.__table__.c.code),
        rows,
    )
    return len(result.all())
