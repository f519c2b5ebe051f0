"""Uploaded files: a local directory (SLRT_DATA_DIR/files) or an S3-compatible bucket.

`check_upload` decides what a file is from its bytes (the `filetype` library), never from its name
or the browser's Content-Type, and refuses what is too large or not on the allowed list. Keys are
`<tenant id>/<kind>/<uuid>`: nothing in a key comes from the user.
"""

from __future__ import annotations

import functools
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import filetype

from slrt.platform.config import data_dir, max_upload_bytes, setting
from slrt.platform.errors import Msg, field_problem, too_large

IMAGES = {"image/jpeg", "image/png", "image/webp", "image/heic"}
DOCUMENTS = IMAGES | {"application/pdf"}


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    extension: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def check_upload(data: bytes, allowed: set[str], field: str = "file") -> CheckedFile:
    limit = max_upload_bytes()
    if len(data) > limit:
        raise field_problem(413, field, too_large(limit, len(data)))
    if not data:
        raise field_problem(422, field, Msg("Berkas kosong.", "The file is empty."))
    kind = filetype.guess(data)
    if kind is None or kind.mime not in allowed:
        found = kind.mime if kind else "tidak dikenal / unknown"
        names = ", ".join(sorted(allowed))
        raise field_problem(
            415,
            field,
            Msg(
                f"Isi berkas adalah {found}; yang diterima: {names}.",
                f"The file's content is {found}; accepted: {names}.",
            ),
        )
    return CheckedFile(data, kind.mime, kind.extension, hashlib.sha256(data).hexdigest())


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("bad storage key")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    def __init__(
        self,
        endpoint: str | None,
        bucket: str | None,
        access_key: str | None,
        secret_key: str | None,
        region: str | None,
    ) -> None:
        import boto3

        if not bucket:
            raise RuntimeError("SLRT_FILE_STORE=s3 needs SLRT_S3_BUCKET")
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


@functools.lru_cache(maxsize=4)
def _s3_store(*config: str | None) -> S3Store:
    # A boto3 client is expensive to build and safe to share between requests of one process.
    return S3Store(*config)


def store() -> LocalStore | S3Store:
    kind = setting("SLRT_FILE_STORE") or "local"
    if kind == "s3":
        return _s3_store(
            setting("SLRT_S3_ENDPOINT"),
            setting("SLRT_S3_BUCKET"),
            setting("SLRT_S3_ACCESS_KEY"),
            setting("SLRT_S3_SECRET_KEY"),
            setting("SLRT_S3_REGION"),
        )
    if kind != "local":
        raise RuntimeError(f"SLRT_FILE_STORE must be 'local' or 's3', not {kind!r}")
    return LocalStore(data_dir() / "files")


def new_key(tenant_id: int, kind: str, extension: str) -> str:
    return f"{tenant_id}/{kind}/{uuid.uuid4().hex}.{extension}"
