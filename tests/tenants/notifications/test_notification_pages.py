"""The notifications page: a member's own notifications, newest first, the unread ones marked;
opening one marks it read and leads to what it is about (the referral's page, never an API path);
"mark all read"; another member's notification answers 404."""

from __future__ import annotations

import datetime as dt
import re

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenancy import tenant_context
from tests.tenants.flow.desk import (
    WEB,
    form_post,
    listed,
    refer,
    set_due,
    text,
    web_client,
)

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def escalate(app, parepare) -> None:
    """The hourly escalation job's work, once."""
    from slrt.tenants.flow.escalation import escalate_overdue

    with app.app_context(), tenant_context(parepare.ref()):
        escalate_overdue()
        db.session.commit()
        db.session.remove()


def tell(app, parepare, user, n: int) -> None:
    from slrt.tenants.notifications.actions import notify

    with app.app_context(), tenant_context(parepare.ref()):
        for i in range(n):
            notify([user.account_id], "test", Msg(f"Pesan {i}", f"Message {i}"),
                   Msg("Isi", "Body"), dedup_key=f"test:{i}")  # fmt: skip
        db.session.commit()
        db.session.remove()


def test_an_escalation_opens_on_the_referral_page(app, client, parepare, cast) -> None:
    case = refer(client, cast)
    set_due(app, parepare, case["pbi"]["id"], dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    escalate(app, parepare)
    web = web_client(app, cast["supervisor"])
    page = web.get(f"{WEB}/notifications")
    assert page.status_code == 200
    items = listed(page)
    assert f"Rujukan {case['ticket_number']} melewati tenggat" in items and "Baru" in items
    html = page.get_data(as_text=True)
    assert "/api/" not in html
    assert "1 belum dibaca" in text(page)
    (notification_id,) = re.findall(r"/notifications/([0-9a-f-]{36})/open", html)
    opened = form_post(web, f"{WEB}/notifications/{notification_id}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"{WEB}/referrals/{case['pbi']['id']}"
    referral = web.get(opened.headers["Location"])
    assert referral.status_code == 200 and "Diteruskan ke atasan (eskalasi)" in text(referral)
    after = web.get(f"{WEB}/notifications")
    assert "Baru" not in listed(after) and "0 belum dibaca" in text(after)
    # In English, the English text.
    english = listed(web.get(f"{WEB}/notifications?lang=en"))
    assert f"Referral {case['ticket_number']} is overdue" in english
    assert "melewati" not in english
    # Not the supervisor's notification: the officer of another kecamatan sees nothing, and
    # opening the supervisor's answers 404.
    other = web_client(app, cast["far_supervisor"])
    assert "Belum ada notifikasi." in text(other.get(f"{WEB}/notifications"))
    assert form_post(other, f"{WEB}/notifications/{notification_id}/open").status_code == 404


def test_mark_all_read_and_unread_only(app, parepare, cast) -> None:
    tell(app, parepare, cast["facilitator"], 3)
    web = web_client(app, cast["facilitator"])
    page = listed(web.get(f"{WEB}/notifications"))
    assert page.index("Pesan 2") < page.index("Pesan 1") < page.index("Pesan 0")  # newest first
    html = web.get(f"{WEB}/notifications").get_data(as_text=True)
    first = re.findall(r"/notifications/([0-9a-f-]{36})/open", html)[0]
    opened = form_post(web, f"{WEB}/notifications/{first}/open")
    assert opened.headers["Location"] == f"{WEB}/notifications"  # nothing to open: the list
    unread = listed(web.get(f"{WEB}/notifications?unread=1"))
    assert "Pesan 2" not in unread and "Pesan 1" in unread
    done = form_post(web, f"{WEB}/notifications/read-all")
    assert done.status_code == 302
    after = web.get(done.headers["Location"])
    assert "2 notifikasi ditandai sudah dibaca." in text(after)
    assert "Baru" not in listed(after) and "Tandai semua sudah dibaca" not in text(after)
    assert "Belum ada notifikasi." in text(web.get(f"{WEB}/notifications?unread=1"))
