"""Hostile input answers 400/422 with a problem the caller can read, never 500: JSON nested
absurdly deep, numbers past 64 bits, NUL bytes in the path, the query, form fields, file names
and JSON text, bodies over the size limit; the web pages likewise."""

from __future__ import annotations

import io

import pytest

from slrt.platform.api import MAX_PAGE
from slrt.platform.input_guard import MAX_JSON_DEPTH
from tests.fixtures import api_json

T = "/api/v1/t/parepare"


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    return resp.get_json()


def test_json_nested_100000_deep_is_400(client, parepare, parepare_admin) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    resp = client.post(
        f"{T}/households",
        data=deep,
        headers={**parepare_admin.headers, "Content-Type": "application/json"},
    )
    body = _problem(resp, 400)
    assert "terlalu dalam" in body["detail"] and "nested too deeply" in body["detail_en"]


def test_json_deeper_than_the_limit_is_400_and_at_the_limit_is_read(
    client, parepare, parepare_admin
) -> None:
    def nested(depth: int) -> str:
        return '{"kk_number": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    too_deep = client.post(
        f"{T}/households",
        data=nested(MAX_JSON_DEPTH + 1),
        headers={**parepare_admin.headers, "Content-Type": "application/json"},
    )
    _problem(too_deep, 400)
    # Within the limit the body reaches validation, which names the field.
    read = client.post(
        f"{T}/households",
        data=nested(MAX_JSON_DEPTH),
        headers={**parepare_admin.headers, "Content-Type": "application/json"},
    )
    assert "kk_number" in {e["field"] for e in _problem(read, 422)["errors"]}


def test_deep_json_read_by_get_json_is_400_too(app) -> None:
    from flask import request

    from slrt.platform.errors import Problem

    deep = "[" * 100_000 + "]" * 100_000
    with app.test_request_context("/x", method="POST", data=deep, content_type="application/json"):
        with pytest.raises(Problem) as caught:
            request.get_json()
        assert caught.value.code == 400


@pytest.mark.parametrize("page", ["99999999999999999999999", "9223372036854775807", "1000001"])
def test_page_numbers_past_the_limit_are_422(client, parepare, parepare_admin, page: str) -> None:
    resp = client.get(f"{T}/persons?page={page}", headers=parepare_admin.headers)
    body = _problem(resp, 422)
    assert [e["field"] for e in body["errors"]] == ["page"]
    assert body["errors"][0]["message"] == f"Harus lebih kecil dari atau sama dengan {MAX_PAGE}."


def test_every_paginated_list_bounds_its_page(app, client, parepare, parepare_admin) -> None:
    """Every list of the API, platform and district alike, refuses a page past MAX_PAGE."""
    from tests.fixtures import make_account

    kemensos = make_account(app, "k@kemensos.go.id", platform_role="kemensos_admin")
    lists = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        paginated = "pagination" in getattr(view, "_apidoc", {})
        if "GET" in rule.methods and paginated and not rule.arguments - {"tenant"}:
            lists.append(rule.rule.replace("<tenant>", "parepare"))
    assert len(lists) >= 10
    for path in lists:
        who = parepare_admin if path.startswith(T) else kemensos
        resp = client.get(f"{path}?page=99999999999999999999999", headers=who.headers)
        assert resp.status_code == 422, (path, resp.status_code)


@pytest.mark.parametrize("size", ["-1", "0", "101", "99999999999999999999999"])
def test_page_size_outside_1_to_100_is_422_in_indonesian(
    client, parepare, parepare_admin, size: str
) -> None:
    resp = client.get(f"{T}/persons?page_size={size}", headers=parepare_admin.headers)
    body = _problem(resp, 422)
    assert body["errors"][0]["field"] == "page_size"
    assert body["errors"][0]["message"] == "Harus antara 1 dan 100."


