"""The field app's demo: in each demo district, the demo facilitator's phone has started sending
a photo and lost the signal half-way (an upload waiting to be resumed)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.platform import db, region_codes
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import tenant_by_code
from slrt.tenants.field import actions
from slrt.tenants.flow.demo import _as

# A 1x1 PNG followed by padding: a photo's first bytes, enough to show a resumable upload.
PHOTO = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\x00\x00\x00\x00IEND\xaeB`\x82" + b"\x00" * 4096
)


def load_field_demo() -> list[str]:
    """DEMO_STEPS entry: a half-sent photo of each demo facilitator."""
    from slrt.platform.commands.demo import DEMO_TENANTS

    for code in DEMO_TENANTS:
        email = f"fasilitator.{region_codes.slugs()[code]}@demo.slrt.id"
        account = db.session.execute(
            sa.select(Account).where(Account.email == email)
        ).scalar_one_or_none()
        if account is None:
            continue
        with tenant_context(tenant_by_code(code).ref()), _as(account):
            upload = actions.start_upload(
                "demo-photo-0001", len(PHOTO), hashlib.sha256(PHOTO).hexdigest()
            )
            actions.add_piece(upload, 0, PHOTO[: len(PHOTO) // 2])
    return []
