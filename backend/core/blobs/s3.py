"""The blob store in an S3-compatible bucket (AWS S3, MinIO, …), so workers on many hosts share
blobs without a shared filesystem. Large uploads go in parts, reads are streamed."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from backend.core.blobs.base import BlobInfo, BlobStore, BlobStoreUnavailable, check_key, folder
from backend.core.blobs.base import content_disposition as disposition
from backend.core.blobs.s3_stream import ChunkReader, ObjectReader
from backend.core.config import S3_URL

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

MISSING_CODES = {"NoSuchKey", "NotFound", "404"}
CREDENTIAL_CODES = {
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken",
    "InvalidClientTokenId", "403",
}  # fmt: skip
CREDENTIAL_SETTINGS = (
    "TINYSTUDIO_BLOB_S3_ACCESS_KEY_ID and TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY "
    "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
)
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


@dataclass(frozen=True)
class S3Options:
    """How to reach the bucket; None leaves a value to boto3's own chain (AWS_* variables,
    ~/.aws, instance roles)."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    public_endpoint_url: str | None = None  # the endpoint as browsers see it, for presigning
    max_attempts: int = 3
    multipart_bytes: int = 16 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix ending in `/` or empty) of `s3://bucket/prefix`."""
    match = S3_URL.match(url)
    if match is None:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return match.group(1), folder(match.group(2) or "")


class S3BlobStore(BlobStore):
    """Blobs as objects `prefix + key` in one bucket."""

    def __init__(self, url: str, options: S3Options, scratch: Path) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.location = f"s3://{self.bucket}/{self.prefix}"
        self.options = options
        self._scratch = scratch
        self._transfer = TransferConfig(
            multipart_threshold=options.multipart_bytes,
            multipart_chunksize=options.multipart_bytes,
            max_concurrency=4,
        )
        self._clients: dict[tuple[int, str | None], S3Client] = {}
        self._lock = threading.Lock()

    # --- clients and errors -------------------------------------------------------------

    def _client(self, endpoint: str | None = None) -> S3Client:
        """A client of this process (one made before a worker forked is not reused)."""
        endpoint = endpoint or self.options.endpoint_url
        with self._lock:
            client = self._clients.get((os.getpid(), endpoint))
            if client is None:
                client = self._make_client(endpoint)
                self._clients[(os.getpid(), endpoint)] = client
            return client

    def _make_client(self, endpoint: str | None) -> S3Client:
        config = Config(
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": self.options.max_attempts},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=16,
            # Servers other than AWS (MinIO, moto) address buckets by path.
            s3={"addressing_style": "path" if endpoint else "auto"},
            # Checksums only where S3 requires them: not every S3-compatible server has them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of its own: boto3's default session is not safe to share between threads.
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=endpoint,
            region_name=self.options.region,
            aws_access_key_id=self.options.access_key_id,
            aws_secret_access_key=self.options.secret_access_key,
            config=config,
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextlib.contextmanager
    def _calling(self, key: str | None = None) -> Iterator[None]:
        """Turns S3's refusals into FileNotFoundError (no such blob) or a clear 503."""
        try:
            yield
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._meaning(exc, key) from exc

    def _meaning(self, exc: BaseException, key: str | None) -> BaseException:
        # An upload's failure carries the request's own error as its context.
        while isinstance(exc, S3UploadFailedError) and exc.__context__ is not None:
            exc = exc.__context__
        where = self.options.endpoint_url or "AWS S3"
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in MISSING_CODES:
                return FileNotFoundError(errno.ENOENT, "no such blob", key)
            if code == "NoSuchBucket":
                return BlobStoreUnavailable(
                    self.location,
                    f"cannot be used: the bucket {self.bucket!r} does not exist at {where}",
                )
            if code in CREDENTIAL_CODES:
                # A HEAD request's refusal has no body: only its status tells.
                said = f"HTTP {code}" if code.isdigit() else code
                return BlobStoreUnavailable(
                    self.location, f"refused our credentials ({said}): check {CREDENTIAL_SETTINGS}"
                )
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "RequestTimeout"):
                return BlobStoreUnavailable(
                    self.location, f"cannot serve requests now ({code or status} from {where})"
                )
            return exc
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return BlobStoreUnavailable(
                self.location, f"has no credentials to use: set {CREDENTIAL_SETTINGS}"
            )
        if isinstance(exc, ConnectionError | HTTPClientError):
            return BlobStoreUnavailable(self.location, f"cannot be reached at {where}: {exc}")
        return exc

    # --- the interface --------------------------------------------------------------------

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        target = self._key(key)
        with self._calling(key):
            if isinstance(data, bytes) and len(data) < self.options.multipart_bytes:
                self._client().put_object(Bucket=self.bucket, Key=target, Body=data)
                return len(data)
            # Streamed: parts of multipart_bytes go up while the next ones are read.
            reader = ChunkReader([data] if isinstance(data, bytes) else data)
            self._client().upload_fileobj(
                io.BufferedReader(reader, 1 << 20), self.bucket, target, Config=self._transfer
            )
            return reader.count

    def put_file(self, key: str, source: Path) -> int:
        size = source.stat().st_size
        with self._calling(key):
            self._client().upload_file(
                str(source), self.bucket, self._key(key), Config=self._transfer
            )
        source.unlink()
        return size

    def _get_object(self, key: str, offset: int = 0) -> dict[str, Any]:
        # A range from 0 would answer 416 for an empty object, so the first read asks for all.
        span = f"bytes={offset}-" if offset else ""
        with self._calling(key):
            return dict(
                self._client().get_object(Bucket=self.bucket, Key=self._key(key), Range=span)
            )

    def get(self, key: str) -> bytes:
        body = self._get_object(key)["Body"]
        with self._calling(key), contextlib.closing(body):
            return bytes(body.read())

    def open(self, key: str) -> BinaryIO:
        reader = ObjectReader(lambda offset: self._get_object(key, offset), self._get_object(key))
        return io.BufferedReader(reader, 1 << 20)

    def _head(self, key: str) -> dict[str, Any]:
        with self._calling(key):
            return dict(self._client().head_object(Bucket=self.bucket, Key=self._key(key)))

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._calling(key):
            self._client().delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        under = folder(prefix)
        if not under:
            raise ValueError("delete_prefix needs a folder; it never empties the whole store")
        keys = [blob.key for blob in self.iterate(under)]
        with self._calling():
            for start in range(0, len(keys), DELETE_BATCH):
                batch: list[ObjectIdentifierTypeDef] = [
                    {"Key": self._key(k)} for k in keys[start : start + DELETE_BATCH]
                ]
                self._client().delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
        return len(keys)

    def iterate(self, prefix: str = "") -> Iterator[BlobInfo]:
        pages = self._client().get_paginator("list_objects_v2")
        with self._calling():
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + folder(prefix)):
                for item in page.get("Contents", []):
                    yield BlobInfo(
                        key=item["Key"][len(self.prefix) :],
                        size_bytes=int(item["Size"]),
                        modified_at=item["LastModified"],
                    )

    def scratch_dir(self) -> Path:
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        handle, name = tempfile.mkstemp(
            dir=self.scratch_dir(), prefix="copy-", suffix=Path(key).suffix
        )
        os.close(handle)
        try:
            with self._calling(key):
                self._client().download_file(
                    self.bucket, self._key(key), name, Config=self._transfer
                )
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def presign(self, key: str, *, filename: str, media_type: str, expires_seconds: int) -> str:
        client = self._client(self.options.public_endpoint_url)
        with self._calling(key):
            return client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": disposition(filename),
                    "ResponseContentType": media_type,
                },
                ExpiresIn=expires_seconds,
            )
