"""The S3 file store against a real S3-protocol server (npm s3rver on loopback): attachments
uploaded through the API land in the bucket under a key nothing of the user's chooses, and come
back byte for byte."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from slrt.platform.commands.embedded import free_port, port_open
from tests.tenants.flow.test_flow import BASE, PNG, cast, post, register_resident  # noqa: F401 - fixture

PEERS = Path(__file__).resolve().parents[1] / "peers"
BUCKET = "slrt-files"


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    directory = tempfile.mkdtemp(prefix="slrt-s3-")
    proc = subprocess.Popen(
        ["node", str(PEERS / "s3_server.mjs")],
        cwd=PEERS,
        env={**os.environ, "PORT": str(port), "DIRECTORY": directory, "BUCKET": BUCKET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not port_open(port) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert port_open(port), (
        proc.stdout.read().decode() if proc.poll() is not None else "s3rver did not start"
    )
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "SLRT_FILE_STORE": "s3",
        "SLRT_S3_ENDPOINT": endpoint,
        "SLRT_S3_BUCKET": BUCKET,
        "SLRT_S3_ACCESS_KEY": "S3RVER",
        "SLRT_S3_SECRET_KEY": "S3RVER",
    }.items():
        monkeypatch.setenv(key, value)
    try:
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _objects(endpoint: str) -> dict[str, bytes]:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="S3RVER",
        aws_secret_access_key="S3RVER",
        region_name="us-east-1",
    )
    listing = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}


def test_attachments_round_trip_through_s3(client, cast, s3_server, parepare) -> None:  # noqa: F811
    fo = cast["fo"]
    _household, person = register_resident(client, fo)
    case = post(
        client,
        fo,
        "/cases",
        {
            "kind": "service_request",
            "channel": "puskesos",
            "person_id": person["id"],
            "description": "Butuh bantuan berobat",
        },
    ).json
    local = Path(os.environ["SLRT_DATA_DIR"]) / "files"
    local_before = sorted(local.rglob("*")) if local.exists() else []
    url = BASE + f"/cases/{case['id']}/attachments"
    uploaded = client.post(
        url,
        data={"kind": "photo", "file": (io.BytesIO(PNG), "../../etc/passwd.png")},
        headers=fo.headers,
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.json
    objects = _objects(s3_server)
    [(key, body)] = objects.items()
    assert body == PNG
    assert key.startswith(f"{parepare.id}/") and "passwd" not in key and key.endswith(".png")
    download = client.get(url + f"/{uploaded.json['id']}", headers=fo.headers)
    assert download.status_code == 200 and download.get_data() == PNG
    # Nothing reached the local directory store.
    assert (sorted(local.rglob("*")) if local.exists() else []) == local_before
