"""Follow-up and closure by the facilitator in a signed-in browser session: the cases of their
villages whose referrals are all answered, the follow-up note, the closure as resolved or not,
through the same actions and state machine as the API; another village's facilitator gets 404."""

from __future__ import annotations

from tests.tenants.flow.desk import (
    WEB,
    answer,
    form_post,
    listed,
    refer,
    text,
    web_client,
)
from tests.tenants.flow.test_flow import get

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def answered(app, client, cast) -> dict:
    """A referred case whose two referrals are answered: PBI-JK fulfilled, BPNT rejected."""
    case = refer(client, cast)
    dinkes, dinsos = web_client(app, cast["dinkes"]), web_client(app, cast["dinsos"])
    for action, extra in (("receive", {}), ("accept", {}), ("fulfil", {"outcome": "KIS terbit"})):
        assert answer(dinkes, case["pbi"]["id"], action, **extra).status_code == 302
    answer(dinsos, case["bpnt"]["id"], "receive")
    answer(dinsos, case["bpnt"]["id"], "reject", reason="Sudah menerima BPNT")
    return case


def test_facilitator_follows_up_and_closes(app, client, cast) -> None:
    waiting = refer(client, cast)  # referrals still open: not yet to follow up
    case = answered(app, client, cast)
    web = web_client(app, cast["facilitator"])
    listing = web.get(f"{WEB}/follow-up")
    assert listing.status_code == 200
    items = listed(listing)
    assert case["ticket_number"] in items and waiting["ticket_number"] not in items
    assert "Sitti Aminah" in items and "Layanan sudah diberikan" in items and "Ditolak OPD" in items
    url = f"{WEB}/follow-up/{case['id']}"
    page = web.get(url)
    assert page.status_code == 200
    shown = text(page)
    assert "Layanan: KIS terbit" in shown and "Alasan penolakan: Sudah menerima BPNT" in shown
    assert "Tutup kasus" not in shown.split("Jawaban OPD", 1)[1].split("Riwayat kasus")[0]
    # The note is required.
    empty = form_post(web, url, {"note": ""})
    assert empty.status_code == 422 and "Wajib diisi" in text(empty)
    done = form_post(web, url, {"note": "Ibu Sitti sudah menerima kartu KIS."})
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    page = text(web.get(url))
    assert f"Tindak lanjut kasus {case['ticket_number']} tercatat." in page
    assert "Ibu Sitti sudah menerima kartu KIS." in page
    assert "Tindak lanjut oleh fasilitator" in page
    # Close: the resolution is required, then the case is closed and leaves the list.
    missing = form_post(web, f"{url}/close", {"note": "x"})
    assert missing.status_code == 422 and "Wajib diisi" in text(missing)
    closed = form_post(
        web, f"{url}/close", {"resolution": "resolved", "note": "Kebutuhan terpenuhi"}
    )
    assert closed.status_code == 302 and closed.headers["Location"].endswith("/follow-up")
    after = web.get(f"{WEB}/follow-up")
    assert f"Kasus {case['ticket_number']} ditutup" in text(after)
    assert case["ticket_number"] not in listed(after)
    api = get(client, cast["facilitator"], f"/cases/{case['id']}").json
    assert api["status"] == "closed" and api["resolution"] == "resolved"
    # Closed: the page says there is nothing left, in words.
    again = form_post(web, f"{url}/close", {"resolution": "unresolved"})
    assert again.status_code == 409
    assert "Kasus ini berstatus “Selesai”" in text(again) and "'close'" not in text(again)


def test_follow_up_waits_for_every_referral(app, client, cast) -> None:
    case = refer(client, cast)
    web = web_client(app, cast["facilitator"])
    url = f"{WEB}/follow-up/{case['id']}"
    page = text(web.get(url))
    assert "Tindak lanjut dimulai setelah semua rujukan dijawab OPD." in page
    assert "Simpan tindak lanjut" not in page
    refused = form_post(web, url, {"note": "Terlalu cepat"})
    assert refused.status_code == 409
    assert "Masih ada 2 rujukan yang belum selesai" in text(refused)
    # Closing straight away is not a step from "referred": the next step is named.
    close = form_post(web, f"{url}/close", {"resolution": "resolved"})
    assert close.status_code == 409 and "Langkah berikutnya: Catat tindak lanjut." in text(close)
    assert get(client, cast["facilitator"], f"/cases/{case['id']}").json["status"] == "referred"


def test_other_village_and_other_roles(app, client, cast) -> None:
    case = answered(app, client, cast)
    url = f"{WEB}/follow-up/{case['id']}"
    outsider = web_client(app, cast["outsider"])
    assert outsider.get(url).status_code == 404
    assert form_post(outsider, url, {"note": "x"}).status_code == 404
    assert form_post(outsider, f"{url}/close", {"resolution": "resolved"}).status_code == 404
    assert case["ticket_number"] not in listed(outsider.get(f"{WEB}/follow-up"))
    # An agency officer has no follow-up page (403, the permission named in words).
    officer = web_client(app, cast["dinkes"])
    refused = officer.get(f"{WEB}/follow-up", headers={"Accept": "text/html"})
    assert refused.status_code == 403
    assert "Anda tidak memiliki izin 'Menindaklanjuti kasus'." in text(refused)
    assert "cases.follow_up" not in refused.get_data(as_text=True)
    # The supervisor of the kecamatan follows up but may not close.
    supervisor = web_client(app, cast["supervisor"])
    assert case["ticket_number"] in listed(supervisor.get(f"{WEB}/follow-up"))
    assert form_post(supervisor, url, {"note": "Dicek supervisor"}).status_code == 302
    page = text(supervisor.get(url))
    assert "Hasil akhir" not in page
    assert form_post(supervisor, f"{url}/close", {"resolution": "resolved"}).status_code == 403