def test_integer_past_64_bits_in_a_body_is_422_naming_the_field(
    client, parepare, parepare_admin
) -> None:
    resp = client.post(
        f"{T}/dtks-proposals",
        json={"person_id": "00000000-0000-0000-0000-000000000000", "desil": 10**30},
        headers=parepare_admin.headers,
    )
    assert resp.status_code == 422, resp.data[:300]


def test_nul_in_the_query_string_is_400(client, parepare, parepare_admin) -> None:
    body = _problem(client.get(f"{T}/persons?name=a%00b", headers=parepare_admin.headers), 400)
    assert "NUL" in body["detail"]


def test_nul_in_a_path_segment_is_400(client, parepare, parepare_admin) -> None:
    _problem(client.get("/api/v1/t/pare%00pare/persons", headers=parepare_admin.headers), 400)
    _problem(client.get(f"{T}/persons/a%00b", headers=parepare_admin.headers), 400)


def test_nul_in_an_uploaded_file_name_is_400(client, parepare, parepare_admin) -> None:
    resp = client.post(
        f"{T}/imports/registry",
        data={"file": (io.BytesIO(b"a;b\n1;2\n"), "data\x00.csv")},
        headers=parepare_admin.headers,
        content_type="multipart/form-data",
    )
    _problem(resp, 400)


def test_nul_in_json_text_is_422_naming_the_field(client, parepare, parepare_admin) -> None:
    resp = client.post(
        f"{T}/households",
        json={"kk_number": "7372010101200099", "address": "Jl.\x00 Lompoe", "village_code": "x"},
        headers=parepare_admin.headers,
    )
    body = _problem(resp, 422)
    assert body["errors"][0]["field"] == "address"
    assert "U+0000" in body["errors"][0]["message"]


def test_too_large_body_says_so_in_indonesian_with_the_limit_in_mb(
    client, parepare, parepare_admin, monkeypatch
) -> None:
    resp = client.post(
        f"{T}/households",
        data=b"x" * (21 * 1024 * 1024),
        headers={**parepare_admin.headers, "Content-Type": "application/json"},
    )
    body = _problem(resp, 413)
    assert body["detail"] == "Berkas atau isi permintaan terlalu besar; batasnya 20 MB."
    assert body["detail_en"] == "The file or request body is too large; the limit is 20 MB."


def test_web_form_with_nul_is_refused_with_a_page_not_500(client, parepare) -> None:
    resp = client.post(
        "/auth/sign-in",
        data={"email": "a\x00@b.id", "password": "x"},
        headers={"Accept": "text/html"},
    )
    assert resp.status_code == 422
    assert resp.mimetype == "text/html"
    assert "email: Berisi karakter kontrol" in resp.get_data(as_text=True)


def test_web_page_number_with_thousands_of_digits_is_the_first_page(app) -> None:
    from slrt.platform.web import requested_page

    for raw, page in (("9" * 5000, 1), ("-3", 1), ("٣", 1), ("7", 7), ("99999999", 10_000)):
        with app.test_request_context(f"/x?page={raw}"):
            assert requested_page() == page, raw


def test_public_page_with_nul_in_its_form_is_422(app, client, parepare) -> None:
    resp = client.post(
        "/t/parepare/cek-tiket",
        data={"ticket_number": "7372\x00", "nik_last4": "0004"},
        headers={"Accept": "text/html"},
    )
    assert resp.status_code == 422


def test_marshmallow_range_message_is_wholly_indonesian() -> None:
    from slrt.platform.errors import _translate

    assert _translate("Must be greater than or equal to 1 and less than or equal to 100.") == (
        "Harus antara 1 dan 100.",
        "Must be greater than or equal to 1 and less than or equal to 100.",
    )
    assert _translate("Must be greater than or equal to 1.")[0] == (
        "Harus lebih besar dari atau sama dengan 1."
    )


def test_valid_request_still_works(client, parepare, parepare_admin) -> None:
    resp = client.get(f"{T}/persons?page=2&page_size=5", headers=parepare_admin.headers)
    assert resp.status_code == 200, api_json(resp)
