"""The message catalogs: one per area that has pages (`<area>/translations/en/...`), plus the
platform's own for the shared layout. Indonesian is the message id; the catalog holds English.

`make messages` (python -m slrt.platform.commands.messages) extracts the text of each area's
templates and code into its catalog, keeps every existing translation and drops what is no
longer used. A new entry has no English until someone writes it; a test fails until then.
Catalogs per area keep engineers working on different areas out of each other's files.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[2]
TOPS = ("platform", "tenants", "auth", "billing_free")
LANGUAGES = ("en",)
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def area_roots() -> list[Path]:
    """Folders with their own catalog: every folder holding templates or translations."""
    roots = {REPO / "platform"}
    for top in TOPS:
        for folder in (REPO / top).rglob("*"):
            if folder.name in ("templates", "translations") and folder.is_dir():
                roots.add(folder.parent)
    return sorted(roots)


def catalog_root(path: Path, roots: list[Path] | None = None) -> Path:
    """The folder whose catalog holds the text of `path`: its nearest area, else the
    platform's."""
    roots = roots or area_roots()
    owners = [root for root in roots if root in path.parents and root != REPO / "platform"]
    return max(owners, key=lambda r: len(r.parts)) if owners else REPO / "platform"


def extracted(root: Path, roots: list[Path]) -> Iterator[tuple[str, Path, int]]:
    """(message id, file, line) of every translatable text owned by `root`."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, METHODS, keywords=KEYWORDS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        path = root / filename
        if catalog_root(path, roots) != root:
            continue  # a sub-area with its own catalog
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                yield msgid, path, lineno


def po_path(root: Path, lang: str) -> Path:
    return root / "translations" / lang / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang)
    with path.open("rb") as source:
        return read_po(source, locale=lang)


def plan() -> tuple[dict[Path, Catalog], list[str]]:
    """The catalogs as they should be (path -> catalog) and the entries without a translation."""
    roots = area_roots()
    planned: dict[Path, Catalog] = {}
    missing = []
    for root in roots:
        ids = sorted({msgid for msgid, _path, _line in extracted(root, roots)})
        for lang in LANGUAGES:
            path = po_path(root, lang)
            if not ids and not path.exists():
                continue
            old = read_catalog(path, lang)
            new = Catalog(locale=lang)
            for msgid in ids:
                previous = old.get(msgid)
                new.add(msgid, previous.string if previous else "")
                if not (previous and previous.string):
                    missing.append(f"{path.relative_to(REPO)}: {msgid}")
            planned[path] = new
    return planned, missing


def render(catalog: Catalog) -> bytes:
    from io import BytesIO

    out = BytesIO()
    write_po(out, catalog, omit_header=True, sort_output=True, no_location=True, width=100)
    return out.getvalue()


def update() -> list[str]:
    """Bring every catalog up to date; return the entries that still lack a translation."""
    planned, missing = plan()
    for path, catalog in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(catalog))
    return missing


def main() -> None:
    missing = update()
    for line in missing:
        print("no English yet:", line)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
