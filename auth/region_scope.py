"""Region scope of memberships and invitations: validating scope codes against the Kemendagri
reference, naming them, and SQL conditions (with a Python twin) for rows that carry one region
code or a scope of several.

A desa/kelurahan code `PP.KK.CC.XDDD` lies inside kecamatan `PP.KK.CC` by prefix.
"""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.policy import Principal
from slrt.platform import region_codes
from slrt.platform.errors import Msg, field_error

SCOPE_KINDS = ("district", "kecamatan", "village")


def code_in_scope(principal: Principal, code_column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A single region code (kecamatan or desa) lies inside the caller's scope."""
    if principal.whole_district:
        return sa.true()
    if principal.scope_kind == "kecamatan":
        return sa.or_(code_column.in_(principal.scope_codes), principal.region_clause(code_column))
    return principal.region_clause(code_column)


def codes_within_scope(
    principal: Principal, kind_column: sa.ColumnElement, codes_column: sa.ColumnElement
) -> sa.ColumnElement[bool]:
    """Rows whose own scope (kind + array of codes) lies entirely inside the caller's scope.
    A district-wide row is visible only to district-wide callers."""
    if principal.whole_district:
        return sa.true()
    codes = sa.func.unnest(codes_column).table_valued("code").render_derived(name="scope_code")
    outside = (
        sa.select(sa.literal(1))
        .select_from(codes)
        .where(sa.not_(code_in_scope(principal, codes.c.code)))
    )
    return sa.and_(kind_column != "district", sa.not_(sa.exists(outside)))


def covers_all(principal: Principal, scope_kind: str, codes: list[str]) -> bool:
    """Python twin of codes_within_scope, for single reads and writes."""
    if principal.whole_district:
        return True
    if scope_kind == "district" or not codes:
        return False
    return all(principal.covers(code) for code in codes)


def scope_errors(
    district_code: str, scope_kind: str, codes: list[str], field: str = "scope_codes"
) -> list[dict[str, str]]:
    """Field errors for a scope that does not fit the district (empty list: valid)."""
    errors: list[dict[str, str]] = []
    if scope_kind not in SCOPE_KINDS:
        return [
            field_error(
                "scope_kind",
                Msg(
                    "Harus salah satu dari: district, kecamatan, village.",
                    "Must be one of: district, kecamatan, village.",
                ),
            )
        ]
    if scope_kind == "district":
        if codes:
            errors.append(
                field_error(
                    field,
                    Msg(
                        "Cakupan seluruh kabupaten/kota tidak memakai kode wilayah.",
                        "A whole-district scope takes no region codes.",
                    ),
                )
            )
        return errors
    if not codes:
        return [
            field_error(
                field, Msg("Sebutkan minimal satu kode wilayah.", "Give at least one region code.")
            )
        ]
    pattern = region_codes.KECAMATAN_RE if scope_kind == "kecamatan" else region_codes.VILLAGE_RE
    example = f"{district_code}.01" if scope_kind == "kecamatan" else f"{district_code}.01.2001"
    label_id = "kecamatan" if scope_kind == "kecamatan" else "desa/kelurahan"
    label_en = "kecamatan" if scope_kind == "kecamatan" else "desa/kelurahan"
    for i, code in enumerate(codes):
        where = f"{field}.{i}"
        if not isinstance(code, str) or not pattern.match(code):
            errors.append(
                field_error(
                    where,
                    Msg(
                        f"'{code}' bukan kode {label_id}; contoh: {example}.",
                        f"'{code}' is not a {label_en} code; e.g. {example}.",
                    ),
                )
            )
        elif not code.startswith(district_code + "."):
            errors.append(
                field_error(
                    where,
                    Msg(
                        f"Kode {code} berada di luar kabupaten/kota ini ({district_code}).",
                        f"Code {code} lies outside this district ({district_code}).",
                    ),
                )
            )
        elif region_codes.name_of(code) is None:
            errors.append(
                field_error(
                    where,
                    Msg(
                        f"Kode {code} tidak ada dalam referensi wilayah Kemendagri 2025.",
                        f"Code {code} is not in the Kemendagri 2025 region reference.",
                    ),
                )
            )
    if len(set(codes)) != len(codes):
        errors.append(
            field_error(
                field, Msg("Ada kode wilayah yang ganda.", "A region code is listed twice.")
            )
        )
    return errors


def describe_scope(scope_kind: str, codes: list[str] | tuple[str, ...]) -> list[str]:
    """Human names: 'Kecamatan Bujung Tanga (73.72.01)', 'Kelurahan Lumpue (73.72.02.1001)'."""
    if scope_kind == "district":
        return []
    out = []
    for code in codes:
        name = region_codes.name_of(code) or code
        if scope_kind == "kecamatan":
            out.append(f"Kecamatan {name} ({code})")
        else:
            kind = region_codes.village_kind(code).replace("_", " ").title()
            out.append(f"{kind} {name} ({code})")
    return out
