"""Password hashing (argon2id) and the password rules for field staff.

The rules favour passphrases a facilitator can type on a phone: a minimum length and no
composition rules, refusing only what is trivially guessable (the email, the name, one repeated
character, a handful of notorious passwords). Every message is Indonesian first, English beside.
"""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from slrt.platform.errors import Msg, field_error

MIN_LENGTH = 10
MAX_LENGTH = 128

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()

_NOTORIOUS = {
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "password123",
    "passwordpassword",
    "bismillah123",
    "indonesia123",
    "katasandi123",
    "rahasia1234",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Same work as a real check, so timing does not tell which emails have accounts.
        _burn(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


_DUMMY_HASH = _hasher.hash("slrt-dummy-password")


def _burn(password: str) -> None:
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def password_problems(password: str, *, email: str | None, name: str | None) -> list[Msg]:
    """What is wrong with a new password, as messages for the person choosing it."""
    problems: list[Msg] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            Msg(
                f"Kata sandi minimal {MIN_LENGTH} karakter. Boleh berupa kalimat, mis. "
                "'kopi pagi di balai desa'.",
                f"The password needs at least {MIN_LENGTH} characters. A phrase works, e.g. "
                "'morning coffee at the village hall'.",
            )
        )
        return problems
    if len(password) > MAX_LENGTH:
        problems.append(
            Msg(
                f"Kata sandi paling banyak {MAX_LENGTH} karakter.",
                f"The password may have at most {MAX_LENGTH} characters.",
            )
        )
    lowered = password.strip().lower()
    if email and lowered in {email.lower(), email.lower().split("@")[0]}:
        problems.append(
            Msg(
                "Kata sandi tidak boleh sama dengan alamat email.",
                "The password must not be the email address.",
            )
        )
    if name and lowered.replace(" ", "") == name.strip().lower().replace(" ", ""):
        problems.append(
            Msg("Kata sandi tidak boleh sama dengan nama.", "The password must not be the name.")
        )
    if len(set(password)) == 1 or lowered in _NOTORIOUS:
        problems.append(
            Msg(
                "Kata sandi ini terlalu mudah ditebak; pilih yang lain.",
                "This password is too easy to guess; choose another.",
            )
        )
    return problems


def new_password_errors(
    password: str, confirmation: str, *, email: str | None, name: str | None
) -> list[dict[str, str]]:
    """Field errors of a form that sets a new password (`password`, typed again as `password2`)."""
    errors = [
        field_error("password", p) for p in password_problems(password, email=email, name=name)
    ]
    if password != confirmation:
        errors.append(
            field_error(
                "password2", Msg("Kedua kata sandi tidak sama.", "The two passwords differ.")
            )
        )
    return errors
