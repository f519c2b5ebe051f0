"""Secrets generated once per data directory (database role passwords, keys).

Production sets the corresponding environment variables instead; a generated value is only a
default for a machine that has none.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from slrt.platform.config import data_dir


def _path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "secrets.json"


def get_secret(
    name: str, root: Path | None = None, generate: Callable[[], str] | None = None
) -> str:
    """Read a generated secret, creating it (0600 file) on first use with `generate` (default:
    32 random bytes, URL-safe text)."""
    path = _path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name not in values:
        values[name] = generate() if generate else secrets.token_urlsafe(32)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle, indent=2)
        os.replace(tmp, path)
    return values[name]
