"""Sign-in does the same password work whether or not the email has an account, so its timing
tells nobody which emails exist. Counted, not timed: every attempt verifies exactly one argon2
hash (a dummy one for an unknown email or an account without a password)."""

from __future__ import annotations

import pytest

from slrt.auth.accounts import passwords
from tests.auth.signin.test_web_signin import PASSWORD, csrf
from tests.fixtures import make_account, member, set_password


class CountingHasher:
    def __init__(self, real) -> None:
        self.real = real
        self.verifications = 0

    def verify(self, *args, **kw):
        self.verifications += 1
        return self.real.verify(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


def _attempt(app, email: str, password: str) -> int:
    web = app.test_client()
    html = web.get("/auth/sign-in").get_data(as_text=True)
    resp = web.post(
        "/auth/sign-in", data={"csrf_token": csrf(html), "email": email, "password": password}
    )
    return resp.status_code


def test_every_sign_in_attempt_verifies_one_argon2_hash(app, parepare, hasher) -> None:
    known = set_password(app, member(app, parepare, "front_office"), PASSWORD)
    without_password = make_account(app, "federated@example.id")

    counts = {}
    for label, email, password in (
        ("unknown email", "nobody@example.id", "kata sandi salah sekali"),
        ("known email, wrong password", known.email, "kata sandi salah sekali"),
        ("account without a password", without_password.email, "kata sandi salah sekali"),
    ):
        before = hasher.verifications
        assert _attempt(app, email, password) == 401
        counts[label] = hasher.verifications - before
    assert counts == {
        "unknown email": 1,
        "known email, wrong password": 1,
        "account without a password": 1,
    }
    before = hasher.verifications
    assert _attempt(app, known.email, PASSWORD) == 302
    assert hasher.verifications - before == 1
