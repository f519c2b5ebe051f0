"""Indonesian first, English second, one language per page, times in the district's zone.

Every page text is in a catalog with its English; a template holding text outside the
catalogs (a word typed straight into the HTML) fails here, whichever area it belongs to."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from slrt.platform.commands.messages import REPO, TOPS, plan, render
from slrt.platform.region_codes import WIB, WIT, WITA, province_zone

# Words that are the same in both languages: names, acronyms and the language switch itself.
UNTRANSLATED = {
    "SLRT",
    "NIK",
    "KK",
    "KTP",
    "SKTM",
    "QR",
    "PDF",
    "CSV",
    "XLSX",
    "API",
    "JSON",
    "OPD",
    "DTKS",
    "DTSEN",
    "SIKS",
    "NG",
    "WIB",
    "WITA",
    "WIT",
    "Rp",
    "English",
    "Bahasa",
    "Indonesia",
}
TRANSLATABLE_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "label"}
EXPRESSION = "\x00"


class _Text(HTMLParser):
    """The words a person would read: text nodes and the attributes that are read aloud."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in TRANSLATABLE_ATTRIBUTES and value:
                self._take(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._take(data)

    def _take(self, text: str) -> None:
        self.words += re.findall(r"[^\W\d_]{2,}", text.replace(EXPRESSION, " "))


def literal_words(source: str) -> list[str]:
    """Words typed into a template outside any {{ }} or {% %} (those are code)."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # lexing only
    html = []
    for _line, kind, value in env.lex(source):
        html.append(value if kind == "data" else EXPRESSION)
    parser = _Text()
    parser.feed("".join(html))
    return [w for w in parser.words if w not in UNTRANSLATED]


def templates() -> list[Path]:
    return sorted(
        path
        for top in TOPS
        for path in (REPO / top).rglob("templates/**/*.html")
        if "__pycache__" not in path.parts
    )


@pytest.mark.parametrize("template", templates(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_templates_hold_no_text_outside_the_catalog(template: Path) -> None:
    assert literal_words(template.read_text()) == []


def test_the_text_check_finds_a_word_typed_into_a_template() -> None:
    planted = '<p title="Tutup">{{ _("Simpan") }} Batal <b>{{ name }}</b></p><script>x=1</script>'
    assert literal_words(planted) == ["Tutup", "Batal"]


def test_every_message_has_its_english_and_every_catalog_is_up_to_date() -> None:
    planned, missing = plan()
    assert missing == [], "entries without English (run make messages, then translate)"
    stale = [
        str(path.relative_to(REPO))
        for path, catalog in planned.items()
        if not path.exists() or path.read_bytes() != render(catalog)
    ]
    assert stale == [], "catalogs out of date with the code: run make messages"


def differing_translations(catalogs: dict) -> dict[str, set[str]]:
    """Message ids given different English by different catalogs."""
    english: dict[str, set[str]] = {}
    for catalog in catalogs.values():
        for message in catalog:
            if message.id and message.string:
                english.setdefault(str(message.id), set()).add(str(message.string))
    return {msgid: texts for msgid, texts in english.items() if len(texts) > 1}


def test_one_message_id_has_one_english_across_the_catalogs() -> None:
    """The areas' catalogs are merged into one at run time, where the last one read wins: the
    same Indonesian given two English texts would show the wrong one on some page. A word that
    means two things takes two ids (e.g. "Sebelumnya" on the pager, "Semula" for a value)."""
    planned, _ = plan()
    assert differing_translations(planned) == {}


def test_the_differing_check_finds_two_english_texts() -> None:
    from babel.messages.catalog import Catalog

    first, second = Catalog(locale="en"), Catalog(locale="en")
    first.add("Pilih %(name)s", "Choose %(name)s")
    second.add("Pilih %(name)s", "Select %(name)s")
    assert differing_translations({1: first, 2: second}) == {
        "Pilih %(name)s": {"Choose %(name)s", "Select %(name)s"}
    }


def test_a_page_speaks_one_language_at_a_time(client) -> None:
    indonesian = client.get("/").get_data(as_text=True)
    assert "Satu pintu layanan sosial" in indonesian and "One door" not in indonesian
    assert '<html lang="id">' in indonesian
    english = client.get("/?lang=en")
    text = english.get_data(as_text=True)
    assert "One door for social services" in text and "Satu pintu" not in text
    assert '<html lang="en">' in text
    assert "lang=en" in english.headers["Set-Cookie"]
    # The choice is kept for the next pages (the cookie) until switched back.
    again = client.get("/auth/sign-in").get_data(as_text=True)
    assert "Password" in again and "Kata sandi" not in again
    back = client.get("/auth/sign-in?lang=id").get_data(as_text=True)
    assert "Kata sandi" in back and "Password" not in back


def test_errors_show_in_the_page_language(client) -> None:
    html = {"Accept": "text/html"}
    indonesian = client.get("/t/nowhere/cek-tiket", headers=html)
    assert indonesian.status_code == 404
    assert "Tidak ditemukan" in indonesian.text and "Not found" not in indonesian.text
    english = client.get("/t/nowhere/cek-tiket?lang=en", headers=html).text
    assert "Not found" in english and "District not found." in english
    assert "Tidak ditemukan" not in english


@pytest.mark.parametrize(
    ("province", "zone"),
    [
        ("33", WIB),
        ("61", WIB),
        ("62", WIB),
        ("73", WITA),
        ("51", WITA),
        ("64", WITA),
        ("81", WIT),
        ("91", WIT),
        ("96", WIT),
    ],
)
def test_each_province_has_its_zone(province: str, zone: str) -> None:
    assert province_zone(province) == zone


def test_times_show_in_the_district_zone(app, parepare, kendal) -> None:
    from slrt.platform.i18n import day, when
    from slrt.platform.tenancy import tenant_context

    instant = dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC)  # 00:30 the next day in WITA
    with app.test_request_context("/"):
        with tenant_context(parepare.ref()):
            assert when(instant) == "2 Des 2026 00.30 WITA"
            assert day(instant) == "2 Desember 2026"
        with tenant_context(kendal.ref()):
            assert when(instant) == "1 Des 2026 23.30 WIB"
    with app.test_request_context("/?lang=en"), tenant_context(parepare.ref()):
        assert when(instant).endswith("WITA") and "Dec" in when(instant)


def test_a_district_may_set_its_own_zone(app, parepare) -> None:
    from slrt.platform import db
    from slrt.platform.tenant import Tenant

    with app.app_context():
        tenant = db.session.get(Tenant, parepare.id)
        assert tenant.zone == WITA
        tenant.settings = {**tenant.settings, "timezone": WIT}
        assert tenant.ref().zone == WIT


def test_today_for_long_loops_turns_at_the_districts_midnight(monkeypatch) -> None:
    """`Today` reads the clock once a minute, and the district's day still begins on time."""
    import datetime as dt
    import time

    from slrt.platform.i18n import Today

    # 23:59:30 and 00:00:00 in Makassar (WITA, UTC+8) on the night of 1 to 2 December 2026.
    before = dt.datetime(2026, 12, 1, 15, 59, 30, tzinfo=dt.UTC).timestamp()
    now = [before]
    monkeypatch.setattr(time, "time", lambda: now[0])
    today = Today("Asia/Makassar")
    assert today() == dt.date(2026, 12, 1)
    now[0] = before + 29  # still the same minute: the date is kept, not read again
    assert today() == dt.date(2026, 12, 1)
    now[0] = before + 30  # midnight in Makassar, 16:00 UTC
    assert today() == dt.date(2026, 12, 2)
    assert Today("Asia/Jakarta")() == dt.date(2026, 12, 1)  # 23:00 in Jakarta (WIB)
