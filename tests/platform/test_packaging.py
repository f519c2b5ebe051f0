"""The wheel carries the whole tree: every package and sub-package under the import root `slrt`,
every template, static and data file, and the migrations. A new area package or template folder
is found by setup.py without being listed; this builds the real wheel and compares it with the
tree, so anything left out fails here rather than on a production server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOTS = {
    "platform": "slrt/platform",
    "tenants": "slrt/tenants",
    "auth": "slrt/auth",
    "billing_free": "slrt/billing_free",
    "migrations": "slrt/migrations",
}
DATA_FOLDERS = ("templates", "static", "data", "translations", "versions")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # Built from a copy of what git would check out: a build/ folder left in the working tree
    # would otherwise lend the wheel files that the package list forgot.
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=source,
    )
    (wheel,) = out.glob("slrt-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def tree_files() -> set[str]:
    """What the wheel must hold: every module of the tree and every file in a data folder."""
    wanted = set()
    for folder, target in ROOTS.items():
        for path in (ROOT / folder).rglob("*"):
            rel = path.relative_to(ROOT / folder)
            if not path.is_file() or "__pycache__" in rel.parts or path.suffix == ".pyc":
                continue
            in_data = any(part in DATA_FOLDERS for part in rel.parts[:-1])
            if path.suffix == ".py" or in_data or path.suffix == ".mako":
                wanted.add(f"{target}/{rel.as_posix()}")
    return wanted


def test_the_wheel_holds_every_module_template_and_data_file(wheel_names: set[str]) -> None:
    missing = sorted(tree_files() - wheel_names)
    assert missing == [], f"left out of the wheel: {missing[:20]}"


def test_the_wheel_has_the_area_packages_and_no_top_level_shadows(wheel_names: set[str]) -> None:
    assert "slrt/tenants/flow/actions.py" in wheel_names
    assert "slrt/platform/jobs/runner.py" in wheel_names
    assert any(n.startswith("slrt/tenants/flow/templates/") for n in wheel_names)
    assert "slrt/migrations/versions/0001_foundation.py" in wheel_names
    # Nothing may install as a bare top-level `platform` (it would shadow Python's own module).
    assert not any(n.startswith(("platform/", "tenants/", "auth/")) for n in wheel_names)
    assert "slrt/platform/__init__.py" not in wheel_names
