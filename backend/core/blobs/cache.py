"""A worker's local cache of blobs that never change, so a second job on the same data does not
download it again from a remote store.

Only immutable keys are cached: sample values and originals are named by the sha256 of their
bytes, feature matrices by the hash of the data and the DSP settings that made them, uploaded
models by the hash of the upload. Everything else (job artifacts, import zips) is read from the
store every time. The cache is bounded: past its size the least recently used files go. Several
worker processes share one cache directory: files are written to a private name and renamed
into place, and a file evicted while another process reads it stays readable to that reader."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backend.core.blobs.base import BlobStore
from backend.core.blobs.factory import get_blob_store
from backend.core.blobs.local import LocalBlobStore
from backend.core.config import get_settings

HEX64 = "[0-9a-f]{64}"
IMMUTABLE_KEYS = re.compile(
    rf"^projects/\d+/(?:values/{HEX64}\.f32|originals/{HEX64}(?:\.\w+)?|features/{HEX64}\.npz"
    rf"|models/{HEX64}/(?:original(?:\.\w+)?|representative-{HEX64}\.npy))$"
)
# Keys whose name is the sha256 of the bytes themselves: checked before they are cached.
CONTENT_HASHED = re.compile(rf"/values/({HEX64})\.f32$")
# Evicting frees down to this share of the limit, so the next few writes need no eviction.
LOW_WATER = 0.9
RESCAN_EVERY = 256  # writes between counts of the directory, to see what other processes added
STALE_PARTIAL_SECONDS = 3600.0


def is_immutable(key: str) -> bool:
    """True if the blob under `key` can never change (see the module's docstring)."""
    return IMMUTABLE_KEYS.match(key) is not None


@dataclass(frozen=True)
class CacheStats:
    """What this process's reads through the cache found."""

    hits: int = 0
    misses: int = 0
    bytes_fetched: int = 0

    def since(self, earlier: CacheStats) -> CacheStats:
        return CacheStats(
            self.hits - earlier.hits,
            self.misses - earlier.misses,
            self.bytes_fetched - earlier.bytes_fetched,
        )

    @property
    def hit_rate(self) -> float | None:
        reads = self.hits + self.misses
        return self.hits / reads if reads else None


class BlobCache:
    """Blobs of immutable keys kept as files under `root`, at most about `max_bytes` of them."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._stats = CacheStats()
        self._estimate: int | None = None  # bytes in the directory, as last counted plus writes
        self._writes = 0

    @property
    def stats(self) -> CacheStats:
        return self._stats

    def _file(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode()).hexdigest()

    def read(self, store: BlobStore, key: str) -> bytes:
        """The blob's bytes, from the cache when it has them; FileNotFoundError if none."""
        if not is_immutable(key):
            return store.get(key)
        path = self._file(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = store.get(key)
            self._count(misses=1, fetched=len(data))
            self._keep(key, path, data)
            return data
        self._count(hits=1)
        with contextlib.suppress(FileNotFoundError):  # evicted meanwhile by another process
            os.utime(path)  # the modification time orders eviction: most recently used last
        return data

    def keep(self, key: str, data: bytes) -> None:
        """Caches bytes this process has just written under an immutable `key`."""
        if is_immutable(key):
            self._keep(key, self._file(key), data)

    def _count(self, hits: int = 0, misses: int = 0, fetched: int = 0) -> None:
        with self._lock:
            old = self._stats
            self._stats = CacheStats(
                old.hits + hits, old.misses + misses, old.bytes_fetched + fetched
            )

    def _keep(self, key: str, path: Path, data: bytes) -> None:
        if len(data) > self.max_bytes * (1 - LOW_WATER):
            return  # one blob would push out much of the cache
        digest = CONTENT_HASHED.search(key)
        if digest is not None and hashlib.sha256(data).hexdigest() != digest.group(1):
            return  # not what the key names: never serve it again from here
        self.root.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=self.root, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(partial, path)
        except OSError:
            Path(partial).unlink(missing_ok=True)
            return  # a cache that cannot be written only costs downloads
        with self._lock:
            self._writes += 1
            rescan = self._estimate is None or self._writes % RESCAN_EVERY == 0
            self._estimate = (self._estimate or 0) + len(data)
            over = self._estimate > self.max_bytes
        if rescan or over:
            self._evict()

    def _evict(self) -> None:
        """Counts the directory and removes the least recently used files past the limit."""
        entries: list[tuple[float, int, Path]] = []
        now = time.time()
        with os.scandir(self.root) as listing:
            for entry in listing:
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                if entry.name.startswith(".partial-"):
                    if now - stat.st_mtime > STALE_PARTIAL_SECONDS:  # left by a killed process
                        Path(entry.path).unlink(missing_ok=True)
                    continue
                entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in entries)
        if total > self.max_bytes:
            for _, size, path in sorted(entries, key=lambda e: e[0]):
                if total <= self.max_bytes * LOW_WATER:
                    break
                path.unlink(missing_ok=True)
                total -= size
        with self._lock:
            self._estimate = total


@lru_cache
def get_blob_cache() -> BlobCache | None:
    """This process's cache, or None when blobs are on this host's disk already or the cache
    is turned off (TINYSTUDIO_BLOB_CACHE_MAX_BYTES=0)."""
    settings = get_settings()
    if isinstance(get_blob_store(), LocalBlobStore) or settings.blob_cache_max_bytes == 0:
        return None
    return BlobCache(settings.resolved_blob_cache_dir, settings.blob_cache_max_bytes)


def read_cached(key: str) -> bytes:
    """The blob's bytes, through this host's cache for immutable keys of a remote store."""
    cache = get_blob_cache()
    store = get_blob_store()
    return store.get(key) if cache is None else cache.read(store, key)


def put_cached(key: str, data: bytes) -> int:
    """Stores the blob, and keeps it in this host's cache for the jobs that read it next."""
    size = get_blob_store().put(key, data)
    cache = get_blob_cache()
    if cache is not None:
        cache.keep(key, data)
    return size


def cache_stats() -> CacheStats:
    """Hits, misses and bytes downloaded by this process's reads through the cache."""
    cache = get_blob_cache()
    return CacheStats() if cache is None else cache.stats
