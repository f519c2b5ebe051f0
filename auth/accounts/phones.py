"""Phone numbers as sign-in names: one stored form per number, whatever way it was typed.

Facilitators often have no email; they sign in with the mobile number their district admin
invited. People write the same Indonesian number as "0812-3456-7890", "+62 812 3456 7890" or
"62812 34567890"; all of them are stored and compared as "+6281234567890" (E.164), so the
sign-in form, the throttle and the unique index agree on who is meant.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/]")
_DIGITS = re.compile(r"^\+?[0-9]+$")


def normalise_phone(text: str | None) -> str | None:
    """The E.164 form of a phone number ("+6281234567890"), or None when `text` is not one.

    A leading 0 is the Indonesian trunk prefix (0812... is +62812...); a number starting with
    62 and long enough is taken as already carrying the country code."""
    if not text:
        return None
    raw = _SEPARATORS.sub("", text.strip())
    if not _DIGITS.match(raw):
        return None
    if raw.startswith("+"):
        digits = raw[1:]
    elif raw.startswith("00"):
        digits = raw[2:]
    elif raw.startswith("0"):
        digits = "62" + raw[1:]
    elif raw.startswith("62") and len(raw) >= 10:
        digits = raw
    elif raw.startswith("8"):
        digits = "62" + raw
    else:
        return None
    if digits.startswith("620"):  # "+62 0812...": the trunk 0 typed after the country code
        digits = "62" + digits[3:]
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    if digits.startswith("62") and not 9 <= len(digits) <= 15:
        return None
    return "+" + digits


def is_email(identifier: str) -> bool:
    return "@" in identifier


def normalise_identifier(identifier: str | None) -> str:
    """What someone typed into "Email atau nomor HP", in the form accounts are stored under: a
    lower-cased email, a phone number in E.164, or the trimmed text when it is neither."""
    text = (identifier or "").strip()
    if is_email(text):
        return text.lower()
    return normalise_phone(text) or text
