"""Public pages of a district, no sign-in (mobile-first):

- /t/<slug>/surat/<token>: the page a letter's QR code opens (genuine or not, and its status);
- /t/<slug>/cek-tiket: a resident checks a ticket with the last four NIK digits.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import access_tenant_by_slug
from slrt.platform.throttle import check

bp = Blueprint("public_pages", __name__, template_folder="../templates")


@bp.get("/t/<slug>/surat/<token>")
def verify_page(slug: str, token: str):
    from slrt.tenants.flow.public_api import verify_letter

    tenant = access_tenant_by_slug(slug)
    check(f"verify:ip:{request.remote_addr}", 60, 600)
    with tenant_context(tenant.ref()):
        result = verify_letter(token)
    status = 200 if result is not None else 404
    return render_template(
        "flow/letter_verification.html",
        result=result,
        tenant_name=tenant.name,
        token=token,
        slug=slug,
    ), status


@bp.route("/t/<slug>/cek-tiket", methods=["GET", "POST"])
def ticket_page(slug: str):
    from slrt.tenants.flow.public_api import ticket_status

    tenant = access_tenant_by_slug(slug)
    result, error, status = None, None, 200
    ticket = request.form.get("ticket_number", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            with tenant_context(tenant.ref()):
                result = ticket_status(ticket, request.form.get("nik_last4", ""))
        except Problem as exc:
            status = exc.code or 400
            error = exc.detail
    return render_template(
        "flow/ticket_status.html",
        tenant_name=tenant.name,
        result=result,
        error=error,
        ticket=ticket,
    ), status
