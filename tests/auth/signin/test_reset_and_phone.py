"""A forgotten password reset through a real SMTP server (the same answer and the same work for
known and unknown addresses, a single-use expiring link, other sessions and tokens ended), the
account page (language of mail, digest), and signing in with a phone number however it is
written, throttled per number."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from slrt.auth.accounts.phones import normalise_identifier, normalise_phone
from slrt.platform import db
from tests.fixtures import member, set_password
from tests.mailserver import body_of, link_in
from tests.web import PASSWORD, csrf_of, form_token, sign_in

pytest_plugins = ["tests.mailserver"]

NEW_PASSWORD = "teh manis sore di posyandu"


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return app.test_client()


def ask_reset(client, email: str):
    page = client.get("/auth/forgot").get_data(as_text=True)
    return client.post("/auth/forgot", data={"csrf_token": csrf_of(page), "email": email})


def deliver(app) -> int:
    from slrt.platform.mail import deliver_due

    with app.app_context():
        sent = deliver_due()
        db.session.remove()
        return sent


def live_refresh_tokens(app, account_id) -> int:
    from slrt.auth.oauth.models import RefreshToken

    with app.app_context():
        count = db.session.execute(
            sa.select(sa.func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        ).scalar()
        db.session.remove()
        return count


def test_password_reset_end_to_end_and_the_link_works_once(app, web, parepare, smtp) -> None:
    user = set_password(app, member(app, parepare, "facilitator"), PASSWORD)
    laptop = app.test_client()
    assert sign_in(laptop, user.email).request.path == "/t/parepare/"
    assert live_refresh_tokens(app, user.account_id) == 1
    sign_in_page = web.get("/auth/sign-in").get_data(as_text=True)
    assert 'href="/auth/forgot"' in sign_in_page and "Lupa kata sandi?" in sign_in_page
    answer = ask_reset(web, user.email.upper())
    assert answer.status_code == 200
    assert "Jika alamat itu terdaftar" in answer.get_data(as_text=True)
    assert deliver(app) == 1  # the scheduler's round sends it
    [message] = smtp.wait_for(1)
    assert message["To"] == user.email and message["Subject"] == "SLRT: atur ulang kata sandi"
    link = link_in(message, "/auth/reset/")
    path = link.removeprefix("http://localhost")
    form = web.get(path)
    assert form.status_code == 200 and "Kata sandi baru" in form.get_data(as_text=True)
    token = csrf_of(form.get_data(as_text=True))
    short = web.post(path, data={"csrf_token": token, "password": "pendek", "password2": "pendek"})
    assert short.status_code == 422 and "minimal 10" in short.get_data(as_text=True)
    done = web.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert done.status_code == 200 and "Kata sandi diganti" in done.get_data(as_text=True)
    # Once only: the link is spent.
    again = web.get(path)
    assert again.status_code == 404 and "tidak berlaku" in again.get_data(as_text=True).lower()
    # Like a password change: the laptop is signed out, its refresh tokens revoked.
    assert laptop.get("/t/parepare/").status_code == 302
    assert live_refresh_tokens(app, user.account_id) == 0
    # The new password works, the old one does not.
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).request.path == "/t/parepare/"


def test_the_answer_and_the_work_are_the_same_for_unknown_addresses(
    app, web, parepare, smtp
) -> None:
    from slrt.platform.mail import OutgoingMail

    user = set_password(app, member(app, parepare, "facilitator"), PASSWORD)
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    answers, work = [], []
    for email in (user.email, "tidak.ada@example.id"):
        page = web.get("/auth/forgot").get_data(as_text=True)
        statements.clear()
        event.listen(db.engine(), "before_cursor_execute", note)
        try:
            resp = web.post("/auth/forgot", data={"csrf_token": csrf_of(page), "email": email})
        finally:
            event.remove(db.engine(), "before_cursor_execute", note)
        answers.append(
            (resp.status_code, re.sub(r'value="[^"]+"', "", resp.get_data(as_text=True)))
        )
        work.append(list(statements))
    assert answers[0] == answers[1]
    assert work[0] == work[1] and any("INSERT INTO outgoing_mail" in s for s in work[0])
    assert deliver(app) == 1
    assert [m["To"] for m in smtp.wait_for(1)] == [user.email]
    with app.app_context():
        rows = {r.status: r for r in db.session.execute(sa.select(OutgoingMail)).scalars()}
        # The unknown address is dropped and forgotten.
        assert set(rows) == {"sent", "dropped"} and rows["dropped"].to_address is None
        db.session.remove()


def test_reset_requests_are_throttled_per_address(app, web, parepare, smtp) -> None:
    for _ in range(3):
        assert ask_reset(web, "someone@example.id").status_code == 200
    refused = ask_reset(web, "someone@example.id")
    assert refused.status_code == 429 and "Terlalu banyak" in refused.get_data(as_text=True)
    assert ask_reset(web, "not-an-address").status_code == 422


def test_reset_mail_speaks_the_account_language(app, web, parepare, smtp) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    sign_in(web, user.email)
    web.get("/t/parepare/?lang=en")  # switching languages while signed in is remembered
    with app.app_context():
        from slrt.auth.accounts.models import Account

        assert db.session.get(Account, user.account_id).language == "en"
        db.session.remove()
    ask_reset(app.test_client(), user.email)
    deliver(app)
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "SLRT: reset your password"
    assert "The link works once." in body_of(message)


def test_the_account_page_sets_language_and_digest(app, web, parepare, smtp) -> None:
    from slrt.auth.accounts.models import Account

    user = set_password(app, member(app, parepare, "supervisor"), PASSWORD)
    sign_in(web, user.email)
    page = web.get("/auth/account").get_data(as_text=True)
    assert "Ringkasan harian" in page and user.email in page
    saved = web.post(
        "/auth/account",
        data={"csrf_token": form_token(web), "language": "en", "digest_opt_in": "1"},
        follow_redirects=True,
    )
    assert "Settings saved." in saved.get_data(as_text=True)
    with app.app_context():
        account = db.session.get(Account, user.account_id)
        assert (account.language, account.digest_opt_in) == ("en", True)
        db.session.remove()
    web.post(
        "/auth/account",
        data={"csrf_token": form_token(web), "language": "id"},
        follow_redirects=True,
    )
    with app.app_context():
        account = db.session.get(Account, user.account_id)
        assert (account.language, account.digest_opt_in) == ("id", False)
        db.session.remove()


# --- signing in with a phone number ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("62812 34567890", "+6281234567890"),
        ("812 3456 7890", "+6281234567890"),
        ("+62 (0)812.3456.7890", "+6281234567890"),
        ("0062 812 3456 7890", "+6281234567890"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0812", None),
        ("kopi", None),
    ],
)
def test_phone_numbers_have_one_stored_form(typed: str, stored: str | None) -> None:
    assert normalise_phone(typed) == stored


def test_identifiers_are_emails_or_phone_numbers() -> None:
    assert normalise_identifier("  Admin@Kemensos.go.id ") == "admin@kemensos.go.id"
    assert normalise_identifier("0812 3456 7890") == "+6281234567890"
    assert normalise_identifier("bukan nomor") == "bukan nomor"


def _phone_account(app, parepare, phone: str) -> None:
    from slrt.auth.accounts.actions import add_account
    from slrt.auth.memberships.actions import grant_membership
    from slrt.platform.tenancy import tenant_context

    with app.app_context():
        account = add_account(
            name="Fasilitator Tanpa Email", email=None, password=PASSWORD, phone=phone
        )
        with tenant_context(parepare.ref()):
            grant_membership(account.id, "facilitator")
        db.session.commit()
        db.session.remove()


def sign_in_as(client, identifier: str, password: str = PASSWORD):
    page = client.get("/auth/login", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert 'name="identifier"' in html and "Email atau nomor HP" in html
    cont = re.search(r'name="continue" value="([^"]*)"', html).group(1)
    return client.post(
        "/auth/sign-in",
        data={
            "csrf_token": csrf_of(html),
            "continue": cont.replace("&amp;", "&"),
            "identifier": identifier,
            "password": password,
        },
        follow_redirects=True,
    )


def test_sign_in_with_the_phone_number_however_written(app, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    _phone_account(app, parepare, "0812 3456 7890")
    for written in ("0812-3456-7890", "+62 812 3456 7890", "6281234567890"):
        client = app.test_client()
        page = sign_in_as(client, written)
        assert page.request.path == "/t/parepare/", written
        assert "+6281234567890" in page.get_data(as_text=True)


def test_the_throttle_counts_one_number_however_written(app, parepare, monkeypatch) -> None:
    from slrt.auth.signin.throttle import ACCOUNT_LIMIT

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    _phone_account(app, parepare, "081234567890")
    client = app.test_client()
    spellings = ["0812-3456-7890", "+62 812 3456 7890", "62812 3456 7890", "0812 34567890"]
    for n in range(ACCOUNT_LIMIT - 1):
        page = sign_in_as(client, spellings[n % len(spellings)], "salah sekali ini")
        assert page.status_code == 401
        assert "Email/nomor HP atau kata sandi salah." in page.get_data(as_text=True)
    throttled = sign_in_as(client, "+6281234567890", "salah sekali ini")
    assert throttled.status_code == 429
    # Even the right password waits now, under any spelling of the number.
    assert sign_in_as(client, "0812 3456 7890").status_code == 429
