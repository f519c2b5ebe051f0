"""Text that people type or upload: the characters refused at every input, the spaces made plain.

- C0 control characters (U+0000 to U+001F) other than tab, line feed and carriage return are
  refused wherever text comes in (API bodies and queries, web forms, imported cells): they are
  invisible, PostgreSQL cannot store NUL, and XML (so XLSX) cannot hold any of them, so one
  stored control character would break every later spreadsheet export of the district.
- Non-breaking and other fixed-width spaces (pasted from web pages, Word or Excel) become plain
  spaces, so a name typed twice is stored the same way twice.

Text stored before the first rule existed may still hold control characters: `visible_controls`
shows them as their Unicode pictures wherever such text is written out (spreadsheet exports).

`slrt.platform.api.Schema` applies the first rule to every string of every request body, query
and form; the spreadsheet validator applies both to every cell; `Text` fields apply the second.
"""

from __future__ import annotations

import re

from slrt.platform.errors import Msg

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# No-break space, figure space, narrow no-break space, zero-width no-break space (a BOM mid-text).
ODD_SPACES = re.compile(r"[\u00a0\u2007\u202f]")
INVISIBLE = re.compile(r"\ufeff")


def control_character_problem(text: str) -> Msg | None:
    """Why `text` is refused (its first control character and where), or None."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    code, position = f"U+{ord(found.group()):04X}", found.start() + 1
    return Msg(
        f"Berisi karakter kontrol yang tidak terlihat ({code}, karakter ke-{position}); hapus "
        f"lalu ketik ulang teksnya.",
        f"Contains an invisible control character ({code}, character {position}); delete it "
        f"and type the text again.",
    )


def plain_spaces(text: str) -> str:
    """No-break and fixed-width spaces as plain spaces, stray byte-order marks removed."""
    return INVISIBLE.sub("", ODD_SPACES.sub(" ", text))


def visible_controls(text: str) -> str:
    """Each control character as its visible Unicode picture (NUL as U+2400, and so on)."""
    if CONTROL_CHARACTERS.search(text) is None:
        return text
    return CONTROL_CHARACTERS.sub(lambda m: chr(0x2400 + ord(m.group())), text)
