"""Ticket receipts: the secret link that opens a case's public status, and its QR code.

A resident who loses the paper, or whose neighbour guesses at the ticket check, must still reach
their own status: the receipt carries a random token (`/t/<slug>/cek-tiket/<token>`) that opens
the status without the last NIK digits and without any guessing limit, because it cannot be
guessed. Only a hash of the token is stored (a database reader cannot rebuild the link); the
token itself is shown once, on the receipt printed at registration, and a new receipt replaces it.
"""

from __future__ import annotations

import hashlib
import secrets

import segno

from slrt.platform.config import public_url
from slrt.platform.tenant import Tenant

TOKEN_BYTES = 32  # 43 URL-safe characters


def new_status_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_status_token(token: str) -> str:
    """What is stored for a token: its SHA-256 (the token is random, so no key or salt is
    needed to keep it unguessable)."""
    return hashlib.sha256(token.encode()).hexdigest()


def status_check_url(tenant: Tenant, token: str) -> str:
    """The public page the receipt's link and QR code open."""
    return f"{public_url()}/t/{tenant.slug}/cek-tiket/{token}"


def ticket_check_url(tenant: Tenant) -> str:
    """The public page where a ticket is checked with the last four NIK digits instead."""
    return f"{public_url()}/t/{tenant.slug}/cek-tiket"


def qr_svg(url: str, title: str) -> str:
    """The QR code of `url` as inline SVG markup (drawn on the server, no script), sharp on
    screen and on paper."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, title=title)
