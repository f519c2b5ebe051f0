"""Scale-out proof."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_smoke(cluster) -> None:
    s = cluster.session()
    r = s.get(cluster.url + "/api/v1/tenants")
    assert r.status_code == 200, r.text
    print(r.json())
