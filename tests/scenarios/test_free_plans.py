"""Free plans end to end, over HTTP: a Kemensos admin moves Parepare to the trial plan, Parepare's
district admin hits the account quota and reads a clear refusal, and both see the month's
statement for Rp 0 with real usage in it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from slrt.billing_free import meter
from slrt.billing_free.plans import district_today
from slrt.platform import db
from tests.fixtures import member

PASSWORD = "kata sandi yang panjang 2026"


def _invite(client, admin, n: int):
    return client.post(
        "/api/v1/t/parepare/invitations",
        json={"email": f"staf{n}@pareparekota.go.id", "name": f"Staf {n}", "role": "front_office"},
        headers=admin.headers,
    )


def test_trial_plan_account_quota_and_rp0_statement(app, client, parepare, kemensos_admin):
    admin = member(app, parepare, "district_admin")

    # 1. Kemensos moves Parepare to the trial plan (10 accounts).
    moved = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba", "reason": "Uji coba sebelum penetapan lokus tahap 3"},
        headers=kemensos_admin.headers,
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["plan"] == "uji-coba"
    assert {q["quota"]: q["limit"] for q in moved.json["quotas"]}["accounts"] == 10

    # 2. The district admin invites staff; one accepts and gets an account.
    first = _invite(client, admin, 1)
    assert first.status_code == 201, first.json
    path = urlsplit(first.json["link"]).path
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(
        path,
        data={
            "csrf_token": token,
            "action": "create",
            "name": "Staf 1",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert accepted.status_code == 302
    # 2 active accounts (admin + staf1) and 8 more invitations fill the 10 seats.
    for n in range(2, 10):
        resp = _invite(client, admin, n)
        assert resp.status_code == 201, (n, resp.json)
        if n == 7:  # 2 active + 6 pending = 8 of 10: the soft limit shows on every answer
            assert resp.headers["SLRT-Quota-Warning"] == "accounts=8/10"
    refused = _invite(client, admin, 10)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = refused.json
    assert body["quota"] == "accounts" and body["limit"] == 10 and body["used"] == 10
    assert body["pending_invitations"] == 8 and body["plan"] == "uji-coba"
    assert body["detail"] == (
        "Kuota akun aktif paket Uji coba sudah penuh: terpakai 10 (termasuk 8 undangan yang "
        "belum diterima) dari batas 10, sehingga 1 lagi tidak dapat ditambahkan. Data yang ada "
        "tetap tersimpan. Nonaktifkan yang tidak dipakai atau minta Kemensos mengganti paket."
    )
    assert body["detail_en"].startswith(
        "The active accounts quota of plan Uji coba is full: 10 in use (including 8 invitation(s)"
    )
    notices = client.get("/api/v1/t/parepare/usage/notices", headers=admin.headers).json
    assert notices[0]["code"] == "quota.limit" and notices[0]["quota"] == "accounts"

    # 3. The metering flush (every few minutes in production) stores the day's usage.
    with app.app_context():
        meter.flush()
        db.session.remove()

    month = district_today(zone="Asia/Makassar").strftime("%Y-%m")  # Parepare's month
    statements = {}
    for who, headers in (("district", admin.headers), ("kemensos", kemensos_admin.headers)):
        resp = client.get(f"/api/v1/t/parepare/statements/{month}", headers=headers)
        assert resp.status_code == 200, (who, resp.json)
        statements[who] = resp.json
        pdf = client.get(f"/api/v1/t/parepare/statements/{month}/pdf", headers=headers)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    st = statements["district"]
    assert st["total_idr"] == 0
    assert [p["key"] for p in st["plans"]] == ["lokus-kemensos", "uji-coba"]
    assert all(p["price_idr"] == 0 for p in st["plans"])
    lines = {line["metric"]: line for line in st["lines"]}
    # Real usage: the admin's API calls so far (the moves, invitations, notices...) and the two
    # active accounts.
    assert lines["api_calls"]["total"] >= 11
    assert lines["active_accounts"]["total"] == 2
    assert all(line["price_idr"] == 0 for line in st["lines"])
    # Kemensos reads the same statement; the running month also counts the requests made since
    # (including the district admin's own statement request).
    kemensos = statements["kemensos"]
    assert kemensos["total_idr"] == 0 and kemensos["plans"] == st["plans"]
    k_lines = {line["metric"]: line for line in kemensos["lines"]}
    assert k_lines["active_accounts"]["total"] == 2
    assert k_lines["api_calls"]["total"] > lines["api_calls"]["total"]
    csv_text = client.get(
        f"/api/v1/t/parepare/statements/{month}/csv", headers=kemensos_admin.headers
    ).get_data(as_text=True)
    assert "TOTAL (Rp),0" in csv_text and "Uji coba" in csv_text
