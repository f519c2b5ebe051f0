"""Accounts, managed by Kemensos admins: /api/v1/accounts (find, disable, re-enable).

Disabling takes effect on the account's next request (the policy checks the account on every
request), revokes its refresh tokens, so no client can mint new access tokens for it, and ends
its web sessions in every browser."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.accounts.access import access_account_by_id
from slrt.auth.accounts.actions import set_account_status
from slrt.auth.accounts.models import Account
from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform.api import PlatformBlueprint, Schema, check_if_match, nullable_as, page_of

blp = PlatformBlueprint(
    "accounts",
    __name__,
    "/accounts",
    description="Accounts (global)",
    lookups={"account_id": access_account_by_id},
)


@nullable_as(Account)
class AccountSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    email_verified = fields.Boolean(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    totp_enabled = fields.Boolean(dump_only=True)
    last_login_at = fields.DateTime(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True)


class AccountQuerySchema(Schema):
    email = fields.String(metadata={"description": "exact email (case-insensitive)"})
    status = fields.String(validate=validate.OneOf(["active", "disabled"]))


class AccountUpdateSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["active", "disabled"]))


def _dump(account: Account) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "email_verified": account.email_verified,
        "phone": account.phone,
        "status": account.status,
        "totp_enabled": bool(account.totp_secret),
        "last_login_at": account.last_login_at,
        "updated_at": account.updated_at,
    }


@blp.route("")
@blp.arguments(AccountQuerySchema, location="query")
@blp.response(200, AccountSchema(many=True))
@blp.paginate()
@require(PP.ACCOUNTS_MANAGE)
def list_accounts(query: dict, pagination_parameters) -> list[dict]:
    """Accounts by name; filter by exact email or status."""
    stmt = sa.select(Account)
    if query.get("email"):
        stmt = stmt.where(Account.email == query["email"].strip().lower())
    if query.get("status"):
        stmt = stmt.where(Account.status == query["status"])
    return [_dump(a) for a in page_of(stmt, pagination_parameters, Account.name, Account.id)]


@blp.route("/<uuid:account_id>")
@blp.etag
@blp.response(200, AccountSchema)
@require(PP.ACCOUNTS_MANAGE)
def get_account(account_id: uuid.UUID) -> dict:
    """One account."""
    return _dump(access_account_by_id(account_id))


@blp.route("/<uuid:account_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(AccountUpdateSchema)
@blp.response(200, AccountSchema)
@require(PP.ACCOUNTS_MANAGE)
def update_account(data: dict, account_id: uuid.UUID) -> dict:
    """Disable or re-enable an account (If-Match required)."""
    account = access_account_by_id(account_id)
    check_if_match(blp, account, AccountSchema, view=_dump)
    return _dump(set_account_status(current_principal(), account, data["status"]))
