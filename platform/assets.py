"""Static files for slow phones: fingerprinted, compressed, cached for a year.

At start the app copies each static file (`platform/static`, every area's `static/`, and the API
documentation's assets from the `swagger-ui-bundle` package) into a build folder under
SLRT_DATA_DIR, under a name carrying a hash of its content (`slrt.3f9a0c1d2e4b.css`), with a
gzip copy beside it. WhiteNoise serves them: a fingerprinted name never changes its content, so
it is cached for a year (`immutable`); a new release has new names. Pages link assets through
`asset_url("slrt.css")`. Copies are written to a temporary name and renamed, so several worker
processes starting at once never see half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from pathlib import Path

import swagger_ui_bundle
from flask import Flask
from whitenoise import WhiteNoise

from slrt.platform.config import data_dir

PLATFORM = Path(__file__).resolve().parent
SOURCE_ROOTS = [PLATFORM.parent / top for top in ("platform", "tenants", "auth", "billing_free")]
DOCS_PREFIX = "api/docs/assets/"
FINGERPRINT = re.compile(r"\.[0-9a-f]{12}\.\w+$")
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".html", ".map", ".txt", ".webmanifest"}
DAY = 24 * 3600


def _static_sources() -> dict[str, Path]:
    """Logical name ("slrt.css", "flow/capture.js") -> source file, from every static folder."""
    found: dict[str, Path] = {}
    for root in SOURCE_ROOTS:
        if not root.is_dir():
            continue
        for folder in sorted(root.rglob("static")):
            if not folder.is_dir() or "__pycache__" in folder.parts:
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    found.setdefault(path.relative_to(folder).as_posix(), path)
    return found


def _write_once(target: Path, content: bytes) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    os.chmod(tmp, 0o644)  # public files: the web server's own user reads them from disk
    os.replace(tmp, target)


def _publish(content: bytes, target: Path) -> None:
    _write_once(target, content)
    packed = target.with_name(target.name + ".gz")
    if target.suffix in COMPRESSIBLE and not packed.exists():
        # Only the first process to start compresses (the API docs' bundle takes seconds);
        # mtime=0: the same input gives the same bytes in every process.
        _write_once(packed, gzip.compress(content, 9, mtime=0))


def build(build_dir: Path) -> dict[str, str]:
    """Publish every static file under its fingerprinted name; return logical -> published."""
    manifest = {}
    for name, source in _static_sources().items():
        content = source.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:12]
        stem, dot, ext = name.rpartition(".")
        published = f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"
        _publish(content, build_dir / "static" / published)
        manifest[name] = published
    docs = Path(swagger_ui_bundle.swagger_ui_path)
    for path in sorted(docs.rglob("*")):
        if path.is_file():
            _publish(path.read_bytes(), build_dir / "docs" / path.relative_to(docs))
    return manifest


def _immutable(path: str, url: str) -> bool:
    return bool(FINGERPRINT.search(url))


def init_assets(app: Flask) -> None:
    build_dir = data_dir() / "assets"
    manifest = build(build_dir)

    def asset_url(name: str) -> str:
        return f"/static/{manifest[name]}"

    app.jinja_env.globals["asset_url"] = asset_url
    app.extensions["slrt_assets"] = manifest
    # Fingerprinted names are immutable (cached for good); the API documentation page names its
    # assets without a fingerprint, so those are kept for a day.
    served = WhiteNoise(
        app.wsgi_app,
        root=str(build_dir / "static"),
        prefix="static/",
        max_age=DAY,
        immutable_file_test=_immutable,
    )
    served.add_files(str(build_dir / "docs"), prefix=DOCS_PREFIX)
    app.wsgi_app = served  # type: ignore[method-assign]
