"""Errors as RFC 9457 problem+json for the API and HTML pages for the web.

Messages are Indonesian first with English beside them: `Msg("…", "…")` is a str (the
Indonesian text) that also carries `.en`. marshmallow's own English messages are translated by
the table below, so every validation error reaches the user in both languages.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException


class Msg(str):
    """An Indonesian message that knows its English version."""

    en: str

    def __new__(cls, id_text: str, en_text: str) -> Msg:
        obj = super().__new__(cls, id_text)
        obj.en = en_text
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # pickled whole (an import's reading process)
        return str(self), self.en


# marshmallow / webargs default messages, in Indonesian.
MARSHMALLOW_ID = {
    "Missing data for required field.": "Wajib diisi.",
    "Field may not be null.": "Tidak boleh kosong (null).",
    "Unknown field.": "Kolom tidak dikenal.",
    "Invalid input type.": "Jenis masukan tidak sah.",
    "Not a valid string.": "Bukan teks yang sah.",
    "Not a valid integer.": "Bukan bilangan bulat yang sah.",
    "Not a valid number.": "Bukan angka yang sah.",
    "Not a valid boolean.": "Bukan nilai benar/salah yang sah.",
    "Not a valid date.": "Bukan tanggal yang sah (format YYYY-MM-DD).",
    "Not a valid datetime.": "Bukan tanggal-waktu yang sah (format ISO 8601).",
    "Not a valid email address.": "Bukan alamat email yang sah.",
    "Not a valid URL.": "Bukan URL yang sah.",
    "Not a valid UUID.": "Bukan UUID yang sah.",
    "Not a valid list.": "Bukan daftar yang sah.",
    "Not a valid mapping type.": "Bukan objek yang sah.",
    "Shorter than minimum length {min}.": "Lebih pendek dari panjang minimum {min}.",
    "Longer than maximum length {max}.": "Lebih panjang dari panjang maksimum {max}.",
    "Must be one of: {choices}.": "Harus salah satu dari: {choices}.",
    "Invalid value.": "Nilai tidak sah.",
    "String does not match expected pattern.": "Format tidak sesuai.",
    "Must be greater than or equal to {min}.": "Harus lebih besar dari atau sama dengan {min}.",
    "Must be less than or equal to {max}.": "Harus lebih kecil dari atau sama dengan {max}.",
    "Must be greater than or equal to {min} and less than or equal to {max}.": "Harus antara {min} dan {max}.",
    "Length must be between {min} and {max}.": "Panjang harus antara {min} dan {max}.",
    "Length must be {equal}.": "Panjang harus {equal}.",
}


def _translate(message: Any) -> tuple[str, str]:
    if isinstance(message, Msg):
        return str(message), message.en
    text = str(message)
    if text in MARSHMALLOW_ID:
        return MARSHMALLOW_ID[text], text
    # Parametrised marshmallow messages: the template whose literal parts match the whole text
    # gives its values to the Indonesian template (templates with more values tried first).
    for en, idn in sorted(MARSHMALLOW_ID.items(), key=lambda item: -item[0].count("{")):
        values = _template_values(en, text) if "{" in en else None
        if values is not None:
            return idn.format(**values), text
    return text, text


def _template_values(template: str, text: str) -> dict[str, str] | None:
    """The values of a message template's {placeholders} as they appear in `text`, if it fits."""
    parts = re.split(r"\{(\w+)\}", template)  # literal, name, literal, name, ..., literal
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    found = re.fullmatch(pattern, text, re.DOTALL)
    return found.groupdict() if found else None


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested {field: [messages]} as a flat list of field errors."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if (
                key in ("json", "query", "form", "files", "headers", "path", "view_args")
                and not prefix
            ):
                out.extend(flatten_messages(value, ""))
                continue
            field = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, field))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_messages(item, prefix))
    else:
        text_id, text_en = _translate(messages)
        out.append({"field": prefix or "_schema", "message": text_id, "message_en": text_en})
    return out


TITLES = {
    400: ("Permintaan tidak sah", "Bad request"),
    401: ("Perlu masuk (login)", "Authentication required"),
    403: ("Tidak diizinkan", "Forbidden"),
    404: ("Tidak ditemukan", "Not found"),
    405: ("Metode tidak diizinkan", "Method not allowed"),
    409: ("Konflik dengan keadaan saat ini", "Conflict with the current state"),
    412: ("Data sudah berubah sejak Anda membacanya", "Precondition failed: the resource changed"),
    413: ("Berkas terlalu besar", "Payload too large"),
    415: ("Jenis berkas tidak didukung", "Unsupported media type"),
    422: ("Data tidak valid", "Validation failed"),
    423: ("Terkunci", "Locked"),
    428: ("Header If-Match wajib dikirim", "Precondition required: send If-Match"),
    429: ("Terlalu banyak permintaan", "Too many requests"),
    500: ("Kesalahan server", "Internal server error"),
    503: ("Layanan belum siap", "Service unavailable"),
}


class Problem(HTTPException):
    """Raise anywhere to answer with a problem+json body (an HTML page for a browser, with
    `page_detail` instead of `detail` when given: words for a person where the API names keys)."""

    def __init__(
        self,
        status: int,
        detail: str | Msg | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        page_detail: Msg | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description=str(detail) if detail else None)
        self.code = status
        self.detail = detail
        self.page_detail = page_detail
        self.errors = errors
        self.extra = extra
        self.extra_headers = headers or {}


