"""Every permission has its name in words, in both languages; a refusal names it in words on a
page and keeps the key for programs in the API's problem+json."""

from __future__ import annotations

from slrt.auth.permissions import PERMISSION_LABELS, PP, P
from tests.fixtures import member


def test_every_permission_has_words_in_both_languages() -> None:
    assert set(PERMISSION_LABELS) == {str(p) for p in P} | {str(p) for p in PP}
    for key, words in PERMISSION_LABELS.items():
        assert words.strip() and words.en.strip(), key
        assert key not in words and key not in words.en, key
    assert len({str(w) for w in PERMISSION_LABELS.values()}) == len(PERMISSION_LABELS)


def test_a_refusal_names_the_permission_in_words(app, client, parepare) -> None:
    facilitator = member(app, parepare, "facilitator")
    resp = client.get("/api/v1/t/parepare/audit-events", headers=facilitator.headers)
    assert resp.status_code == 403 and resp.json["missing_permission"] == "audit.read"
    assert "Melihat jejak audit" in resp.json["detail"]
    assert "View the audit trail" in resp.json["detail_en"]
