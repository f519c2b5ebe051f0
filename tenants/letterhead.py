"""The district letterhead, kept in Tenant.settings["letterhead"] and validated here.

Fields (all text): government ("PEMERINTAH KOTA PAREPARE"), office ("DINAS SOSIAL"), address,
phone, email, city (place on the letter date), letter_code (the archive classification that
opens the letter number, e.g. "400.9") and unit_code ("SLRT"). Missing fields fall back to
defaults derived from the district's name, so a new district can print letters at once.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields, validate

from slrt.platform.api import Schema
from slrt.platform.regions import short_name
from slrt.platform.tenant import Tenant

CODE_RE = re.compile(r"^[0-9A-Za-z.\-]{1,20}$")


class LetterheadSchema(Schema):
    government = fields.String(validate=validate.Length(1, 120))
    office = fields.String(validate=validate.Length(1, 120))
    address = fields.String(validate=validate.Length(0, 250))
    phone = fields.String(validate=validate.Length(0, 40))
    email = fields.Email()
    city = fields.String(validate=validate.Length(1, 80))
    letter_code = fields.String(
        validate=validate.Regexp(CODE_RE, error="String does not match expected pattern.")
    )
    unit_code = fields.String(
        validate=validate.Regexp(CODE_RE, error="String does not match expected pattern.")
    )


def defaults(tenant: Tenant) -> dict[str, str]:
    return {
        "government": f"PEMERINTAH {tenant.name.upper()}",
        "office": "DINAS SOSIAL",
        "address": "",
        "phone": "",
        "email": "",
        "city": short_name(tenant.name),
        "letter_code": "400.9",
        "unit_code": "SLRT",
    }


def letterhead(tenant: Tenant) -> dict[str, Any]:
    """The effective letterhead: stored fields over the defaults."""
    stored = (tenant.settings or {}).get("letterhead") or {}
    return {**defaults(tenant), **{k: v for k, v in stored.items() if v is not None}}
