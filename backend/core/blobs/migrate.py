"""Copying one blob store into another (the local directory into a bucket), every object checked
by the sha256 of its bytes as read back, so a rerun skips what is already there and says which
objects differ."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from backend.core.blobs.base import BlobInfo, BlobStore

CHUNK_BYTES = 1 << 20


@dataclass
class Migration:
    """What a migration did, blob by blob."""

    copied: int = 0
    skipped: int = 0  # already in the target with the same bytes
    bytes_copied: int = 0
    mismatched: list[str] = field(default_factory=list)


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    with handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _target_sha256(target: BlobStore, key: str) -> str | None:
    try:
        return _sha256(target.open(key))
    except FileNotFoundError:
        return None


def _hashed_chunks(handle: BinaryIO, digest: hashlib._Hash) -> Iterator[bytes]:
    with handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            yield chunk


def blobs_to_copy(source: BlobStore) -> list[BlobInfo]:
    """The source's blobs, without files a write in progress or a job left behind (names
    starting with a dot: `.scratch/`, `.tmp-….part`)."""
    return [
        blob
        for blob in source.iterate()
        if not any(part.startswith(".") for part in blob.key.split("/"))
    ]


def migrate(
    source: BlobStore,
    target: BlobStore,
    blobs: Iterable[BlobInfo],
    *,
    verify_only: bool = False,
    done: Callable[[BlobInfo], None] = lambda blob: None,
) -> Migration:
    """Copies `blobs` of `source` into `target` unless the target holds the same bytes, then
    reads each copy back and compares its sha256 with what was read from the source. With
    `verify_only`, copies nothing and reports every blob whose copy is missing or differs."""
    outcome = Migration()
    for blob in blobs:
        existing = _target_sha256(target, blob.key)
        if verify_only:
            if existing != _sha256(source.open(blob.key)):
                outcome.mismatched.append(blob.key)
        elif existing is not None and existing == _sha256(source.open(blob.key)):
            outcome.skipped += 1
        else:
            digest = hashlib.sha256()
            outcome.bytes_copied += target.put(
                blob.key, _hashed_chunks(source.open(blob.key), digest)
            )
            outcome.copied += 1
            if _target_sha256(target, blob.key) != digest.hexdigest():
                outcome.mismatched.append(blob.key)
        done(blob)
    return outcome
