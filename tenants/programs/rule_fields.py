"""The facts an eligibility rule may test: one catalogue, used by the rule validator, the API
(`GET .../rule-fields`) and the service flow, which computes these facts per person.

Types: "bool", "int", "str". `choices` limits a str field; `minimum`/`maximum` an int field.
A fact the service flow cannot establish is None (null) and makes any comparison on it false.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleField:
    name: str
    type: str
    description: str  # Indonesian
    description_en: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


FIELDS: dict[str, RuleField] = {
    f.name: f
    for f in (
        RuleField(
            "in_dtks",
            "bool",
            "Terdaftar di DTKS/DTSEN",
            "Listed in the welfare registry (DTKS/DTSEN)",
        ),
        RuleField(
            "desil",
            "int",
            "Desil kesejahteraan DTSEN (1 = termiskin, 10 = terkaya); kosong bila tidak terdaftar",
            "DTSEN welfare decile (1 = poorest, 10 = richest); null when not listed",
            minimum=1,
            maximum=10,
        ),
        RuleField(
            "age", "int", "Umur dalam tahun penuh", "Age in whole years", minimum=0, maximum=150
        ),
        RuleField(
            "sex",
            "str",
            'Jenis kelamin: "L" (laki-laki) atau "P" (perempuan)',
            'Sex: "L" (male) or "P" (female)',
            choices=("L", "P"),
        ),
        RuleField("has_disability", "bool", "Penyandang disabilitas", "Has a disability"),
        RuleField(
            "is_head_of_family",
            "bool",
            "Kepala keluarga (menurut KK)",
            "Head of the family (per KK)",
        ),
        RuleField(
            "household_size",
            "int",
            "Jumlah anggota keluarga dalam KK",
            "Number of members on the family card",
            minimum=1,
            maximum=50,
        ),
        RuleField(
            "has_school_age_children",
            "bool",
            "Ada anak usia sekolah (6-21 tahun) dalam keluarga",
            "The family has school-age children (6-21)",
        ),
        RuleField(
            "village_is_intervention",
            "bool",
            "Tinggal di desa/kelurahan intervensi (lokus Kemensos)",
            "Lives in an intervention (Kemensos lokus) village",
        ),
        RuleField(
            "village_kind",
            "str",
            'Jenis desa tempat tinggal: "desa", "kelurahan" atau "desa_adat"',
            'Kind of home village: "desa", "kelurahan" or "desa_adat"',
            choices=("desa", "kelurahan", "desa_adat"),
        ),
    )
}
