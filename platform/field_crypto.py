"""Encryption of sensitive columns at rest with `cryptography`'s Fernet (AES-128-CBC with an
HMAC-SHA256 tag, random IV per value).

SLRT_FIELD_KEY holds one or more comma-separated Fernet keys (MultiFernet): the first encrypts,
every one decrypts. To rotate, put a new key first and keep the old one after it, run
`slrt keys rewrap-fields` (re-encrypts the stored values under the first key), then drop the old
key. Unset, a key is generated once into SLRT_DATA_DIR/secrets.json, like SLRT_SECRET_KEY.
A database dump without the key holds no usable secret.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from slrt.platform.config import setting
from slrt.platform.secrets_store import get_secret


class FieldKeyError(RuntimeError):
    """SLRT_FIELD_KEY is malformed, or none of its keys opens a stored value."""


def field_keys() -> str:
    return setting("SLRT_FIELD_KEY") or get_secret(
        "field_key", generate=lambda: Fernet.generate_key().decode()
    )


@functools.lru_cache(maxsize=4)
def _cipher(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k) for k in parts])
    except ValueError as exc:  # wrong length or alphabet; an empty list too
        raise FieldKeyError(
            "SLRT_FIELD_KEY must be one or more comma-separated Fernet keys (32 url-safe "
            'base64-encoded bytes each); make one with `python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"`'
        ) from exc


def field_cipher() -> MultiFernet:
    """The cipher of the configured keys (read on each call, so a changed setting applies)."""
    return _cipher(field_keys())


def encrypt_field(value: str) -> str:
    return field_cipher().encrypt(value.encode()).decode()


def decrypt_field(token: str) -> str:
    try:
        return field_cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise FieldKeyError(
            "no key in SLRT_FIELD_KEY opens a stored encrypted value; was the key that "
            "encrypted it removed before `slrt keys rewrap-fields` ran?"
        ) from exc


def rewrap_field(token: str) -> str:
    """The same value encrypted under the first key (MultiFernet.rotate)."""
    try:
        return field_cipher().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise FieldKeyError("no key in SLRT_FIELD_KEY opens a stored encrypted value") from exc


class EncryptedText(sa.TypeDecorator):
    """A text column stored encrypted; Python code sees the plain value."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else encrypt_field(str(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else decrypt_field(value)
