"""Demo users and a demo API client for a newcomer (`slrt up` on an empty database).

Passwords are generated once and kept in the data directory's secrets.json, so every `slrt up`
prints the same sign-in details again."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.accounts.actions import add_account
from slrt.auth.accounts.models import Account, PlatformRoleGrant
from slrt.auth.memberships.access import role_by_key
from slrt.auth.memberships.actions import create_invitation, grant_membership, invitation_link
from slrt.auth.memberships.models import Invitation
from slrt.auth.oauth.models import OAuthClient
from slrt.platform import db, region_codes
from slrt.platform.config import public_url
from slrt.platform.secrets_store import get_secret
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import tenant_by_code

DEMO_TENANTS = ("33.24", "73.72")
DEMO_CLIENT_ID = "slrt-demo-api"
DEMO_CLIENT_REDIRECT = "http://127.0.0.1:8765/callback"
KEMENSOS_EMAIL = "admin@kemensos.demo.slrt.id"


def _password(email: str) -> str:
    # 16 characters of the generated secret (96 random bits): easier to type on a phone.
    return get_secret("demo_password:" + email)[:16]


def demo_people() -> list[dict]:
    """Who the demo has: per district an admin, a supervisor of the first kecamatan and a
    facilitator of that kecamatan's first desa/kelurahan."""
    people = [
        {"email": KEMENSOS_EMAIL, "name": "Admin Kemensos (demo)", "platform": "kemensos_admin"},
        {
            "email": "pemantau.jateng@demo.slrt.id",
            "name": "Pemantau Provinsi Jawa Tengah (demo)",
            "platform": "provincial_viewer",
            "province": "33",
        },
    ]
    for code in DEMO_TENANTS:
        slug = region_codes.slugs()[code]
        kecamatan = region_codes.children_of(code)[0]
        village = region_codes.children_of(kecamatan.code)[0]
        people += [
            {
                "email": f"admin.{slug}@demo.slrt.id",
                "name": f"Admin {region_codes.short_name(region_codes.name_of(code))}",
                "tenant": code,
                "role": "district_admin",
                "kind": "district",
                "codes": [],
            },
            {
                "email": f"supervisor.{slug}@demo.slrt.id",
                "name": f"Supervisor {kecamatan.name}",
                "tenant": code,
                "role": "supervisor",
                "kind": "kecamatan",
                "codes": [kecamatan.code],
            },
            {
                "email": f"fasilitator.{slug}@demo.slrt.id",
                "name": f"Fasilitator {village.name}",
                "tenant": code,
                "role": "facilitator",
                "kind": "village",
                "codes": [village.code],
            },
        ]
    return people


def load_demo_accounts() -> list[str]:
    """DEMO_STEPS entry: create the demo accounts, memberships and API client."""
    for person in demo_people():
        account = db.session.execute(
            sa.select(Account).where(Account.email == person["email"])
        ).scalar_one_or_none()
        if account is None:
            account = add_account(
                name=person["name"],
                email=person["email"],
                password=_password(person["email"]),
                email_verified=True,
            )
        if person.get("platform"):
            db.session.add(
                PlatformRoleGrant(
                    account_id=account.id,
                    role=person["platform"],
                    province_code=person.get("province"),
                )
            )
            continue
        tenant = tenant_by_code(person["tenant"])
        with tenant_context(tenant.ref()):
            grant_membership(
                account.id, person["role"], scope_kind=person["kind"], scope_codes=person["codes"]
            )
    if (
        db.session.execute(
            sa.select(OAuthClient.id).where(OAuthClient.client_id == DEMO_CLIENT_ID)
        ).first()
        is None
    ):
        db.session.add(
            OAuthClient(
                client_id=DEMO_CLIENT_ID,
                name="Demo API client",
                kind="public",
                redirect_uris=[DEMO_CLIENT_REDIRECT],
                post_logout_redirect_uris=[],
                scope="openid profile email phone",
                permissions=[],
                status="active",
            )
        )
    for code in DEMO_TENANTS:
        _demo_invitation(code)
    db.session.flush()
    return sign_in_lines()


def _invitee(code: str) -> tuple[str, str]:
    slug = region_codes.slugs()[code]
    return f"camat.{slug}@demo.slrt.id", get_secret("demo_invitation:" + slug)


