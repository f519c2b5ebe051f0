"""The facts an eligibility rule may test: one catalogue, used by the rule validator, the API
(`GET .../rule-fields`) and the service flow, which computes these facts per person.

Types: "bool", "int", "str". `choices` limits a str field; `minimum`/`maximum` an int field.
A fact the service flow cannot establish is None (null) and makes any comparison on it false.

Each fact also has an Indonesian name (`name_id`: `umur` for `age`) that a rule may use instead;
the stored rule names the fact by its English name either way, so evaluation, the API and the
service flow know one name per fact.
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
    name_id: str = ""  # the Indonesian name a rule may use instead (`umur` for `age`)


FIELDS: dict[str, RuleField] = {
    f.name: f
    for f in (
        RuleField(
            "in_dtks",
            "bool",
            "Terdaftar di DTSEN",
            "Listed in the welfare registry (DTSEN)",
            name_id="terdaftar_dtks",
        ),
        RuleField(
            "desil",
            "int",
            "Desil kesejahteraan DTSEN (1 = termiskin, 10 = terkaya); kosong bila tidak terdaftar",
            "DTSEN welfare decile (1 = poorest, 10 = richest); null when not listed",
            minimum=1,
            maximum=10,
            name_id="desil",
        ),
        RuleField(
            "age",
            "int",
            "Umur dalam tahun penuh",
            "Age in whole years",
            minimum=0,
            maximum=150,
            name_id="umur",
        ),
        RuleField(
            "sex",
            "str",
            'Jenis kelamin: "L" (laki-laki) atau "P" (perempuan)',
            'Sex: "L" (male) or "P" (female)',
            choices=("L", "P"),
            name_id="jenis_kelamin",
        ),
        RuleField(
            "has_disability",
            "bool",
            "Penyandang disabilitas",
            "Has a disability",
            name_id="disabilitas",
        ),
        RuleField(
            "is_head_of_family",
            "bool",
            "Kepala keluarga (menurut KK)",
            "Head of the family (per KK)",
            name_id="kepala_keluarga",
        ),
        RuleField(
            "household_size",
            "int",
            "Jumlah anggota keluarga dalam KK",
            "Number of members on the family card",
            minimum=1,
            maximum=50,
            name_id="jumlah_anggota_keluarga",
        ),
        RuleField(
            "has_school_age_children",
            "bool",
            "Ada anak usia sekolah (6-21 tahun) dalam keluarga",
            "The family has school-age children (6-21)",
            name_id="ada_anak_usia_sekolah",
        ),
        RuleField(
            "village_is_intervention",
            "bool",
            "Tinggal di desa/kelurahan intervensi (lokus Kemensos)",
            "Lives in an intervention (Kemensos lokus) village",
            name_id="desa_intervensi",
        ),
        RuleField(
            "village_kind",
            "str",
            'Jenis desa tempat tinggal: "desa", "kelurahan" atau "desa_adat"',
            'Kind of home village: "desa", "kelurahan" or "desa_adat"',
            choices=("desa", "kelurahan", "desa_adat"),
            name_id="jenis_desa",
        ),
    )
}

# Indonesian name -> the fact (only where it differs from the English name).
ALIASES: dict[str, RuleField] = {
    f.name_id: f for f in FIELDS.values() if f.name_id and f.name_id != f.name
}
assert not set(ALIASES) & set(FIELDS), "an Indonesian name may not be another fact's name"


def field_named(name: str) -> RuleField | None:
    """The fact a rule names, by its English or its Indonesian name."""
    return FIELDS.get(name) or ALIASES.get(name)


def both_names(spec: RuleField) -> str:
    """ "age (umur)": how lists of facts name one, English first as stored."""
    if spec.name_id and spec.name_id != spec.name:
        return f"{spec.name} ({spec.name_id})"
    return spec.name
