"""Public pages of a district, no sign-in (mobile-first):

- /t/<slug>/surat/<token>: the page a letter's QR code opens (genuine or not, and its status);
- /t/<slug>/cek-tiket: a resident checks a ticket with the last four NIK digits;
- /t/<slug>/cek-tiket/<token>: the receipt's secret status link (and its QR code) opens the
  status without the digits; it is also the receipt the public form shows;
- /t/<slug>/pengaduan: the public form for a complaint, a request, a question or a suggestion;
  it registers a case with a ticket (channel "public form") and shows its receipt.

Abuse of the form is held back without a third-party captcha: a field hidden by the stylesheet
that people leave empty and form-filling robots do not (the honeypot), and a number of messages
per address (SLRT_TRUSTED_PROXIES makes that the client's own address behind a proxy). Every page
speaks one language, switched with the link in the header like every other page.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request
from marshmallow import validate

from slrt.platform import db
from slrt.platform.api import Text
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import text_of
from slrt.platform.region_codes import VILLAGE_CODE
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, access_tenant_by_slug
from slrt.platform.throttle import check
from slrt.platform.web import Form, form_values, notice, parse_form, problem_form
from slrt.tenants.flow.api import CaseCreateSchema
from slrt.tenants.flow.models import CaseKind
from slrt.tenants.registry.api import PersonSchema

log = logging.getLogger(__name__)

bp = Blueprint("public_pages", __name__, template_folder="../templates")

# Messages from one address: enough for a family or a Puskesos helping several residents over
# one connection (mobile carriers put many phones behind one address), too few to flood a desk.
FORM_LIMIT = (10, 3600)
# Opening status links: a resident's checks are few; this only stops scanning for tokens.
STATUS_LINK_LIMIT = (60, 600)
HONEYPOT = "website"  # a name form-filling robots like to fill

KINDS: list[tuple[str, Msg]] = [
    (CaseKind.complaint, Msg("Pengaduan", "Complaint")),
    (CaseKind.service_request, Msg("Permintaan layanan", "Service request")),
    (CaseKind.question, Msg("Pertanyaan", "Question")),
    (CaseKind.suggestion, Msg("Saran", "Suggestion")),
]


class PublicCaseSchema(CaseCreateSchema):
    """The public form: what the case needs (from the desk's own schema) and as little about the
    writer as will let staff answer: a name, and a phone number and a NIK only if they wish."""

    class Meta:
        exclude = ("channel", "person_id", "household_id", "needs")

    village_code = Text(required=True, validate=VILLAGE_CODE)
    description = Text(required=True, validate=validate.Length(10, 3000))
    name = Text(required=True, validate=validate.Length(1, 200))
    phone = PersonSchema._declared_fields["phone"]
    nik = Text(validate=validate.Length(1, 32))


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
        tenant_slug=tenant.slug,
        result=result,
        error=error,
        ticket=ticket,
        limited=status == 429,
    ), status


@bp.get("/t/<slug>/cek-tiket/<token>")
def status_by_token(slug: str, token: str):
    """The receipt's link: the status for whoever holds the token, no digits asked and no limit
    per ticket (it cannot be guessed); an unknown token answers 404 like a missing page."""
    from slrt.tenants.flow.access import case_by_status_token
    from slrt.tenants.flow.public_api import has_nik_check, status_of
    from slrt.tenants.flow.receipts import qr_svg, status_check_url

    tenant = access_tenant_by_slug(slug)
    check(f"status-link:ip:{request.remote_addr}", *STATUS_LINK_LIMIT)
    with tenant_context(tenant.ref()):
        case = case_by_status_token(token)
        if case is None:
            return render_template("flow/public_status.html", tenant=tenant, result=None), 404
        url = status_check_url(tenant, token)
        html = render_template(
            "flow/public_status.html",
            tenant=tenant,
            result=status_of(case),
            registered_at=case.created_at,
            kind=dict(KINDS).get(case.kind),
            by_nik=has_nik_check(case),
            link=url,
            qr=qr_svg(url, text_of(Msg("Kode QR status tiket", "Ticket status QR code"))),
        )
    # The URL is the key: kept out of shared caches and out of the Referer of any link followed.
    return html, 200, {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/t/<slug>/pengaduan", methods=["GET", "POST"])
def complaint_page(slug: str):
    """The public form: one message, one ticket, its receipt (post/redirect/get to the status
    link, which the receipt is)."""
    from slrt.tenants.flow.actions import register_public_case

    tenant = access_tenant_by_slug(slug)
    with tenant_context(tenant.ref()):
        form: Form | None = None
        status = 200
        if request.method == "POST":
            if request.form.get(HONEYPOT, "").strip():
                return _robot(tenant)
            data, form = parse_form(PublicCaseSchema(), _posted())
            status = 422
            if data is not None:
                try:
                    check(f"public-form:ip:{request.remote_addr}", *FORM_LIMIT)
                    case = register_public_case(data)
                except Problem as exc:
                    form = problem_form(exc, form.values)
                    status = exc.code or 422
                else:
                    notice(
                        Msg(
                            f"Pesan Anda terkirim dengan nomor tiket {case.ticket_number}. "
                            "Simpan halaman ini: tautannya membuka status kapan saja.",
                            f"Your message was sent with ticket number {case.ticket_number}. "
                            "Keep this page: its link opens the status at any time.",
                        )
                    )
                    return redirect(f"/t/{tenant.slug}/cek-tiket/{case.status_token}", 303)
        return render_template(
            "flow/public_form.html",
            tenant=tenant,
            form=form,
            kinds=KINDS,
            kecamatan=_villages_by_kecamatan(),
            held=status == 429,
        ), status


def _posted() -> dict[str, Any]:
    values = form_values()
    values.pop(HONEYPOT, None)
    return values


def _robot(tenant: Tenant):
    """A filled honeypot: nothing is registered, and the page says so plainly (a person who
    somehow filled the hidden field is told how else to reach the desk)."""
    log.info("public form: honeypot filled from %s, nothing registered", request.remote_addr)
    check(f"public-form:ip:{request.remote_addr}", *FORM_LIMIT)
    return render_template("flow/public_refused.html", tenant=tenant), 400


def _villages_by_kecamatan() -> list[tuple[str, list[tuple[str, str]]]]:
    """The district's active villages grouped by kecamatan, for the form's village list."""
    from slrt.tenants.regions.models import Kecamatan, Village

    rows = db.session.execute(
        sa.select(Kecamatan.name, Village.code, Village.name)
        .join(
            Kecamatan,
            sa.and_(Kecamatan.tenant_id == Village.tenant_id, Kecamatan.id == Village.kecamatan_id),
        )
        .where(Village.active.is_(True))
        .order_by(Kecamatan.name, Village.name)
    ).all()
    groups: dict[str, list[tuple[str, str]]] = {}
    for kecamatan, code, name in rows:
        groups.setdefault(kecamatan, []).append((code, name))
    return list(groups.items())
