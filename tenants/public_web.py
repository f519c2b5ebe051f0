"""The page a letter's QR code opens: /t/<slug>/surat/<token> (HTML, no sign-in)."""

from __future__ import annotations

from flask import Blueprint, render_template

from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import access_tenant_by_slug
from slrt.platform.throttle import check

bp = Blueprint("letter_verification", __name__, template_folder="templates")


@bp.get("/t/<slug>/surat/<token>")
def verify_page(slug: str, token: str):
    from flask import request

    from slrt.tenants.public_api import verify_letter

    tenant = access_tenant_by_slug(slug)
    check(f"verify:ip:{request.remote_addr}", 60, 600)
    with tenant_context(tenant.ref()):
        result = verify_letter(token)
    status = 200 if result is not None else 404
    return render_template(
        "letter_verification.html", result=result, tenant_name=tenant.name, token=token, slug=slug
    ), status
