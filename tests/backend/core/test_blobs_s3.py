"""The S3 blob store against a real S3-compatible server (moto's, in its own process): every
operation of the interface, parts above the multipart size, presigned URLs fetched over HTTP, and
a missing bucket, refused credentials and an unreachable server as clear errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from backend.core.blobs import BlobStoreUnavailable
from backend.core.blobs.s3 import S3BlobStore, S3Options
from tests.s3server import BUCKET, REGION, S3Server, free_port, unique_url

PART = 5 * 1024 * 1024  # S3's smallest part


def _store(server: S3Server, tmp_path: Path, url: str | None = None, **options: str) -> S3BlobStore:
    settings = {
        "endpoint_url": server.url, "region": REGION, "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key, **options,
    }  # fmt: skip
    return S3BlobStore(
        url or unique_url(), S3Options(**settings, max_attempts=1, multipart_bytes=PART),
        scratch=tmp_path / "scratch",
    )  # fmt: skip


@pytest.fixture()
def store(s3_server: S3Server, tmp_path: Path) -> S3BlobStore:
    return _store(s3_server, tmp_path)


def test_put_get_exists_size_delete(store: S3BlobStore) -> None:
    assert store.put("projects/1/values/a.f32", b"\x00\x01" * 100) == 200
    assert store.put("projects/1/empty.bin", b"") == 0
    assert store.get("projects/1/values/a.f32") == b"\x00\x01" * 100
    assert store.get("projects/1/empty.bin") == b""
    assert store.exists("projects/1/values/a.f32") and not store.exists("projects/1/none")
    assert store.size("projects/1/values/a.f32") == 200
    with pytest.raises(FileNotFoundError):
        store.get("projects/1/none")
    with pytest.raises(FileNotFoundError):
        store.size("projects/1/none")
    store.delete("projects/1/values/a.f32")
    store.delete("projects/1/values/a.f32")  # a missing blob is not an error
    assert not store.exists("projects/1/values/a.f32")
    with pytest.raises(ValueError):
        store.put("../outside", b"x")


def test_open_streams_in_pieces_and_seeks(store: S3BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    store.put("projects/1/big.f32", data)
    with store.open("projects/1/big.f32") as handle:
        assert handle.read(1000) == data[:1000]
        handle.seek(2_000_000)
        assert handle.read(10) == data[2_000_000:2_000_010]
        assert handle.seek(0, os.SEEK_END) == len(data)
        handle.seek(-17, os.SEEK_END)
        assert handle.read() == data[-17:]
        handle.seek(0)
        pieces = b"".join(iter(lambda: handle.read(1 << 20), b""))
    assert pieces == data
    with pytest.raises(FileNotFoundError):
        store.open("projects/1/none")


def test_large_objects_go_up_in_parts(
    s3_server: S3Server, store: S3BlobStore, tmp_path: Path
) -> None:
    data = os.urandom(2 * PART + 12345)
    # Bytes, a stream of unknown length, and a file: each above the part size.
    chunks = (data[i : i + 100_000] for i in range(0, len(data), 100_000))
    assert store.put("projects/1/bytes.bin", data) == len(data)
    assert store.put("projects/1/stream.bin", chunks) == len(data)
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    assert store.put_file("projects/1/file.bin", source) == len(data)
    assert not source.exists()  # moved into the store
    raw = s3_server.client()
    for name in ("bytes.bin", "stream.bin", "file.bin"):
        head = raw.head_object(Bucket=BUCKET, Key=f"{store.prefix}projects/1/{name}")
        assert head["ETag"].strip('"').endswith("-3"), f"{name} was not uploaded in 3 parts"
        assert hashlib.sha256(store.get(f"projects/1/{name}")).digest() == (
            hashlib.sha256(data).digest()
        )


def test_presigned_url_serves_the_bytes(store: S3BlobStore) -> None:
    data = os.urandom(70_000)
    store.put("projects/1/jobs/2/model.tflite", data)
    url = store.presign(
        "projects/1/jobs/2/model.tflite", filename="model int8.tflite",
        media_type="application/octet-stream", expires_seconds=60,
    )  # fmt: skip
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == data
    assert (
        answer.headers["content-disposition"] == "attachment; filename*=utf-8''model%20int8.tflite"
    )
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url


def test_iterate_and_delete_prefix(store: S3BlobStore) -> None:
    for n in range(5):
        store.put(f"projects/7/values/{n}.f32", bytes(n))
    store.put("projects/70/values/0.f32", b"other project")
    store.put("projects/8/x.bin", b"x")
    listed = {blob.key: blob.size_bytes for blob in store.iterate("projects/7")}
    assert listed == {f"projects/7/values/{n}.f32": n for n in range(5)}
    assert {blob.key for blob in store.iterate()} >= {
        "projects/70/values/0.f32",
        "projects/8/x.bin",
    }
    assert all(blob.modified_at.tzinfo is not None for blob in store.iterate())
    assert store.delete_prefix("projects/7/") == 5
    assert list(store.iterate("projects/7")) == []
    assert store.exists("projects/70/values/0.f32") and store.exists("projects/8/x.bin")
    with pytest.raises(ValueError):
        store.delete_prefix("")


def test_scratch_files_and_local_copies(store: S3BlobStore) -> None:
    with store.scratch_file(".zip") as scratch:
        scratch.write_bytes(b"PK zip")
        assert store.put_file("projects/1/export.zip", scratch) == 6
    assert not scratch.exists()
    with store.local_copy("projects/1/export.zip") as copy:
        assert copy.read_bytes() == b"PK zip" and copy.suffix == ".zip"
    assert not copy.exists()
    with pytest.raises(FileNotFoundError), store.local_copy("projects/1/none.elf"):
        pass


def test_missing_bucket_is_named(s3_server: S3Server, tmp_path: Path) -> None:
    store = _store(s3_server, tmp_path, "s3://no-such-bucket/studio")
    with pytest.raises(BlobStoreUnavailable) as refused:
        store.put("projects/1/a.bin", b"a")
    message = refused.value.detail["message"]  # type: ignore[index]
    assert refused.value.status_code == 503
    assert message == (
        "the blob store at s3://no-such-bucket/studio/ cannot be used: the bucket "
        f"'no-such-bucket' does not exist at {s3_server.url}"
    )


@pytest.mark.parametrize("wrong", ["key", "secret"])
def test_refused_credentials_are_named(s3_server: S3Server, tmp_path: Path, wrong: str) -> None:
    good = _store(s3_server, tmp_path)
    good.put("projects/1/a.bin", b"a")
    bad = _store(
        s3_server, tmp_path, good.location,
        **({"access_key_id": "AKIANOTAREALKEY00000"} if wrong == "key" else {}),
        **({"secret_access_key": "not-the-secret"} if wrong == "secret" else {}),
    )  # fmt: skip
    with s3_server.credentials_checked():
        assert good.get("projects/1/a.bin") == b"a"
        for attempt in (lambda: bad.get("projects/1/a.bin"), lambda: bad.put("projects/1/b", b"b")):
            with pytest.raises(BlobStoreUnavailable) as refused:
                attempt()
            message = refused.value.detail["message"]  # type: ignore[index]
            assert "refused our credentials" in message
            assert "TINYSTUDIO_BLOB_S3_ACCESS_KEY_ID" in message


def test_unreachable_server_is_named(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    store = S3BlobStore(
        "s3://tinystudio/blobs", S3Options(endpoint_url=closed, region=REGION,
        access_key_id="k", secret_access_key="s", max_attempts=1), scratch=tmp_path,
    )  # fmt: skip
    for attempt in (
        lambda: store.get("a"), lambda: store.put("a", b"a"), lambda: store.exists("a"),
        lambda: list(store.iterate()), lambda: store.open("a"),
    ):  # fmt: skip
        with pytest.raises(BlobStoreUnavailable) as down:
            attempt()
        message = down.value.detail["message"]  # type: ignore[index]
        assert message.startswith(
            f"the blob store at s3://tinystudio/blobs/ cannot be reached at {closed}"
        )
