"""Region scope on every registry, case, referral and proposal operation, generated from the
OpenAPI document: a facilitator of another kelurahan gets, for every record of Lompoe (ids in any
path parameter), exactly what a missing record gets: 404 where the facilitator may do the
operation, and the same 403 for any id where it may not (the permission is checked first). Lists
are empty."""

from __future__ import annotations

import re

from tests.fixtures import flow_catalog, member
from tests.tenants.flow.test_flow import BASE, LOMPOE, SOREANG, _referred_case, post

FLOW_PARAMS = {"household_id", "person_id", "case_id", "referral_id", "batch_id", "proposal_id"}
LISTS = (
    "/households",
    "/persons",
    "/cases",
    "/referrals",
    "/dtks-proposals",
    "/dtks-proposal-batches",
)


def test_out_of_region_everywhere(app, client, parepare) -> None:
    ids = flow_catalog(app, parepare)
    cast = {
        "ids": ids,
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
    }
    case, referral = _referred_case(client, cast)
    proposal = post(client, cast["bo"], "/dtks-proposals", {"person_id": case["person_id"]})
    # Sitti's household is in DTKS after the assessment: a proposal is refused, so propose a
    # neighbour who is not.
    assert proposal.status_code == 409
    other = post(
        client,
        cast["fo"],
        "/persons",
        {"nik": "7372010101900001", "name": "Andi", "village_code": LOMPOE},
    ).json
    proposal = post(client, cast["bo"], "/dtks-proposals", {"person_id": other["id"]}).json
    batch = post(
        client,
        cast["bo"],
        "/dtks-proposal-batches",
        {"village_code": LOMPOE, "meeting_kind": "muskel"},
    ).json
    values = {
        "household_id": case["household_id"]
        or client.get(f"{BASE}/persons/{case['person_id']}", headers=cast["bo"].headers).json[
            "household_id"
        ],
        "person_id": case["person_id"],
        "case_id": case["id"],
        "referral_id": referral["id"],
        "batch_id": batch["id"],
        "proposal_id": proposal["id"],
    }
    outsider = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG])
    spec = client.get("/api/openapi.json").json
    checked, not_found, failures = 0, 0, []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/t/{tenant}/"):
            continue
        params = set(re.findall(r"{([^}]+)}", path)) - {"tenant"}
        if not params & FLOW_PARAMS:
            continue
        url = path.replace("{tenant}", "parepare")
        for name in params:
            url = url.replace(
                "{" + name + "}", values.get(name, "00000000-0000-0000-0000-000000000000")
            )
        missing = re.sub(r"[0-9a-f-]{36}", "00000000-0000-0000-0000-000000000000", url)
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            kwargs = {"headers": {**outsider.headers, "If-Match": '"x"'}}
            if method != "get":
                kwargs["json"] = {}
            resp = getattr(client, method)(url, **kwargs)
            like_missing = getattr(client, method)(missing, **kwargs)
            checked += 1
            refused = resp.status_code
            if refused not in (403, 404) or refused != like_missing.status_code:
                failures.append(
                    f"{method.upper()} {path}: {refused} (missing: {like_missing.status_code})"
                )
            not_found += refused == 404
    assert failures == []
    assert checked >= 25 and not_found >= 15
    for url in LISTS:
        resp = client.get(BASE + url, headers=outsider.headers)
        assert resp.status_code == 200 and resp.json == [], url
