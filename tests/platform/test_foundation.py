"""Packaging, health, errors, and tenant resolution over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.config import SETTINGS
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member

ROOT = Path(__file__).resolve().parents[2]


def test_stdlib_platform_is_not_shadowed() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import uuid, platform; print(platform.system())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_pytest_collects_from_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "tests/platform/test_foundation.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_stdlib_platform_is_not_shadowed" in result.stdout


def test_ruff_bans_bare_folder_imports(tmp_path: Path) -> None:
    bad = ROOT / "tenants" / "_ruff_probe_tmp.py"
    bad.write_text("import tenants\nfrom auth import models\n")
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ruff"),
                "check",
                "--no-cache",
                "--select",
                "TID",
                str(bad),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        bad.unlink()
    assert result.returncode == 1
    assert "TID251" in result.stdout and "slrt.tenants" in result.stdout


def test_every_setting_is_documented_in_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert missing == []


def test_healthz_and_readyz(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json
    assert body["status"] == "ready"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert body["checks"]["redis"]["status"] == "ok"


def test_readyz_reports_pending_migrations(client, owner_engine) -> None:
    with owner_engine.begin() as conn:
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json["checks"]["migrations"]["status"] == "pending"
    finally:
        with owner_engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": current})


def test_unknown_tenant_is_problem_json_404(client) -> None:
    resp = client.get("/api/v1/t/atlantis/audit-events")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == 404
    assert resp.json["detail"] == "Kabupaten/kota tidak ditemukan."
    assert resp.json["detail_en"] == "District not found."


def test_suspended_tenant_is_404_to_strangers(app, client, parepare) -> None:
    with app.app_context():
        from slrt.platform.tenant import Tenant

        db.session.get(Tenant, parepare.id).status = "suspended"
        db.session.commit()
        db.session.remove()
    assert client.get("/api/v1/t/parepare/audit-events").status_code == 404
    assert client.get("/api/v1/tenants/parepare").status_code == 404


def test_suspended_tenant_is_read_only_for_members(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    with app.app_context():
        from slrt.platform.tenant import Tenant

        db.session.get(Tenant, parepare.id).status = "suspended"
        db.session.commit()
        db.session.remove()
    assert client.get("/api/v1/t/parepare/audit-events", headers=admin.headers).status_code == 200


def test_cross_tenant_id_answers_404(app, client, parepare, kendal) -> None:
    """A tenant-A route asked for a tenant-B id answers 404, exactly like a missing id."""
    kendal_admin = member(app, kendal, "district_admin")
    parepare_admin = member(app, parepare, "district_admin")
    with app.app_context():
        with tenant_context(parepare.ref()):
            event = record(AuditKind.config, "test.thing", "thing", "1")
            db.session.commit()
            event_id = event.id
        db.session.remove()
    own = client.get(f"/api/v1/t/parepare/audit-events/{event_id}", headers=parepare_admin.headers)
    assert own.status_code == 200 and own.json["action"] == "test.thing"
    # Kendal's admin asks in Kendal for Parepare's id: missing.
    foreign = client.get(f"/api/v1/t/kendal/audit-events/{event_id}", headers=kendal_admin.headers)
    assert foreign.status_code == 404
    # Kendal's admin asks in Parepare: not a member, so Parepare does not exist for them.
    foreign = client.get(
        f"/api/v1/t/parepare/audit-events/{event_id}", headers=kendal_admin.headers
    )
    assert foreign.status_code == 404
    listing = client.get("/api/v1/t/parepare/audit-events", headers=kendal_admin.headers)
    assert listing.status_code == 404


def test_missing_permission_is_403_naming_it(app, client, parepare) -> None:
    facilitator = member(app, parepare, "facilitator")
    resp = client.get("/api/v1/t/parepare/audit-events", headers=facilitator.headers)
    assert resp.status_code == 403
    assert resp.json["missing_permission"] == "audit.read"
    assert "audit.read" in resp.json["detail"] and "audit.read" in resp.json["detail_en"]


def test_no_token_is_401(client, parepare) -> None:
    resp = client.get("/api/v1/t/parepare/audit-events")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_validation_error_names_field_in_both_languages(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    resp = client.get("/api/v1/t/parepare/audit-events?kind=bogus", headers=admin.headers)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    [error] = resp.json["errors"]
    assert error["field"] == "kind"
    assert error["message"].startswith("Harus salah satu dari")
    assert error["message_en"].startswith("Must be one of")


def test_html_error_page_for_browsers(client) -> None:
    resp = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "Tidak ditemukan" in resp.get_data(as_text=True)


def test_openapi_and_local_docs(client) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/t/{tenant}/audit-events" in spec.json["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()


def test_audit_table_is_append_only_for_app_role(services, app, parepare) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            record(AuditKind.config, "test.thing", "thing", "1")
            db.session.commit()
            for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
                try:
                    db.session.execute(sa.text(statement))
                except sa.exc.ProgrammingError as exc:
                    assert "permission denied" in str(exc)
                    db.session.rollback()
                else:
                    raise AssertionError(f"{statement} was allowed")
        db.session.remove()


def test_trusted_proxy_setting_decides_the_client_address(services, monkeypatch) -> None:
    from flask import request

    from slrt.platform.app import create_app

    seen = {}
    for proxies in ("0", "1"):
        monkeypatch.setenv("SLRT_TRUSTED_PROXIES", proxies)
        app = create_app({"TESTING": True})

        @app.get("/_probe_addr")
        def _probe() -> str:
            return request.remote_addr or ""

        resp = app.test_client().get(
            "/_probe_addr",
            headers={"X-Forwarded-For": "203.0.113.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        seen[proxies] = resp.get_data(as_text=True)
    assert seen == {"0": "10.0.0.1", "1": "203.0.113.7"}
