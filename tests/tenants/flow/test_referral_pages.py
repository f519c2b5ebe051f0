"""The agency inbox and the referral page in a signed-in browser session (test client): each
officer sees only their agency's referrals, answers them in one form post each (receive, accept,
reject with a reason, fulfil with the outcome) through the same state machine as the API, and a
refused step says in words which steps remain."""

from __future__ import annotations

import datetime as dt

from tests.tenants.flow.desk import (
    WEB,
    answer,
    listed,
    refer,
    set_due,
    text,
    web_client,
)
from tests.tenants.flow.test_flow import get

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def test_officer_receives_accepts_and_fulfils_from_the_inbox(app, client, cast) -> None:
    case = refer(client, cast)
    pbi, bpnt = case["pbi"], case["bpnt"]
    web = web_client(app, cast["dinkes"])
    inbox = web.get(f"{WEB}/referrals")
    assert inbox.status_code == 200
    page = text(inbox)
    assert case["ticket_number"] in page and "PBI-JK" in page
    assert "BPNT" not in page  # Dinas Sosial's referral is not in Dinas Kesehatan's inbox
    assert "Lompoe" in page and "14 hari lagi" in page
    html = inbox.get_data(as_text=True)
    assert f"/referrals/{pbi['id']}/respond" in html and 'value="receive"' in html
    assert 'value="accept"' not in html  # a sent referral is received first

    # One tap: received; the form brings the officer back to the list it came from.
    back = f"{WEB}/referrals?show=new"
    done = answer(web, pbi["id"], "receive", next=back)
    assert done.status_code == 302 and done.headers["Location"] == back
    after = web.get(back)
    assert f"Rujukan {case['ticket_number']} ditandai sudah diterima." in text(after)
    assert case["ticket_number"] not in listed(after)  # no longer new
    assert answer(web, pbi["id"], "accept").status_code == 302
    # Fulfilling needs the outcome: the referral page comes back with the problem beside it.
    empty = answer(web, pbi["id"], "fulfil", outcome="  ")
    assert empty.status_code == 422
    assert "Wajib diisi" in text(empty) and 'aria-invalid="true"' in empty.get_data(as_text=True)
    done = answer(web, pbi["id"], "fulfil", outcome="Terdaftar PBI-JK, kartu KIS terbit")
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/referrals/{pbi['id']}")
    shown = web.get(done.headers["Location"])
    page = text(shown)
    assert "Layanan sudah diberikan" in page and "Terdaftar PBI-JK, kartu KIS terbit" in page
    # The same record the API shows.
    api = get(client, cast["dinkes"], f"/referrals/{pbi['id']}").json
    assert api["status"] == "fulfilled" and api["outcome"] == "Terdaftar PBI-JK, kartu KIS terbit"
    assert bpnt["status"] == "sent"


def test_referral_page_shows_person_letter_and_history(app, client, cast) -> None:
    case = refer(client, cast)
    pbi = case["pbi"]
    web = web_client(app, cast["dinkes"])
    answer(web, pbi["id"], "receive")
    resp = web.get(f"{WEB}/referrals/{pbi['id']}")
    assert resp.status_code == 200
    page = text(resp)
    letter = get(client, cast["dinkes"], f"/referrals/{pbi['id']}/letter").json
    assert "Sitti Aminah" in page and "7372014101800007" in page
    assert letter["number"] in page
    assert f'href="{letter["verification_url"]}"' in resp.get_data(as_text=True)
    assert "Kesehatan: Belum punya BPJS" in page
    # History: sent (by the manager), then received (by the officer), in the district's zone.
    trail = page.split("Riwayat rujukan", 1)[1]
    assert trail.index("Terkirim ke OPD") < trail.index("Diterima OPD")
    assert "WITA" in trail
    # English page: one language.
    english = text(web.get(f"{WEB}/referrals/{pbi['id']}?lang=en"))
    assert "Referral history" in english and "Riwayat rujukan" not in english
    assert "Health: Belum punya BPJS" in english


def test_a_refused_step_names_the_next_steps_in_words(app, client, cast) -> None:
    case = refer(client, cast)
    web = web_client(app, cast["dinkes"])
    refused = answer(web, case["pbi"]["id"], "accept")
    assert refused.status_code == 409
    page = text(refused)
    assert "Rujukan ini berstatus “Terkirim ke OPD”" in page
    assert "Langkah berikutnya: Tandai sudah diterima." in page
    assert "'accept'" not in page and "receive" not in page
    # Nothing changed.
    assert get(client, cast["dinkes"], f"/referrals/{case['pbi']['id']}").json["status"] == "sent"
    # Fulfilled: nothing left to do, said so.
    answer(web, case["pbi"]["id"], "receive")
    answer(web, case["pbi"]["id"], "accept")
    answer(web, case["pbi"]["id"], "fulfil", outcome="Selesai")
    again = answer(web, case["pbi"]["id"], "receive")
    assert again.status_code == 409
    assert "tidak ada langkah berikutnya" in text(again)
    # Not one of the agency's answers: refused before anything.
    assert answer(web, case["pbi"]["id"], "send").status_code == 400


