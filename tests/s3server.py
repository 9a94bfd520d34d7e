"""A real S3-compatible server for the tests: moto's, in a process of its own on a free port, with
an IAM user whose keys the tests use (so refused credentials can be tried once checks are on)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

REGION = "us-east-1"
BUCKET = "tinystudio-tests"
ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3Server:
    """One moto server process and the credentials of its IAM user."""

    url: str
    process: subprocess.Popen[bytes]
    access_key_id: str = "bootstrap"
    secret_access_key: str = "bootstrap"

    def client(self, service: str = "s3", **credentials: str) -> Any:
        return boto3.session.Session().client(
            service, endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=credentials.get("key", self.access_key_id),
            aws_secret_access_key=credentials.get("secret", self.secret_access_key),
        )  # fmt: skip

    def settings(self, url: str, **overrides: str) -> dict[str, str]:
        """The TINYSTUDIO_* variables that keep the studio's blobs at `url` on this server."""
        return {
            "TINYSTUDIO_BLOB_URL": url,
            "TINYSTUDIO_BLOB_S3_ENDPOINT_URL": self.url,
            "TINYSTUDIO_BLOB_S3_REGION": REGION,
            "TINYSTUDIO_BLOB_S3_ACCESS_KEY_ID": self.access_key_id,
            "TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY": self.secret_access_key,
            "TINYSTUDIO_BLOB_S3_MAX_ATTEMPTS": "1",
            **overrides,
        }

    @contextlib.contextmanager
    def credentials_checked(self) -> Iterator[None]:
        """Within the block, every request must be signed with a known key (moto checks none
        by default)."""
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"0").raise_for_status()
        try:
            yield
        finally:
            httpx.post(f"{self.url}/moto-api/reset-auth", content=b"inf").raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server(timeout: float = 60.0) -> S3Server:
    """Starts `python -m moto.server` and waits until it answers; makes the IAM user and the
    tests' bucket."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )  # fmt: skip
    server = S3Server(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server ended at once (exit {process.returncode})")
        try:
            httpx.get(f"{server.url}/moto-api/", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto's server did not answer within {timeout:g} s") from None
            time.sleep(0.05)
    iam = server.client("iam")
    iam.create_user(UserName="tinystudio")
    iam.put_user_policy(UserName="tinystudio", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    key = iam.create_access_key(UserName="tinystudio")["AccessKey"]
    server.access_key_id, server.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
    server.client().create_bucket(Bucket=BUCKET)
    return server


def unique_url() -> str:
    """A fresh folder of the tests' bucket."""
    return f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def studio_blobs(settings: dict[str, str], cache_dir: Path) -> Iterator[None]:
    """The studio's blob store (and its workers' cache) switched by these settings for the
    block: the API and the in-process worker both read the store from the settings."""
    from backend.core.blobs import get_blob_store
    from backend.core.blobs.cache import get_blob_cache
    from backend.core.config import get_settings

    settings = {"TINYSTUDIO_BLOB_CACHE_DIR": str(cache_dir), **settings}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    for cached in (get_settings, get_blob_store, get_blob_cache):
        cached.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for cached in (get_settings, get_blob_store, get_blob_cache):
            cached.cache_clear()
