"""The API matches its own description: schemathesis generates requests for every operation of
the served OpenAPI document and sends them to the app (WSGI, in-process) as one signed-in
account that is both a Kemensos admin and Parepare's district admin, with real data in the
district. Any 5xx, any answer whose status, content type, headers or body the document does not
describe, fails the test. Every API answer must also be `Cache-Control: no-store`.

Bounded for CI: `EXAMPLES` generated requests per operation and mode (valid-looking and invalid
ones), derandomized so every run sends the same requests. Operations that would end the run's
own access (signing the caller out of the district, suspending it) are sent last.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from slrt.platform import db
from tests.fixtures import add_member, flow_catalog, make_account, put_on_plan

pytestmark = pytest.mark.slow

EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Operations whose success takes the caller's own access away: fuzzed after all the others.
LAST = ("/suspend", "/memberships/{membership_id}", "/accounts/{account_id}", "/plan")


def _seed(app, client, parepare, user) -> None:
    """Records with their optional fields empty and filled, so lists show both."""
    from tests.tenants.flow.test_flow import _referred_case

    flow_catalog(app, parepare)
    cast = {
        "ids": flow_catalog(app, parepare),
        "fo": user,
        "bo": user,
        "manager": user,
    }
    _referred_case(client, cast)
    with app.app_context():
        db.session.remove()


def test_every_operation_answers_as_documented(app, client, parepare, kendal) -> None:
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    user = make_account(app, "fuzz@kemensos.go.id", platform_role="kemensos_admin")
    add_member(app, parepare, user, "district_admin")
    _seed(app, client, parepare, user)

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: any(op.path.endswith(tail) for tail in LAST))
    failures: dict[str, list[str]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    first_401: list[str] = []
    refused_valid: list[str] = []
    sending = {"positive": True}
    started = time.monotonic()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sending["positive"] = mode == GenerationMode.POSITIVE
            strategy = operation.as_strategy(mode, path_parameters={"tenant": "parepare"})

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case) -> None:
                response = case.call(headers=user.headers)
                statuses[response.status_code] += 1
                if sending["positive"] and response.status_code == 422:
                    refused_valid.append(response.text)
                label = f"{case.operation.method.upper()} {case.operation.path}"
                cache = response.headers.get("cache-control") or response.headers.get(
                    "Cache-Control"
                )
                if isinstance(cache, list):
                    cache = ", ".join(cache)
                if "no-store" not in (cache or "") and response.status_code != 304:
                    failures[label].append(f"{response.status_code}: Cache-Control {cache!r}")
                if response.status_code == 401 and not first_401:
                    first_401.append(f"{label} {case.path_parameters} {response.text[:300]}")
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # one line per distinct problem
                    found = getattr(exc, "exceptions", None) or [exc]
                    for failure in found:
                        text = [line for line in str(failure).splitlines() if line.strip()]
                        failures[label].append(
                            f"{response.status_code}: " + " | ".join(text[:4])[:400]
                        )

            try:
                run()
            except Unsatisfiable:
                # Nothing invalid can be put in this operation's inputs (e.g. only path
                # parameters that are any non-empty text): no negative case to send.
                if mode != GenerationMode.NEGATIVE:
                    raise
            except Exception as exc:  # a generation problem is a finding too
                failures[f"{operation.method.upper()} {operation.path}"].append(
                    f"generation: {type(exc).__name__}: {exc}"
                )
    elapsed = time.monotonic() - started
    report = "\n".join(
        f"{label}\n    " + "\n    ".join(sorted(set(items))[:5])
        for label, items in sorted(failures.items())
    )
    print(f"{len(operations)} operations, {sum(statuses.values())} requests in {elapsed:.0f} s")
    print(dict(sorted(statuses.items())), "first 401:", first_401)
    # A request valid by the document may still be refused for what no schema can say (a village
    # of another district, nothing to change); never for a rule the document could state.
    undocumented = [text[:300] for text in refused_valid if "control character" in text]
    print(f"{len(refused_valid)} valid-looking requests refused by the district's own rules")
    assert not failures, f"{len(failures)} operations break their description:\n{report}"
    assert undocumented == [], "refused for a control character the document allows"
