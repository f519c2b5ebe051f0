"""Package discovery for the single import root `slrt`.

The top-level folders are mapped onto `slrt.*` (pyproject.toml holds the metadata). Every
sub-package under them, and every template, static file and data file inside one, is found here
by walking the tree, so a new area package cannot be left out of the wheel by forgetting a list.
`platform/` itself has no `__init__.py` (it would shadow Python's own `platform` module)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOTS = {
    "slrt.platform": "platform",
    "slrt.tenants": "tenants",
    "slrt.auth": "auth",
    "slrt.billing_free": "billing_free",
    "slrt.migrations": "migrations",
}
DATA_FOLDERS = ("templates", "static", "data", "translations")


def _packages() -> tuple[list[str], dict[str, list[str]]]:
    packages: list[str] = []
    package_data: dict[str, list[str]] = {}
    for name, folder in ROOTS.items():
        root = Path(folder)
        dirs = [root, *(p.parent for p in sorted(root.rglob("__init__.py")))]
        for directory in dict.fromkeys(dirs):
            if any(part in DATA_FOLDERS or part == "__pycache__" for part in directory.parts):
                continue
            package = ".".join([name, *directory.relative_to(root).parts])
            packages.append(package)
            patterns = [f"{data}/**/*" for data in DATA_FOLDERS if (directory / data).is_dir()]
            if patterns:
                package_data[package] = patterns
    # Alembic reads the migration scripts as files, not as a package.
    package_data["slrt.migrations"] = ["script.py.mako", "versions/*.py"]
    return packages, package_data


class BuildWithCatalogs(build_py):
    """Also compile each language's messages.po into the messages.mo that gettext reads."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path(self.build_lib, "slrt").glob("**/translations/*/LC_MESSAGES/messages.po"):
            with po.open("rb") as source:
                catalog = read_po(source)
            with po.with_suffix(".mo").open("wb") as out:
                write_mo(out, catalog)


PACKAGES, PACKAGE_DATA = _packages()

setup(
    packages=PACKAGES,
    package_dir=ROOTS,
    package_data=PACKAGE_DATA,
    cmdclass={"build_py": BuildWithCatalogs},
)
