"""The public page an outcome letter's QR code opens (/t/<slug>/surat-dtsen/<token>): whether
the letter is genuine, its number, date and outcome; no personal data. Rate-limited per address,
like the referral letters' page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from slrt.platform import db
from slrt.platform.i18n import local_date
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import access_tenant_by_slug
from slrt.platform.throttle import check
from slrt.tenants.dtsen.models import Submission
from slrt.tenants.flow.workflow import label

bp = Blueprint("dtsen_public", __name__, template_folder="../templates")

KINDS = {"usul": ("Usul", "Proposal"), "sanggah": ("Sanggah", "Objection")}


@bp.get("/t/<slug>/surat-dtsen/<token>")
def verify_page(slug: str, token: str):
    tenant = access_tenant_by_slug(slug)
    check(f"verify:ip:{request.remote_addr}", 60, 600)
    result = None
    with tenant_context(tenant.ref()):
        submission = db.session.execute(
            sa.select(Submission).where(Submission.token == token)
        ).scalar_one_or_none()
        if submission is not None and submission.letter_issued_at is not None:
            result = {
                "number": submission.letter_number,
                "issued_on": local_date(submission.letter_issued_at),
                "kind": KINDS[submission.kind],
                "status": label("submission", submission.status),
            }
        db.session.remove()
    return render_template(
        "dtsen/letter_verification.html", result=result, tenant_name=tenant.name
    ), (200 if result else 404)
