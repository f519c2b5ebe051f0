"""Words point at the code: no comment, docstring, test or document in the repository refers to
a tracker's issue number or to a document outside the repository (a reader has neither)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\bissues?\s*#?\d+|\(issue\)|DESIGN\.md|\.\./shared/", re.IGNORECASE)
TEXT = {
    ".py",
    ".html",
    ".md",
    ".toml",
    ".cfg",
    ".ini",
    ".conf",
    ".yaml",
    ".yml",
    ".sh",
    ".js",
    ".css",
}


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [
        ROOT / name
        for name in filter(None, names.split("\0"))
        if Path(name).suffix in TEXT or Path(name).name == "Makefile"
    ]


def test_nothing_cites_an_issue_number_or_an_outside_document() -> None:
    here = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
        for path in tracked_text_files()
        if path.resolve() != here and path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_the_check_finds_a_citation() -> None:
    # Planted from parts, so this file holds no citation of its own.
    assert OUTSIDE.search("# see " + "issue" + " 14, item 2")
    assert OUTSIDE.search('"""As ' + "DESIGN" + '.md says."""')
    assert not OUTSIDE.search("letters issued on 2026-01-01")
