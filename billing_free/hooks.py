"""Request hooks for district API routes (/api/v1/t/<tenant>/...): the per-minute API quota
(429 with Retry-After) and metering before the view, the soft-limit warning header after it.

Registered as a plain blueprint in platform/blueprints.py WEB_BLUEPRINTS; its app-wide hooks
run after the tenant blueprint's URL preprocessor has entered the tenant (flask.g.tenant).
Only requests by someone who belongs to the district count: a stranger hammering a district's
URLs gets 401/404 from the view and cannot use up the district's allowance.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request

from slrt.auth.policy import authenticate, is_member_of_current_tenant
from slrt.billing_free import quotas
from slrt.platform.api import API_PREFIX
from slrt.platform.errors import Problem

log = logging.getLogger(__name__)
bp = Blueprint("billing_free_hooks", __name__)

WARNING_HEADER = "SLRT-Quota-Warning"


def _district_api_request() -> bool:
    return request.path.startswith(f"{API_PREFIX}/t/") and g.get("tenant") is not None


@bp.before_app_request
def enforce_api_rate() -> None:
    if not _district_api_request():
        return
    try:
        principal = authenticate()
    except Problem:
        return  # the view answers 401 itself
    if not is_member_of_current_tenant(principal):
        return  # the view answers 404 itself
    g.quota_tenant_id = g.tenant.id
    quotas.check_api_rate(g.tenant.id)


@bp.after_app_request
def add_warning_header(response: Response) -> Response:
    tenant_id = g.get("quota_tenant_id")
    if tenant_id is None or response.status_code >= 500:
        return response
    try:
        header = quotas.warning_header(tenant_id)
    except Exception:  # a warning header is never worth failing the answer for
        log.exception("quota warning header not computed")
        return response
    if header:
        response.headers[WARNING_HEADER] = header
    return response
