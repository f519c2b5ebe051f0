"""A district's own presentation settings, kept in `tenants.settings` (JSON): the letterhead that
referral letters print. `letterhead(tenant)` always answers with every key, filling sensible
defaults, so letter code never has to guess."""

from __future__ import annotations

from typing import Any

from slrt.platform.tenant import Tenant

LETTERHEAD_KEYS = (
    "government_name",  # PEMERINTAH KOTA PAREPARE
    "office_name",  # DINAS SOSIAL
    "address",
    "phone",
    "email",
    "website",
    "city",  # place printed before the date: "Parepare, 3 Maret 2026"
    "head_name",  # who signs by default (the manager signs referral letters)
    "head_title",
    "head_nip",
    "letter_code",  # archive classification opening a referral letter's number: "400.9"
    "letter_unit",  # unit code inside the number: 400.9/0001/SLRT/2026
)


def defaults(tenant: Tenant) -> dict[str, Any]:
    short = tenant.name.replace("Kabupaten ", "").replace("Kota ", "")
    return {
        "government_name": f"PEMERINTAH {tenant.name.upper()}",
        "office_name": "DINAS SOSIAL",
        "address": None,
        "phone": None,
        "email": None,
        "website": None,
        "city": short,
        "head_name": None,
        "head_title": "Kepala Dinas Sosial",
        "head_nip": None,
        "letter_code": "400.9",
        "letter_unit": "SLRT",
    }


def letterhead(tenant: Tenant) -> dict[str, Any]:
    stored = (tenant.settings or {}).get("letterhead") or {}
    merged = defaults(tenant)
    merged.update({k: v for k, v in stored.items() if k in LETTERHEAD_KEYS and v is not None})
    return merged


def letter_number(head: dict[str, Any], serial: int, year: int) -> str:
    """A referral letter's number from the letterhead's codes: 400.9/0001/SLRT/2026."""
    return f"{head['letter_code']}/{serial:04d}/{head['letter_unit']}/{year}"
