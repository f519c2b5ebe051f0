"""OAuth clients, managed by Kemensos admins: /api/v1/oauth-clients (list, register, read,
change or disable)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.oauth import actions
from slrt.auth.oauth.access import access_client_by_id
from slrt.auth.oauth.models import OAuthClient
from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema, check_if_match, nullable_as, page_of
from slrt.platform.tenant import Tenant

blp = PlatformBlueprint(
    "oauth_clients",
    __name__,
    "/oauth-clients",
    description="OAuth clients of the SLRT provider",
    lookups={"id": access_client_by_id},
)


@nullable_as(OAuthClient)
class ClientSchema(Schema):
    id = fields.UUID(dump_only=True)
    client_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=3, max=80)
    )
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(
        required=True, validate=validate.OneOf(["public", "confidential", "machine"])
    )
    redirect_uris = fields.List(fields.String(), load_default=list)
    post_logout_redirect_uris = fields.List(fields.String(), load_default=list)
    tenant = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "slug of the district a machine client is bound to"},
    )
    permissions = fields.List(fields.String(), load_default=list)
    status = fields.String(dump_only=True)
    client_secret = fields.String(
        dump_only=True, metadata={"description": "Shown once, at creation."}
    )
    updated_at = fields.DateTime(dump_only=True)


class ClientUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    redirect_uris = fields.List(fields.String())
    post_logout_redirect_uris = fields.List(fields.String())
    status = fields.String(validate=validate.OneOf(["active", "disabled"]))


def _dump(client: OAuthClient, secret: str | None = None) -> dict:
    slug = None
    if client.bound_tenant_id:
        slug = db.session.get(Tenant, client.bound_tenant_id).slug
    return {
        "id": client.id,
        "client_id": client.client_id,
        "name": client.name,
        "kind": client.kind,
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "tenant": slug,
        "permissions": list(client.permissions or []),
        "status": client.status,
        "client_secret": secret,
        "updated_at": client.updated_at,
    }


@blp.route("")
@blp.response(200, ClientSchema(many=True))
@blp.paginate()
@require(PP.CLIENTS_MANAGE)
def list_clients(pagination_parameters) -> list[dict]:
    """Registered clients (the built-in web client is not listed)."""
    stmt = sa.select(OAuthClient).where(OAuthClient.first_party.is_(False))
    rows = page_of(stmt, pagination_parameters, OAuthClient.created_at, OAuthClient.id)
    return [_dump(c) for c in rows]


@blp.route("", methods=["POST"])
@blp.arguments(ClientSchema)
@blp.response(201, ClientSchema)
@require(PP.CLIENTS_MANAGE)
def register_client(data: dict) -> dict:
    """Register a client: public (PKCE, no secret), confidential (secret), or machine
    (client_credentials, bound to one district with a permission set). The secret is shown once."""
    client, secret = actions.register_client(
        name=data["name"],
        kind=data["kind"],
        redirect_uris=data["redirect_uris"],
        post_logout_redirect_uris=data["post_logout_redirect_uris"],
        tenant_slug=data.get("tenant"),
        permissions=data["permissions"],
        client_id=data.get("client_id"),
    )
    return _dump(client, secret)


@blp.route("/<uuid:id>")
@blp.etag
@blp.response(200, ClientSchema)
@require(PP.CLIENTS_MANAGE)
def get_client(id: uuid.UUID) -> dict:
    """One client."""
    return _dump(access_client_by_id(id))


@blp.route("/<uuid:id>", methods=["PATCH"])
@blp.etag
@blp.arguments(ClientUpdateSchema)
@blp.response(200, ClientSchema)
@require(PP.CLIENTS_MANAGE)
def update_client(data: dict, id: uuid.UUID) -> dict:
    """Rename, change redirect URIs, or disable a client (If-Match required). A disabled machine
    client's tokens stop working on the next request."""
    client = access_client_by_id(id)
    check_if_match(blp, client, ClientSchema, view=_dump)
    return _dump(actions.update_client(client, data))
