"""Monthly Rp 0 statements (JSON, CSV, PDF), the village funding split, the national summary, and
districts blind to each other's usage."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from slrt.billing_free import funding, meter
from slrt.billing_free.meter import Metric
from slrt.billing_free.plans import district_today
from slrt.billing_free.statements import Statement, statement_csv
from slrt.platform import db
from slrt.platform.tenancy import TenantRef, tenant_context
from tests.fixtures import make_account


def _count(app, tenant, metric: Metric, n: int = 1, village: str | None = None) -> None:
    with app.app_context(), tenant_context(tenant.ref()):
        meter.count(metric, n, village_code=village)
        db.session.remove()


def _flush(app) -> None:
    with app.app_context():
        meter.flush()
        db.session.remove()


def _month() -> str:
    return district_today(zone="Asia/Makassar").strftime("%Y-%m")  # Parepare's month


def _line(statement: dict, metric: str) -> dict:
    return next(line for line in statement["lines"] if line["metric"] == metric)


def _make_intervention(client, headers, code: str) -> None:
    """Mark a village as a Kemensos (APBN) intervention village through the district API."""
    found = client.get(f"/api/v1/t/parepare/villages?q={code}", headers=headers).json
    village = next(v for v in found if v["code"] == code)
    url = f"/api/v1/t/parepare/villages/{village['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    resp = client.patch(url, json={"is_intervention": True}, headers={**headers, "If-Match": etag})
    assert resp.status_code == 200, resp.json
    assert resp.json["funding_source"] == "apbn_kemensos"


def test_statement_json_csv_pdf(app, client, parepare, parepare_admin):
    # Two real kelurahan of Parepare: one made an intervention (APBN-Kemensos) village by the
    # district configuration, the other left on APBD.
    _make_intervention(client, parepare_admin.headers, "73.72.01.1004")
    _count(app, parepare, Metric.INTAKES, 3, "73.72.01.1004")
    _count(app, parepare, Metric.INTAKES, 2, "73.72.02.1005")
    _count(app, parepare, Metric.REFERRALS, 1, "73.72.01.1004")
    _count(app, parepare, Metric.IMPORT_ROWS, 250)
    _flush(app)
    month = _month()
    resp = client.get(f"/api/v1/t/parepare/statements/{month}", headers=parepare_admin.headers)
    assert resp.status_code == 200, resp.json
    st = resp.json
    assert st["total_idr"] == 0 and st["currency"] == "IDR"
    assert st["tenant"]["code"] == "73.72" and st["month"] == month and st["final"] is False
    assert [p["key"] for p in st["plans"]] == ["lokus-kemensos"]
    assert st["plans"][0]["price_idr"] == 0
    assert {q["quota"]: q["limit"] for q in st["plans"][0]["quotas"]}["puskesos"] == 2
    intakes = _line(st, "intakes")
    assert intakes["total"] == 5 and intakes["price_idr"] == 0
    split = {f["funding_source"]: f["value"] for f in intakes["by_funding"]}
    assert split == {"apbn_kemensos": 3, "apbd": 2}
    assert {f["funding_source"]: f["value"] for f in _line(st, "referrals")["by_funding"]} == {
        "apbn_kemensos": 1
    }
    imports = _line(st, "import_rows")
    assert imports["total"] == 250
    assert imports["by_funding"] == [
        {
            "funding_source": "district",
            "label": "Tingkat kabupaten/kota",
            "label_en": "District level",
            "value": 250,
        }
    ]
    assert (
        _line(st, "active_accounts")["total"] == 1
        and _line(st, "active_accounts")["kind"] == "gauge"
    )

    csv_resp = client.get(
        f"/api/v1/t/parepare/statements/{month}/csv", headers=parepare_admin.headers
    )
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"
    assert f"laporan-pemakaian-parepare-{month}.csv" in csv_resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(csv_resp.get_data(as_text=True))))
    assert [
        "intakes",
        "Layanan/keluhan diterima",
        "Intakes registered",
        "counter",
        "apbn_kemensos",
        "3",
        "0",
    ] in rows
    assert rows[-1] == ["TOTAL (Rp)", "0"]

    pdf = client.get(f"/api/v1/t/parepare/statements/{month}/pdf", headers=parepare_admin.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")

    listed = client.get("/api/v1/t/parepare/statements", headers=parepare_admin.headers)
    assert listed.json[0] == {"month": month, "final": False, "total_idr": 0}


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "\tKota X", "\rKota X"])
def test_statement_csv_neutralises_every_formula_prefix(name: str) -> None:
    # A spreadsheet runs a cell starting with a tab or a carriage return as a formula too.
    statement = Statement(
        tenant=TenantRef(id=1, slug="x", code="73.72", name=name, status="active"),
        month="2026-11",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        final=True,
        plans=[],
        lines=[],
        generated_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    rows = list(csv.reader(io.StringIO(statement_csv(statement), newline="")))
    assert rows[1] == ["Kabupaten/kota", "'" + name, "73.72"]


def test_statement_bad_or_future_month_is_404(client, parepare, parepare_admin):
    for month in ("2026-13", "abc", "2999-01"):
        resp = client.get(f"/api/v1/t/parepare/statements/{month}", headers=parepare_admin.headers)
        assert resp.status_code == 404, month
        assert resp.json["detail"] and resp.json["detail_en"]


def test_funding_sources_follow_the_district_configuration(app, client, parepare, parepare_admin):
    with app.app_context(), tenant_context(parepare.ref()):
        assert funding.funding_sources(["73.72.01.1004", "99.99.99.9999"]) == {
            "73.72.01.1004": "apbd",
            "99.99.99.9999": "unclassified",
        }
        db.session.remove()
    _make_intervention(client, parepare_admin.headers, "73.72.01.1004")
    with app.app_context(), tenant_context(parepare.ref()):
        assert funding.funding_sources(["73.72.01.1004"]) == {"73.72.01.1004": "apbn_kemensos"}
        db.session.remove()


def test_district_cannot_see_another_districts_usage_or_statements(
    app, client, parepare, kendal, parepare_admin, kendal_admin
):
    _count(app, parepare, Metric.INTAKES, 9, "73.72.01.1004")
    _flush(app)
    month = _month()
    for path in (
        "/usage",
        "/usage/daily",
        "/usage/notices",
        "/plan",
        "/statements",
        f"/statements/{month}",
        f"/statements/{month}/csv",
        f"/statements/{month}/pdf",
    ):
        resp = client.get(f"/api/v1/t/parepare{path}", headers=kendal_admin.headers)
        assert resp.status_code == 404, path
        assert "73.72.01.1004" not in resp.get_data(as_text=True)
    own = client.get("/api/v1/t/kendal/usage/daily", headers=kendal_admin.headers)
    assert own.status_code == 200
    assert all(r["metric"] != "intakes" for r in own.json)
    # Platform routes are for Kemensos only.
    assert (
        client.get("/api/v1/platform/usage/summary", headers=parepare_admin.headers).status_code
        == 403
    )
    assert (
        client.get(
            "/api/v1/platform/tenants/kendal/plan", headers=parepare_admin.headers
        ).status_code
        == 403
    )


def test_kemensos_sees_every_statement_and_the_national_summary(
    app, client, parepare, kendal, kemensos_admin, kemensos_viewer
):
    _count(app, parepare, Metric.INTAKES, 4, "73.72.01.1004")
    _count(app, kendal, Metric.INTAKES, 6, "33.24.01.2001")
    _count(app, kendal, Metric.EXPORTS, 1)
    _flush(app)
    month = _month()
    for slug, expected in (("parepare", 4), ("kendal", 6)):
        st = client.get(f"/api/v1/t/{slug}/statements/{month}", headers=kemensos_admin.headers)
        assert st.status_code == 200 and _line(st.json, "intakes")["total"] == expected
    summary = client.get(
        f"/api/v1/platform/usage/summary?month={month}", headers=kemensos_viewer.headers
    )
    assert summary.status_code == 200
    body = summary.json
    assert body["total_idr"] == 0
    assert body["totals"]["intakes"] == 10 and body["totals"]["exports"] == 1
    assert body["plans"] == {"lokus-kemensos": 2}
    by_code = {t["code"]: t for t in body["tenants"]}
    assert by_code["73.72"]["usage"]["intakes"] == 4 and by_code["33.24"]["usage"]["intakes"] == 6
    # Demo-free districts: every village is on APBD until the district marks intervention ones.
    assert body["by_funding"]["intakes"] == {"apbd": 10}
    # Counts not flushed yet are in the running month's summary too.
    _count(app, kendal, Metric.INTAKES, 2, "33.24.01.2001")
    later = client.get(
        f"/api/v1/platform/usage/summary?month={month}", headers=kemensos_admin.headers
    )
    assert later.json["totals"]["intakes"] == 12
    assert later.json["by_funding"]["intakes"] == {"apbd": 12}
    csv_resp = client.get(
        f"/api/v1/platform/usage/summary/csv?month={month}", headers=kemensos_admin.headers
    )
    rows = list(csv.reader(io.StringIO(csv_resp.get_data(as_text=True))))
    assert rows[0][:4] == ["kode", "kabupaten_kota", "provinsi", "paket"]
    assert rows[-1][0] == "TOTAL"
    bad = client.get("/api/v1/platform/usage/summary?month=2026-1", headers=kemensos_admin.headers)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "month"


def test_provincial_viewer_sees_only_their_province(app, client, parepare, kendal):
    viewer = make_account(
        app, "dinsos@sulselprov.go.id", platform_role="provincial_viewer", province_code="73"
    )
    body = client.get("/api/v1/platform/usage/summary", headers=viewer.headers).json
    assert [t["code"] for t in body["tenants"]] == ["73.72"]
    assert (
        client.get("/api/v1/platform/tenants/kendal/plan", headers=viewer.headers).status_code
        == 404
    )
    assert (
        client.get("/api/v1/platform/tenants/parepare/plan", headers=viewer.headers).status_code
        == 200
    )


def test_cli_statement_and_flush(app, parepare, tmp_path):
    from slrt.billing_free.cli import usage

    _count(app, parepare, Metric.REFERRALS, 2, "73.72.01.1004")
    runner = app.test_cli_runner()
    flushed = runner.invoke(usage, ["flush"])
    assert flushed.exit_code == 0 and "1 batch(es)" in flushed.output
    out = tmp_path / "st.pdf"
    pdf = runner.invoke(
        usage, ["statement", "parepare", _month(), "--format", "pdf", "-o", str(out)]
    )
    assert pdf.exit_code == 0, pdf.output
    assert out.read_bytes().startswith(b"%PDF-")
    text = runner.invoke(usage, ["statement", "73.72", "--format", "csv"])
    assert "referrals" in text.output and "TOTAL (Rp),0" in text.output
    shown = runner.invoke(usage, ["show", "parepare"])
    assert "accounts\t0/80" in shown.output
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM usage_flush_batches")).scalar() == 1
        db.session.remove()
