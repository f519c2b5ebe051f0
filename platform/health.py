"""Liveness and readiness probes for orchestrators and for `slrt up`."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from slrt.platform import db
from slrt.platform.commands.migrate import current_revision, head_revision
from slrt.platform.redis_client import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, dict[str, str]] = {}
    try:
        with db.engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = current_revision(conn)
        head = head_revision()
        checks["postgresql"] = {"status": "ok"}
        checks["migrations"] = {
            "status": "ok" if current == head else "pending",
            "current": current or "none",
            "head": head or "none",
        }
    except Exception as exc:
        checks["postgresql"] = {"status": "error", "error": type(exc).__name__}
        checks["migrations"] = {"status": "unknown"}
    try:
        get_redis().ping()
        checks["redis"] = {"status": "ok"}
    except Exception as exc:
        checks["redis"] = {"status": "error", "error": type(exc).__name__}
    ready = all(c["status"] == "ok" for c in checks.values())
    return jsonify(status="ready" if ready else "not_ready", checks=checks), (200 if ready else 503)