def _demo_invitation(code: str) -> None:
    """A pending invitation per district (a viewer for the first kecamatan: the Camat), so the
    invitation page can be tried; its token is kept in secrets.json to print the link again."""
    tenant = tenant_by_code(code)
    email, token = _invitee(code)
    with tenant_context(tenant.ref()):
        if db.session.execute(sa.select(Invitation.id).where(Invitation.email == email)).first():
            return
        create_invitation(
            role=role_by_key("viewer"),
            email=email,
            phone=None,
            name=f"Camat {region_codes.children_of(code)[0].name}",
            scope_kind="kecamatan",
            scope_codes=[region_codes.children_of(code)[0].code],
            agency_id=None,
            invited_by=None,
            token=token,
        )


def _pending_invitation_links() -> list[str]:
    lines = []
    for code in DEMO_TENANTS:
        tenant = tenant_by_code(code)
        email, token = _invitee(code)
        with tenant_context(tenant.ref()):
            row = db.session.execute(
                sa.select(Invitation).where(Invitation.email == email)
            ).scalar_one_or_none()
            if row is not None and row.status == "pending":
                lines.append(f"  {email}: {invitation_link(tenant.slug, token)}")
    return ["", "Pending invitations (open to try accepting one):", *lines] if lines else []


# What each demo role does, and the page it starts from (printed by `slrt up`).
ROLE_WORDS = {
    "kemensos_admin": "Kemensos admin: all districts' figures, lokus, plans, catalog",
    "provincial_viewer": "provincial viewer: the province's districts' figures",
    "district_admin": "district admin (Dinas Sosial): villages, Puskesos, programs, people",
    "supervisor": "supervisor: the kecamatan's cases and overdue referrals",
    "facilitator": "facilitator: follow-ups in the village",
}
START_PAGES = {"district_admin": "settings", "facilitator": "follow-up"}


def sign_in_lines() -> list[str]:
    """The sign-in details of the demo (DEMO_REMINDERS entry: printed by every `slrt up`)."""
    exists = {
        e
        for e in db.session.execute(
            sa.select(Account.email).where(Account.email.like("%demo.slrt.id"))
        ).scalars()
    }
    if not exists:
        return []
    base = public_url()
    lines = ["", f"Sign in at {base}/auth/login  (Masuk):"]
    for person in demo_people():
        if person["email"] not in exists:
            continue
        if person.get("province"):
            where = f"{base}/kemensos/ · {region_codes.name_of(person['province'])} only"
        elif person.get("platform"):
            where = f"{base}/kemensos/ · all districts"
        else:
            slug = region_codes.slugs()[person["tenant"]]
            where = f"{base}/t/{slug}/{START_PAGES.get(person['role'], '')}"
        scope = ", ".join(f"{region_codes.name_of(c)} ({c})" for c in person.get("codes", []))
        role = ROLE_WORDS.get(person.get("platform") or person["role"], person.get("role"))
        lines.append(f"  {person['email']:<38} {_password(person['email'])}")
        lines.append(f"      {role}{' · ' + scope if scope else ''} · {where}")
    lines += _pending_invitation_links()
    lines += [
        "",
        f"API client (public, PKCE S256): client_id={DEMO_CLIENT_ID}  redirect_uri={DEMO_CLIENT_REDIRECT}",
        '  1. verifier/challenge: python3 -c "import secrets,hashlib,base64;v=secrets.token_urlsafe(48);'
        "print(v);print(base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b'=').decode())\"",
        f"  2. open {base}/oauth/authorize?response_type=code&client_id={DEMO_CLIENT_ID}"
        f"&redirect_uri={DEMO_CLIENT_REDIRECT}&scope=openid%20profile&state=<NEW>&nonce=<NEW>"
        "&code_challenge=<CHALLENGE>&code_challenge_method=S256",
        "     (<NEW>: any fresh value each time) sign in, allow, then copy `code` from the address",
        "     bar of the redirect (nothing listens on port 8765; the address is what matters)",
        f"  3. curl -s {base}/oauth/token -d grant_type=authorization_code -d client_id={DEMO_CLIENT_ID}"
        f" -d redirect_uri={DEMO_CLIENT_REDIRECT} -d code=<CODE> -d code_verifier=<VERIFIER>",
        f"  4. curl -s -H 'Authorization: Bearer <ACCESS_TOKEN>' {base}/api/v1/t/kendal/memberships",
    ]
    return lines
