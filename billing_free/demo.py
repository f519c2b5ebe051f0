"""Demo step: every demo district is on the default plan (by onboarding); take the first usage
readings so statements and the national summary have something to show at once."""

from __future__ import annotations

from slrt.billing_free import meter


def demo_usage() -> list[str]:
    meter.flush_gauges()
    return [
        "Plans (all Rp 0): both districts are on 'Lokus Kemensos'; e.g. "
        '`slrt plans assign parepare uji-coba --reason "uji coba"`, then '
        "GET /api/v1/t/parepare/statements/<YYYY-MM>",
    ]
