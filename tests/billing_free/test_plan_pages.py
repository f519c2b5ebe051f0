"""The plan and usage page: the plan in force, each quota as a bar with the 80% warning and the
full mark, the notices, the last days' usage and the monthly statements (Rp 0) as pages with
their CSV and PDF downloads; only for holders of usage.read."""

from __future__ import annotations

import re

from slrt.billing_free.meter import Metric, count
from slrt.billing_free.plans import district_today
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member, put_on_plan
from tests.tenants.districts.pages import signed_in, text

P = "/t/parepare"


def test_quotas_as_bars_with_warning_and_full(app, monkeypatch, parepare) -> None:
    put_on_plan(app, parepare, max_accounts=5, max_puskesos=2)
    client, _ = signed_in(app, monkeypatch, parepare)
    for _ in range(3):
        member(app, parepare, "facilitator")
    page = client.get(f"{P}/plan")
    assert page.status_code == 200
    words = text(page)
    assert "Rp 0 (gratis)" in words
    assert "Akun aktif 4 dari 5 Hampir penuh (80%)" in words
    assert "Pemakaian akun aktif sudah 80% dari kuota paket" in words  # the notice
    bar = re.search(
        r'<li class="quota quota-warning" id="quota-accounts">.*?<meter ([^>]+)>', page.text, re.S
    )
    assert bar and 'max="5"' in bar.group(1) and 'value="4"' in bar.group(1)
    assert 'low="4.0"' in bar.group(1)
    member(app, parepare, "facilitator")
    full = text(client.get(f"{P}/plan"))
    assert "Akun aktif 5 dari 5 Penuh" in full
    assert "sudah penuh" in full
    assert "Unit Puskesos 0 dari 2" in full
    assert "Permintaan API per menit batas 600" in full


def test_daily_usage_and_statements(app, monkeypatch, parepare) -> None:
    with app.app_context(), tenant_context(parepare.ref()):
        count(Metric.INTAKES, 3, village_code="73.72.01.1004")
        count(Metric.REFERRALS, 2)
    client, _ = signed_in(app, monkeypatch, parepare)
    words = text(client.get(f"{P}/plan"))
    assert "Pemakaian 14 hari terakhir" in words
    month = district_today(zone=parepare.zone).strftime("%Y-%m")
    assert f"{month} bulan berjalan · Rp 0" in words
    statement = client.get(f"{P}/plan/statements/{month}")
    assert statement.status_code == 200
    shown = text(statement)
    assert "Bulan berjalan, belum final" in shown and "Total tagihan Rp 0" in shown
    assert "Layanan/keluhan diterima 3 Desa/kelurahan APBD: 3" in shown
    assert "Rujukan dikirim 2 Tingkat kabupaten/kota: 2" in shown
    csv = client.get(f"{P}/plan/statements/{month}/csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert f"laporan-pemakaian-parepare-{month}.csv" in csv.headers["Content-Disposition"]
    assert "TOTAL (Rp),0" in csv.get_data(as_text=True)
    pdf = client.get(f"{P}/plan/statements/{month}/pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    assert client.get(f"{P}/plan/statements/2026-13").status_code == 404
    assert client.get(f"{P}/plan/statements/2999-01/pdf").status_code == 404


def test_only_with_usage_read(app, monkeypatch, parepare) -> None:
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    assert facilitator.get(f"{P}/plan").status_code == 403
    month = district_today(zone=parepare.zone).strftime("%Y-%m")
    assert facilitator.get(f"{P}/plan/statements/{month}/csv").status_code == 403
