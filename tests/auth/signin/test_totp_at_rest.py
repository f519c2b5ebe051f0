"""TOTP secrets are encrypted at rest under SLRT_FIELD_KEY (Fernet/MultiFernet): the stored
column is not the secret, sign-in with the code still works, keys rotate, and the 0008
migration encrypts secrets stored in plaintext before it."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from slrt.auth.accounts.models import Account
from slrt.platform import db
from tests.auth.signin.test_web_signin import PASSWORD, csrf, sign_in
from tests.fixtures import member, set_password


def stored(owner_engine, account_id) -> str:
    with owner_engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT totp_secret FROM accounts WHERE id = :id"), {"id": account_id}
        ).scalar_one()


def read_secret(app, account_id) -> str | None:
    with app.app_context():
        try:
            return db.session.get(Account, account_id).totp_secret
        finally:
            db.session.remove()


def set_secret(app, account_id, secret: str) -> None:
    with app.app_context():
        db.session.get(Account, account_id).totp_secret = secret
        db.session.commit()
        db.session.remove()


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return app.test_client()


def test_enrolled_secret_is_stored_encrypted_and_sign_in_works(
    app, web, parepare, owner_engine
) -> None:
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(web, admin.email)
    html = web.get("/auth/totp/setup").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    done = web.post(
        "/auth/totp/setup", data={"csrf_token": csrf(html), "code": pyotp.TOTP(secret).now()}
    )
    assert "Verifikasi dua langkah aktif" in done.get_data(as_text=True)
    raw = stored(owner_engine, admin.account_id)
    assert secret not in raw and raw.startswith("gAAAAA")  # a Fernet token
    web.post("/auth/logout", data={"csrf_token": csrf(html)})
    web.delete_cookie("slrt_session")
    step = sign_in(web, admin.email)
    assert step.request.path == "/auth/totp"
    totp = pyotp.TOTP(secret)
    ok = web.post(
        "/auth/totp",
        data={"csrf_token": csrf(step.get_data(as_text=True)), "code": totp.at(time.time() + 30)},
        follow_redirects=True,
    )
    assert ok.request.path == "/t/parepare/"


def test_key_rotation_keeps_old_secrets_readable(app, parepare, owner_engine, monkeypatch) -> None:
    from slrt.auth.oauth.cli import keys

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    user = member(app, parepare, "district_admin")
    secret = pyotp.random_base32()
    monkeypatch.setenv("SLRT_FIELD_KEY", old_key)
    set_secret(app, user.account_id, secret)
    before = stored(owner_engine, user.account_id)
    assert Fernet(old_key).decrypt(before.encode()).decode() == secret
    # A new key first, the old one after: the old secret still reads.
    monkeypatch.setenv("SLRT_FIELD_KEY", f"{new_key}, {old_key}")
    assert read_secret(app, user.account_id) == secret
    result = app.test_cli_runner().invoke(keys, ["rewrap-fields"])
    assert result.exit_code == 0 and "re-encrypted 1 TOTP secret" in result.output
    after = stored(owner_engine, user.account_id)
    assert after != before and Fernet(new_key).decrypt(after.encode()).decode() == secret
    # The old key can go now.
    monkeypatch.setenv("SLRT_FIELD_KEY", new_key)
    assert read_secret(app, user.account_id) == secret
    # Dropping the only key that opens a value is an error that says so, not a silent None.
    from slrt.platform.field_crypto import FieldKeyError

    monkeypatch.setenv("SLRT_FIELD_KEY", old_key)
    with pytest.raises(FieldKeyError, match="rewrap-fields"):
        read_secret(app, user.account_id)
    monkeypatch.setenv("SLRT_FIELD_KEY", "not-a-key")
    with pytest.raises(FieldKeyError, match="Fernet"):
        read_secret(app, user.account_id)


def test_migration_encrypts_plaintext_secrets(app, parepare, owner_engine, services) -> None:
    from slrt.platform.commands import migrate
    from slrt.platform.commands.dbroles import seal_audit, unseal_audit

    user = member(app, parepare, "district_admin")
    secret = pyotp.random_base32()
    unseal_audit(services["DATABASE_ADMIN_URL"])  # migrations below change the audit tables
    migrate.downgrade(services["DATABASE_OWNER_URL"], "0007")
    try:
        with owner_engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE accounts SET totp_secret = :s WHERE id = :id"),
                {"s": secret, "id": user.account_id},
            )
    finally:
        migrate.upgrade(services["DATABASE_OWNER_URL"])
        seal_audit(services["DATABASE_ADMIN_URL"])
    raw = stored(owner_engine, user.account_id)
    assert raw != secret and raw.startswith("gAAAAA")
    assert read_secret(app, user.account_id) == secret
