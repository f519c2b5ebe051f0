"""The field app in a real Chromium at phone width, by tapping and typing only: the demo
facilitator of Parepare goes offline, captures three households with their members and two
visits with a photo, reloads the page still offline (the drafts are still there), comes back
online and syncs with the connection cut once mid-sync (the server applied the items, the phone
never heard): the server holds exactly what was captured, and replaying the same sync changes
nothing. A draft for a village outside the facilitator's region is refused with the reason and
stays on the phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant
from slrt.tenants.flow.models import Case, CaseAttachment
from slrt.tenants.registry.models import Household, Person
from tests.browser import horizontal_overflow, screenshot, sign_in
from tests.tenants.flow.test_flow import PNG

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser

FACILITATOR = "fasilitator.parepare@demo.slrt.id"
APP = "/t/parepare/field/"
HOUSEHOLDS = [
    ("7372010505260001", [("7372014506850001", "Hasnah", "Kepala keluarga")]),
    (
        "7372010505260002",
        [
            ("7372011203800002", "Muh. Arif", "Kepala keluarga"),
            ("7372015208820003", "Nurhayati", "Istri"),
        ],
    ),
    (
        "7372010505260003",
        [
            ("7372010101700004", "Andi Baso", "Kepala keluarga"),
            ("7372015006100005", "Rina", "Anak"),
        ],
    ),
]
VISITS = [
    ("7372014506850001", "Pengaduan", "Beras bantuan belum diterima dua bulan"),
    ("7372011203800002", "Permohonan layanan", "Atap rumah bocor, mohon RTLH"),
]


@pytest.fixture
def facilitator(app) -> str:
    """The demo (both districts, their staff and the demo facilitators); the password."""
    from slrt.auth.demo import _password

    with app.app_context():
        load_demo()
        password = _password(FACILITATOR)
        db.session.remove()
    return password


def held(app) -> dict:
    """What Parepare holds of the captured records."""
    kks = [kk for kk, _ in HOUSEHOLDS] + ["7372030505260009"]
    niks = [nik for _, members in HOUSEHOLDS for nik, _, _ in members]
    with app.app_context():
        parepare = db.session.execute(
            sa.select(Tenant).where(Tenant.slug == "parepare")
        ).scalar_one()
        with tenant_context(parepare.ref()):
            households = db.session.execute(
                sa.select(Household.kk_number).where(Household.kk_number.in_(kks))
            ).scalars()
            persons = db.session.execute(
                sa.select(Person.id, Person.nik, Person.name, Person.household_id).where(
                    Person.nik.in_(niks)
                )
            ).all()
            # By the captured persons: descriptions are sealed per person, not searchable.
            cases = db.session.execute(
                sa.select(Case.id, Case.description, Case.channel).where(
                    Case.person_id.in_([p.id for p in persons])
                )
            ).all()
            attachments = db.session.execute(
                sa.select(CaseAttachment.case_id, CaseAttachment.kind).where(
                    CaseAttachment.case_id.in_([c.id for c in cases])
                )
            ).all()
            out = {
                "households": sorted(households),
                "persons": sorted((p.nik, p.name) for p in persons),
                "cases": sorted((c.description, c.channel) for c in cases),
                "attachments": sorted(a.kind for a in attachments),
            }
        db.session.remove()
    return out


def open_app(phone: Page) -> None:
    phone.goto(APP)
    expect(phone.get_by_role("heading", name="Kotak keluar")).to_be_visible()
    expect(phone.locator("#field-app[data-ready]")).to_have_count(1)


def capture_household(
    phone: Page, kk: str, members: list[tuple[str, str, str]], village: str | None = None
) -> None:
    phone.get_by_role("button", name="Keluarga baru").click()
    form = phone.locator("#household-form")
    form.get_by_label("Nomor KK").fill(kk)
    if village:
        form.get_by_label("Kode desa/kelurahan lain").fill(village)
    for i, (nik, name, relation) in enumerate(members):
        if i:
            form.get_by_role("button", name="Tambah anggota").click()
        member = form.get_by_role("group", name=f"Anggota {i + 1}")
        member.get_by_label("NIK").fill(nik)
        expect(member.get_by_text("NIK sah")).to_be_visible()  # checked on the phone, offline
        member.get_by_label("Nama lengkap").fill(name)
        member.get_by_label("Hubungan dalam keluarga").select_option(label=relation)
    form.get_by_role("button", name="Simpan draf keluarga").click()
    expect(phone.get_by_text("Draf tersimpan di perangkat.")).to_be_visible()


def capture_visit(phone: Page, nik: str, kind: str, description: str) -> None:
    phone.get_by_role("button", name="Layanan baru").click()
    form = phone.locator("#intake-form")
    form.get_by_label("NIK warga").fill(nik)
    form.get_by_label("Jenis", exact=True).select_option(label=kind)
    form.get_by_label("Uraian").fill(description)
    form.get_by_label("Jenis foto").select_option(label="KTP")
    form.get_by_label("Foto (boleh kosong)").set_input_files(
        files=[{"name": "ktp.png", "mimeType": "image/png", "buffer": PNG}]
    )
    form.get_by_role("button", name="Simpan draf layanan").click()
    expect(form.get_by_label("Uraian")).to_have_value("")


def age(phone: Page, kk: str, days: float) -> None:
    """Make the draft of household `kk` look `days` old (its creation time is kept beside the
    encrypted draft: it is what erases it)."""
    draft_id = phone.locator("#outbox-list li").filter(has_text=kk).get_attribute("data-id")
    phone.evaluate(
        """([id, days]) => new Promise((done) => {
            const req = indexedDB.open("slrt-field");
            req.onsuccess = () => {
                const store = req.result.transaction("drafts", "readwrite").objectStore("drafts");
                const get = store.get(id);
                get.onsuccess = () => {
                    get.result.created = Date.now() - days * 86400000;
                    store.put(get.result).onsuccess = () => done(true);
                };
            };
        })""",
        [draft_id, days],
    )


def test_capture_offline_then_sync_once(
    app, phone: Page, facilitator: str, tmp_path: Path, monkeypatch
) -> None:
    before = held(app)
    assert before == {"households": [], "persons": [], "cases": [], "attachments": []}
    sign_in(phone, FACILITATOR, facilitator)
    phone.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Aplikasi lapangan"
    ).click()
    expect(phone.locator("#field-app[data-ready]")).to_have_count(1)
    # The service worker keeps the app for offline use.
    assert phone.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    context = phone.context
    context.set_offline(True)
    expect(phone.get_by_text("Tanpa sinyal: draf disimpan di perangkat ini")).to_be_visible()

    # A NIK that cannot be right is caught on the phone, before anything is saved.
    phone.get_by_role("button", name="Keluarga baru").click()
    first = phone.locator("#household-form").get_by_role("group", name="Anggota 1")
    first.get_by_label("NIK").fill("7372019913800001")
    expect(first.get_by_text("Bagian tanggal lahir NIK tidak sah")).to_be_visible()
    first.get_by_label("NIK").fill("")

    for kk, members in HOUSEHOLDS:
        capture_household(phone, kk, members)
    for nik, kind, description in VISITS:
        capture_visit(phone, nik, kind, description)
    expect(phone.get_by_text("5 menunggu dikirim")).to_be_visible()
    outbox = phone.locator("#outbox-list li")
    expect(outbox).to_have_count(5)
    expect(outbox.filter(has_text="Keluarga KK 7372010505260002 · 2 anggota")).to_have_count(1)
    expect(outbox.filter(has_text="Layanan untuk NIK 7372014506850001 · 1 foto")).to_have_count(1)
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "field-offline-outbox")

    # Still offline, the page is opened again: the app (from the service worker's cache) and
    # its drafts are there.
    shell_hits: list[int] = []
    shell = app.view_functions["field_web.app_shell"]
    monkeypatch.setitem(
        app.view_functions,
        "field_web.app_shell",
        lambda *a, **kw: shell_hits.append(1) or shell(*a, **kw),
    )
    reloaded = phone.reload()
    assert reloaded is not None and reloaded.from_service_worker
    assert shell_hits == []  # the server never saw it: the phone is offline
    expect(phone.locator("#field-app[data-ready]")).to_have_count(1)
    expect(phone.get_by_text("5 menunggu dikirim")).to_be_visible()
    assert held(app) == before  # nothing reached the server

    # Back online. The first sync reaches the server but its answer is cut off.
    bodies: list[str] = []
    cut = []

    def cut_once(route) -> None:
        bodies.append(route.request.post_data)
        if not cut:
            cut.append(route.fetch())  # the server applies the items...
            route.abort("connectionreset")  # ...and the phone never hears
        else:
            route.continue_()

    phone.route("**/field/sync", cut_once)
    context.set_offline(False)
    expect(phone.get_by_text("Tersambung")).to_be_visible()
    # Coming back online starts a sync by itself; the cut leaves every item to try again.
    expect(outbox.filter(has_text="Dicoba lagi nanti")).to_have_count(5)
    assert cut and len(bodies) == 1
    phone.get_by_role("button", name="Kirim sekarang").click()
    expect(phone.get_by_text("Tidak ada draf. Semua sudah terkirim.")).to_be_visible()
    assert cut and cut[0].status == 200 and len(bodies) >= 2
    answer = cut[0].json()
    assert [i["status"] for i in answer["items"]] == ["applied"] * 5
    screenshot(phone, tmp_path, "field-synced")

    expected = {
        "households": sorted(kk for kk, _ in HOUSEHOLDS),
        "persons": sorted((nik, name) for _, members in HOUSEHOLDS for nik, name, _ in members),
        "cases": sorted((description, "outreach") for _, _, description in VISITS),
        "attachments": ["ktp", "ktp"],
    }
    assert held(app) == expected

    # The same sync sent again (a second tab, a retry): every item answers as already applied.
    replay = phone.evaluate(
        """async (body) => {
            const device = await new Promise((ok) => {
                const req = indexedDB.open("slrt-field");
                req.onsuccess = () => {
                    const get = req.result.transaction("meta").objectStore("meta").get("device");
                    get.onsuccess = () => ok(get.result);
                };
            });
            const key = await (await fetch("key?device=" + device, {headers: {Accept: "application/json"}})).json();
            const resp = await fetch("sync", {method: "POST", body, headers: {
                "Content-Type": "application/json", Accept: "application/json",
                "X-CSRFToken": key.csrf_token}});
            return await resp.json();
        }""",
        bodies[0],
    )
    assert [(i["status"], i["replayed"]) for i in replay["items"]] == [("applied", True)] * 5
    assert held(app) == expected
    assert json.loads(bodies[0])["items"][0]["captured_at"]


def test_a_village_outside_the_region_is_refused_and_stays(
    app, phone: Page, facilitator: str, tmp_path: Path
) -> None:
    sign_in(phone, FACILITATOR, facilitator)
    open_app(phone)
    # Soreang is in Kecamatan Soreang; the facilitator works in Lompoe only.
    capture_household(
        phone,
        "7372030505260009",
        [("7372030101700009", "Sitti", "Kepala keluarga")],
        "73.72.03.1001",
    )
    phone.get_by_role("button", name="Kirim sekarang").click()
    refused = phone.locator("#outbox-list li").filter(has_text="Keluarga KK 7372030505260009")
    expect(refused.get_by_text("Ditolak")).to_be_visible()
    expect(
        refused.get_by_text("Desa/kelurahan 73.72.03.1001 di luar wilayah tugas Anda.")
    ).to_be_visible()
    expect(phone.get_by_text("1 menunggu dikirim")).to_be_visible()
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "field-refused")
    # The draft stays on the phone for correction (a new page load still has it), and nothing
    # of it reached the server.
    phone.reload()
    expect(phone.locator("#field-app[data-ready]")).to_have_count(1)
    expect(
        phone.locator("#outbox-list li").filter(has_text="Keluarga KK 7372030505260009")
    ).to_have_count(1)
    assert held(app)["households"] == []

    # Corrected on the phone (the family lives in Lompoe after all), it goes through.
    refused.get_by_role("button", name="Perbaiki draf").click()
    form = phone.locator("#household-form")
    expect(form.get_by_label("Nomor KK")).to_have_value("7372030505260009")
    form.get_by_label("Kode desa/kelurahan lain").fill("")
    form.get_by_label("Desa/kelurahan", exact=True).select_option(label="Lompoe (73.72.01.1004)")
    form.get_by_role("button", name="Simpan draf keluarga").click()
    expect(phone.get_by_text("Tidak ada draf. Semua sudah terkirim.")).to_be_visible()
    assert held(app)["households"] == ["7372030505260009"]

    # Another refused draft is still on the phone when the facilitator signs out.
    capture_household(
        phone,
        "7372030505260010",
        [("7372030101700010", "Baso", "Kepala keluarga")],
        "73.72.03.1001",
    )
    expect(phone.get_by_text("Ditolak")).to_be_visible()

    # Unsent for five days of the seven it may wait: a warning; past seven: erased.
    age(phone, "7372030505260010", days=5.5)
    phone.reload()
    expect(
        phone.get_by_text("1 draf akan dihapus dalam 2 hari bila belum terkirim.")
    ).to_be_visible()
    capture_household(
        phone, "7372030505260011", [("7372030101700011", "Ani", "Kepala keluarga")], "73.72.03.1001"
    )
    age(phone, "7372030505260010", days=7.5)
    phone.reload()
    expect(
        phone.get_by_text("1 draf lama dihapus karena tidak terkirim dalam 7 hari.")
    ).to_be_visible()
    expect(phone.locator("#outbox-list li")).to_have_count(1)
    expect(phone.locator("#outbox-list li").filter(has_text="7372030505260011")).to_have_count(1)

    # Signing out warns that an unsent draft will go, then erases the app's data on the phone.
    warnings: list[str] = []

    def answer(dialog) -> None:
        warnings.append(dialog.message)
        dialog.accept()

    phone.on("dialog", answer)
    phone.get_by_role("button", name="Keluar", exact=True).click()
    expect(phone.get_by_role("heading", name="Anda sudah keluar")).to_be_visible()
    assert warnings == ["1 draf belum terkirim dan akan dihapus bila Anda keluar. Tetap keluar?"]
    names = phone.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    assert "slrt-field" not in names