def test_reject_needs_a_reason_and_keeps_it(app, client, cast) -> None:
    case = refer(client, cast)
    bpnt = case["bpnt"]
    web = web_client(app, cast["dinsos"])
    assert case["ticket_number"] in text(web.get(f"{WEB}/referrals"))
    answer(web, bpnt["id"], "receive")
    page = web.get(f"{WEB}/referrals").get_data(as_text=True)
    assert f'id="reason-{bpnt["id"]}"' in page and "<summary>Tolak rujukan…</summary>" in page
    missing = answer(web, bpnt["id"], "reject")
    assert missing.status_code == 422
    assert "Wajib diisi" in text(missing) and '<details class="answer" open>' in (
        missing.get_data(as_text=True)
    )
    reason = "Sudah menerima BPNT dari desa lain"
    done = answer(web, bpnt["id"], "reject", reason=reason)
    assert done.status_code == 302
    shown = text(web.get(f"{WEB}/referrals/{bpnt['id']}"))
    assert "Ditolak OPD" in shown and reason in shown
    assert (
        get(client, cast["dinsos"], f"/referrals/{bpnt['id']}").json["rejection_reason"] == reason
    )


def test_another_agencys_officer_gets_404(app, client, cast) -> None:
    case = refer(client, cast)
    web = web_client(app, cast["dinsos"])
    pbi = case["pbi"]["id"]
    assert web.get(f"{WEB}/referrals/{pbi}").status_code == 404
    assert answer(web, pbi, "receive").status_code == 404
    assert get(client, cast["dinkes"], f"/referrals/{pbi}").json["status"] == "sent"
    # A facilitator may read referrals of their village but not answer them.
    facilitator = web_client(app, cast["facilitator"])
    assert facilitator.get(f"{WEB}/referrals/{pbi}").status_code == 200
    assert facilitator.get(f"{WEB}/referrals").status_code == 403
    assert answer(facilitator, pbi, "receive").status_code == 403
    outsider = web_client(app, cast["outsider"])
    assert outsider.get(f"{WEB}/referrals/{pbi}").status_code == 404


def test_inbox_filters_and_overdue_first(app, client, parepare, cast) -> None:
    first = refer(client, cast)
    second = refer(client, cast)
    now = dt.datetime.now(dt.UTC)
    set_due(app, parepare, first["pbi"]["id"], now - dt.timedelta(days=3))
    set_due(app, parepare, second["pbi"]["id"], now + dt.timedelta(days=20))
    web = web_client(app, cast["dinkes"])
    overdue = web.get(f"{WEB}/referrals?show=overdue")
    page = text(overdue)
    assert first["ticket_number"] in page and second["ticket_number"] not in page
    assert "Terlambat 3 hari" in page
    assert 'class="card overdue"' in overdue.get_data(as_text=True)
    # The open list: the overdue one first (oldest deadline first).
    page = text(web.get(f"{WEB}/referrals"))
    assert page.index(first["ticket_number"]) < page.index(second["ticket_number"])
    assert "Terlambat 1" in page  # the tab's count
    assert second["ticket_number"] not in text(web.get(f"{WEB}/referrals?show=due"))
    set_due(app, parepare, second["pbi"]["id"], now + dt.timedelta(days=2))
    due = text(web.get(f"{WEB}/referrals?show=due"))
    assert second["ticket_number"] in due and first["ticket_number"] not in due
    # By program and by village.
    pbi_program = str(cast["ids"]["pbi"])
    assert first["ticket_number"] in text(web.get(f"{WEB}/referrals?program={pbi_program}"))
    other = str(cast["ids"]["bpnt"])
    assert first["ticket_number"] not in text(web.get(f"{WEB}/referrals?program={other}"))
    assert first["ticket_number"] in text(web.get(f"{WEB}/referrals?village=73.72.01.1004"))
    assert "Tidak ada rujukan di sini." in text(web.get(f"{WEB}/referrals?village=73.72.03.1001"))
    # Answered ones leave the open list for "done".
    answer(web, second["pbi"]["id"], "receive")
    answer(web, second["pbi"]["id"], "accept")
    answer(web, second["pbi"]["id"], "fulfil", outcome="KIS terbit")
    assert second["ticket_number"] not in listed(web.get(f"{WEB}/referrals"))
    assert second["ticket_number"] in listed(web.get(f"{WEB}/referrals?show=done"))


def test_overdue_pages_by_region(app, client, parepare, cast) -> None:
    case = refer(client, cast)
    now = dt.datetime.now(dt.UTC)
    set_due(app, parepare, case["pbi"]["id"], now - dt.timedelta(days=2))
    for who in ("supervisor", "facilitator"):
        web = web_client(app, cast[who])
        resp = web.get(f"{WEB}/referrals/overdue")
        assert resp.status_code == 200, who
        page = text(resp)
        assert "Lompoe" in page and "Dinas Kesehatan" in page
        assert case["ticket_number"] in page and "Terlambat 2 hari" in page
        assert "BPNT" not in page  # not overdue
        by_agency = web.get(f"{WEB}/referrals/overdue?agency={cast['ids']['dinsos']}")
        assert case["ticket_number"] not in text(by_agency)
    for who in ("far_supervisor", "outsider"):
        page = text(web_client(app, cast[who]).get(f"{WEB}/referrals/overdue"))
        assert "Tidak ada rujukan terlambat" in page and case["ticket_number"] not in page
