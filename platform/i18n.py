"""Language and time for people: Bahasa Indonesia first, English second, one language per page;
dates and times in the district's own zone (WIB, WITA or WIT).

- Page text goes through Flask-Babel catalogs (`_()` in templates and code); the Indonesian
  text is the message id and each area's `translations/en` holds the English (one catalog per
  area: see `commands/messages.py`). `make messages` extracts new text; a test fails on template
  text outside the catalogs or a message without English.
- A `Msg` (the bilingual messages of errors and rules, shared with the API's problem+json) shows
  in the page's language through the `msg` filter.
- The language is the visitor's explicit choice (`?lang=`, kept in the `lang` cookie), else
  Indonesian: a phone set to English is no sign its owner reads English better.
- Each district lives in its province's zone (overridable in its settings); the `when` and
  `day` filters show instants in the zone of the district being viewed.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale

from slrt.platform.region_codes import WIB, ZONE_LABELS

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def chosen_language() -> str | None:
    """The visitor's explicit choice of language, if any."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else None


def language() -> str:
    """The language of the current page."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def _select_locale() -> str:
    return chosen_language() or DEFAULT_LANGUAGE


def current_zone() -> str:
    """The zone of the district in context (WIB outside any district)."""
    from slrt.platform.tenancy import current_tenant_or_none

    tenant = current_tenant_or_none()
    return tenant.zone if tenant is not None else WIB


def text_of(message: Any) -> str:
    """A bilingual `Msg` in the page's language (anything else unchanged)."""
    en = getattr(message, "en", None)
    if en is not None and language() == "en":
        return en
    return "" if message is None else str(message)


def number(value: int | None) -> str:
    """A count as people write it (1.234 in Indonesian, 1,234 in English); "-" for none."""
    if value is None:
        return "-"
    text = f"{value:,}"
    return text if language() == "en" else text.replace(",", ".")


def when(value: dt.datetime | None, zone: str | None = None) -> str:
    """An instant as people in the district read it: "1 Des 2026 14.05 WITA"."""
    if value is None:
        return ""
    zone = zone or current_zone()
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    text = format_datetime(value, "d MMM y HH.mm", tzinfo=ZoneInfo(zone), locale=language())
    return f"{text} {ZONE_LABELS.get(zone, '')}".strip()


def day(value: dt.date | dt.datetime | None, zone: str | None = None) -> str:
    """A calendar day in the district's zone: "1 Desember 2026"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(ZoneInfo(zone or current_zone())).date()
    return format_date(value, "d MMMM y", locale=language())


def local_today(zone: str | None = None) -> dt.date:
    """Today's date in the district's zone (a "day" is the district's own, not UTC's)."""
    return dt.datetime.now(ZoneInfo(zone or current_zone())).date()


class Today:
    """`local_today()` for a loop over many rows (an import): the zone is looked up once, the
    date once a minute. Exact, since a day begins on a whole minute in every zone."""

    def __init__(self, zone: str | None = None) -> None:
        self._zone = ZoneInfo(zone or current_zone())
        self._minute = -1.0
        self._day = dt.date.min

    def __call__(self) -> dt.date:
        now = time.time()
        if now // 60 != self._minute:
            self._minute = now // 60
            self._day = dt.datetime.fromtimestamp(now, self._zone).date()
        return self._day


def local_date(moment: dt.datetime, zone: str | None = None) -> dt.date:
    """The district's calendar day of an instant (naive instants are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(zone or current_zone())).date()


def local_midnight(day: dt.date, zone: str | None = None) -> dt.datetime:
    """The instant a district's calendar day begins: where its "day" and "month" start."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(zone or current_zone()))


def zone_label(zone: str | None = None) -> str:
    """WIB, WITA or WIT."""
    zone = zone or current_zone()
    return ZONE_LABELS.get(zone, zone)


def lang_url(lang: str) -> str:
    """This page in another language (the switch keeps every other query argument)."""
    from urllib.parse import urlencode

    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def catalog_dirs() -> list[Path]:
    """Every `translations` folder of the tree: the platform's and one per area with pages."""
    root = Path(__file__).resolve().parents[1]
    return sorted(
        folder
        for top in ("platform", "tenants", "auth", "billing_free")
        for folder in (root / top).rglob("translations")
        if folder.is_dir()
    )


def compile_catalogs(folders: list[Path] | None = None) -> None:
    """Compile each messages.po into the messages.mo gettext reads, when the .mo is missing or
    older (a checkout holds only the .po; a wheel is built with its .mo)."""
    for folder in catalog_dirs() if folders is None else folders:
        for po in folder.glob("*/LC_MESSAGES/messages.po"):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source)
            fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                write_mo(out, catalog)
            os.replace(tmp, mo)  # several worker processes may start at once


def init_i18n(app: Flask) -> None:
    folders = catalog_dirs()
    compile_catalogs(folders)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(map(str, folders)))
    Babel(app, locale_selector=_select_locale)
    app.jinja_env.filters.update(msg=text_of, when=when, day=day)
    app.jinja_env.globals.update(lang_url=lang_url, language=language)

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {"lang": language(), "zone_label": ZONE_LABELS.get(current_zone(), "")}

    @app.after_request
    def _remember_language(response):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get("lang") != chosen:
            response.set_cookie(
                "lang",
                chosen,
                max_age=365 * 86400,
                httponly=True,
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
        return response
