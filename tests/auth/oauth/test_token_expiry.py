"""An expired access token stops working within a few seconds of its `exp`
(`slrt.auth.oauth.tokens.LEEWAY_SECONDS`, documented in the README)."""

from __future__ import annotations

import time

from slrt.auth.oauth.tokens import LEEWAY_SECONDS, issue_access_token
from slrt.platform import db
from tests.fixtures import member


def _token_expired_ago(app, account_id, seconds: int) -> str:
    with app.app_context():
        token, _ = issue_access_token(
            subject=str(account_id),
            client_id="slrt-tests",
            extra={"exp": int(time.time()) - seconds, "iat": int(time.time()) - 600},
        )
        db.session.commit()
        db.session.remove()
    return token


def test_a_token_expired_ten_seconds_ago_is_refused(app, client, parepare) -> None:
    assert LEEWAY_SECONDS <= 5
    user = member(app, parepare, "district_admin")
    token = _token_expired_ago(app, user.account_id, 10)
    resp = client.get("/api/v1/t/parepare/persons", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.get_json()["detail_en"] == "Invalid or expired token."
    fresh = client.get("/api/v1/t/parepare/persons", headers=user.headers)
    assert fresh.status_code == 200


def test_a_token_that_worked_stops_working_when_it_expires(app, client, parepare) -> None:
    # The signature is checked once per process; the expiry is checked on every request.
    user = member(app, parepare, "district_admin")
    token = _token_expired_ago(app, user.account_id, -1)  # expires in a second
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/t/parepare/persons", headers=headers).status_code == 200
    time.sleep(LEEWAY_SECONDS + 1.5)
    resp = client.get("/api/v1/t/parepare/persons", headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["detail_en"] == "Invalid or expired token."


def test_a_token_with_a_forged_signature_is_refused_after_the_genuine_one(
    app, client, parepare
) -> None:
    user = member(app, parepare, "district_admin")
    assert client.get("/api/v1/t/parepare/persons", headers=user.headers).status_code == 200
    head, payload, signature = user.token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    resp = client.get("/api/v1/t/parepare/persons", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
