"""The key that encrypts a facilitator's drafts on one device: derived on the server from a
secret that never leaves it, the district, the account and the device's own id, so it is the
same every time that device signs in again (its drafts open again) and useless on any other
device or for any other account. It is handed out only to a live session, never cached."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from functools import cache

from slrt.platform.secrets_store import get_secret
from slrt.platform.tenancy import current_tenant


@cache
def _secret() -> bytes:
    return get_secret("field_device_key").encode()


def device_key(account_id: uuid.UUID, device_id: str) -> str:
    """32 bytes for AES-GCM, base64url without padding."""
    message = f"{current_tenant().id}:{account_id}:{device_id}".encode()
    digest = hmac.new(_secret(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
