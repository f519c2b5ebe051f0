"""Access to OAuth clients and consents: a registered client by id for the Kemensos admin API
(the built-in web client answers 404 like a missing one), the district a machine client is bound
to, and whether an account has already allowed a client the scopes it asks for."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.auth.oauth.models import Consent, OAuthClient
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, field_problem
from slrt.platform.tenant import Tenant

CLIENT_NOT_FOUND = Msg("Klien tidak ditemukan.", "Client not found.")


@reuse_in_request
def access_client_by_id(client_id: uuid.UUID) -> OAuthClient:
    stmt = sa.select(OAuthClient).where(
        OAuthClient.id == client_id, OAuthClient.first_party.is_(False)
    )
    return one_or_404(stmt, CLIENT_NOT_FOUND)


def resolve_tenant_slug(slug: str, *, field: str = "tenant") -> Tenant:
    """For request bodies and options: the district with this slug, or 422 naming the field."""
    tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        raise field_problem(
            422,
            field,
            Msg(f"Kabupaten/kota '{slug}' tidak ada.", f"There is no district '{slug}'."),
        )
    return tenant


def has_consent(account: Account, client: OAuthClient, scope: str) -> bool:
    """Has the account already allowed this client every scope it asks for now?"""
    row = db.session.get(Consent, (account.id, client.client_id))
    return row is not None and set(scope.split()) <= set(row.scope.split())