def field_error(field: str, message: Msg) -> dict[str, str]:
    """One entry of a Problem's `errors` list: the field and its message in both languages."""
    return {"field": field, "message": str(message), "message_en": message.en}


def field_errors(field: str, messages: list[Msg]) -> list[dict[str, str]]:
    """Several messages about one field (e.g. every part of a NIK that is wrong)."""
    return [field_error(field, m) for m in messages]


def field_problem(status: int, field: str, message: Msg) -> Problem:
    """A Problem naming one bad field (the usual 409/413/415/422 answer to one input)."""
    return Problem(status, errors=[field_error(field, message)])


def megabytes(n: int) -> str:
    """A size in MB as people write it: 20 MB, 1,5 MB (decimal comma for Indonesian)."""
    value = n / 1024**2
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} MB"


def too_large(limit: int, size: int | None = None) -> Msg:
    """Why a file or request body was refused for its size, with the limit in MB."""
    limit_mb = megabytes(limit)
    if size is None:
        return Msg(
            f"Berkas atau isi permintaan terlalu besar; batasnya {limit_mb.replace('.', ',')}.",
            f"The file or request body is too large; the limit is {limit_mb}.",
        )
    size_mb = megabytes(size)
    return Msg(
        f"Berkas berukuran {size_mb.replace('.', ',')} melebihi batas "
        f"{limit_mb.replace('.', ',')}.",
        f"The file ({size_mb}) exceeds the limit of {limit_mb}.",
    )


def service_unavailable(retry_after: int = 5) -> Problem:
    """503 with Retry-After: a service the request needs (e.g. Redis) is briefly out of reach."""
    return Problem(
        503,
        Msg(
            "Layanan sedang terganggu sebentar; coba lagi dalam beberapa detik. Data Anda aman.",
            "The service is briefly disrupted; try again in a few seconds. Your data is safe.",
        ),
        headers={"Retry-After": str(retry_after)},
    )


def problem_body(status: int, detail: Any = None, errors: list | None = None, **extra: Any) -> dict:
    title_id, title_en = TITLES.get(status, ("Kesalahan", "Error"))
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title_id,
        "title_en": title_en,
        "status": status,
    }
    if detail:
        body["detail"], body["detail_en"] = _translate(detail)
    if errors:
        body["errors"] = errors
    body["instance"] = request.path if request else None
    body.update(extra)
    return body


def problem_response(
    status: int,
    detail: Any = None,
    errors: list | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    resp = Response(
        json.dumps(problem_body(status, detail, errors, **extra)),
        status=status,
        mimetype="application/problem+json",
    )
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def wants_html() -> bool:
    if request.path.startswith("/api/") or request.path.startswith("/oauth/"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "text/html"


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, Problem):
        if wants_html():
            detail = exc.page_detail or exc.detail
            if not detail and exc.errors:  # a page shows the first field's problem
                first = exc.errors[0]
                detail = Msg(
                    f"{first['field']}: {first['message']}",
                    f"{first['field']}: {first['message_en']}",
                )
            return _html_error(status, detail, exc.extra_headers)
        return problem_response(status, exc.detail, exc.errors, exc.extra_headers, **exc.extra)
    errors = None
    data = getattr(exc, "data", None)  # webargs/flask-smorest put validation messages here
    if data and isinstance(data, dict) and "messages" in data:
        errors = flatten_messages(data["messages"])
    detail = None
    if status == 422:
        detail = Msg("Periksa kolom yang ditandai.", "Check the fields listed in errors.")
    elif status == 413:
        from slrt.platform.config import max_upload_bytes

        detail = too_large(max_upload_bytes())
    elif exc.description and status not in (404, 405):
        detail = exc.description
    headers = {}
    if exc.response is None and hasattr(exc, "get_headers"):
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                headers[key] = value
    if wants_html():
        return _html_error(status, detail, headers)
    return problem_response(status, detail, errors, headers)


def _html_error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    title = Msg(*TITLES.get(status, ("Kesalahan", "Error")))
    message = Msg(*_translate(detail)) if detail else None
    html = render_template("error.html", status=status, title=title, detail=message)
    response = Response(html, status=status, mimetype="text/html")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_unexpected(exc: Exception) -> Response:
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=exc)
    if wants_html():
        return _html_error(500, None)
    return problem_response(500)


def handle_redis_unreachable(exc: Exception) -> Response:
    """What needs Redis and found it out of reach answers 503 with Retry-After, never 500 (the
    callers that can do without it degrade before it comes to this)."""
    from flask import current_app

    from slrt.platform.redis_client import note_outage

    note_outage(request.endpoint or request.path, exc)
    current_app.logger.warning("503 for %s: Redis unreachable", request.path)
    return handle_http_exception(service_unavailable())


def handle_database_error(exc: Exception) -> Response:
    """A request whose database connection was lost (a restart, a failover, a connection the
    server closed while the request held it) answers 503 with Retry-After, never 500: the pool
    has dropped that connection and its older ones, so the next request gets a good one. Any
    other database error is the app's own fault (500)."""
    from flask import current_app

    if not (isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated):
        return handle_unexpected(exc)
    current_app.logger.warning("503 for %s: database connection lost (%s)", request.path, exc.orig)
    return handle_http_exception(service_unavailable())


def init_app(app: Flask) -> None:
    from slrt.platform.redis_client import UNREACHABLE

    app.register_error_handler(HTTPException, handle_http_exception)
    for error in UNREACHABLE:
        app.register_error_handler(error, handle_redis_unreachable)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
