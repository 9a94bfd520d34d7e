"""The workers' blob cache: only immutable keys, hits and misses counted, least recently used
files evicted past the limit, and several processes sharing one directory safely."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.core.blobs import LocalBlobStore
from backend.core.blobs.cache import BlobCache, CacheStats, is_immutable

ROOT = Path(__file__).resolve().parents[3]
HASH = "ab" * 32


def _feature_key(n: int) -> str:
    return f"projects/1/features/{hashlib.sha256(str(n).encode()).hexdigest()}.npz"


def _cached_files(cache: BlobCache) -> int:
    return sum(1 for p in cache.root.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize(
    ("key", "immutable"),
    [
        (f"projects/3/values/{HASH}.f32", True),
        (f"projects/3/originals/{HASH}.wav", True),
        (f"projects/3/features/{HASH}.npz", True),
        (f"projects/3/models/{HASH}/original.tflite", True),
        (f"projects/3/models/{HASH}/representative-{HASH}.npy", True),
        ("projects/3/jobs/12/model-int8.tflite", False),
        (f"projects/3/imports/{HASH[:32]}.zip", False),
        ("projects/3/values/latest.f32", False),
        (f"projects/3/values/{HASH}.f32/../x", False),
    ],
)
def test_only_keys_named_by_a_hash_are_immutable(key: str, immutable: bool) -> None:
    assert is_immutable(key) is immutable


def test_hits_misses_and_keys_it_does_not_keep(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "store")
    cache = BlobCache(tmp_path / "cache", max_bytes=1_000_000)
    values = b"\x01\x02\x03\x04" * 10
    values_key = f"projects/1/values/{hashlib.sha256(values).hexdigest()}.f32"
    store.put(values_key, values)
    store.put("projects/1/jobs/1/metrics.json", b"{}")
    assert cache.read(store, values_key) == values
    store.delete(values_key)  # a hit no longer needs the store
    assert cache.read(store, values_key) == values
    assert cache.read(store, "projects/1/jobs/1/metrics.json") == b"{}"
    assert cache.stats == CacheStats(hits=1, misses=1, bytes_fetched=len(values))
    assert cache.stats.hit_rate == 0.5
    assert _cached_files(cache) == 1  # the artifact was read from the store and not kept
    with pytest.raises(FileNotFoundError):
        cache.read(store, _feature_key(404))
    # Bytes that do not hash to the name they are stored under are never kept.
    liar = f"projects/1/values/{HASH}.f32"
    store.put(liar, b"not these bytes")
    cache.read(store, liar)
    cache.read(store, liar)
    assert cache.stats.misses == 3 and _cached_files(cache) == 1


def test_least_recently_used_files_go_past_the_limit(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "store")
    cache = BlobCache(tmp_path / "cache", max_bytes=10_000)
    for n in range(12):
        store.put(_feature_key(n), bytes([n]) * 900)
    for n in range(10):
        cache.read(store, _feature_key(n))
        time.sleep(0.01)  # file times are coarser than a read
    cache.read(store, _feature_key(0))  # used again: now the most recent
    time.sleep(0.01)
    cache.read(store, _feature_key(10))
    cache.read(store, _feature_key(11))
    kept = {p.name for p in cache.root.iterdir()}
    size = sum(p.stat().st_size for p in cache.root.iterdir())
    assert size <= 9_000
    assert hashlib.sha256(_feature_key(0).encode()).hexdigest() in kept
    for gone in (1, 2):  # 12 x 900 B over 10 kB: the two oldest go, down to 9 kB
        assert hashlib.sha256(_feature_key(gone).encode()).hexdigest() not in kept
    hits = cache.stats.hits
    assert cache.read(store, _feature_key(11)) == bytes([11]) * 900
    assert cache.stats.hits == hits + 1


READER = """
import hashlib, sys
from pathlib import Path
from backend.core.blobs import LocalBlobStore
from backend.core.blobs.cache import BlobCache

store = LocalBlobStore(Path(sys.argv[1]))
cache = BlobCache(Path(sys.argv[2]), max_bytes=200_000)
for round in range(3):
    for n in range(40):
        data = (str(n).encode() * 20_000)[:15_000]
        key = f"projects/1/values/{hashlib.sha256(data).hexdigest()}.f32"
        assert cache.read(store, key) == data, key
print(cache.stats.hits, cache.stats.misses)
"""


def test_processes_share_one_cache_directory(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "store")
    for n in range(40):
        data = (str(n).encode() * 20_000)[:15_000]
        store.put(f"projects/1/values/{hashlib.sha256(data).hexdigest()}.f32", data)
    # 40 blobs of 15 kB through a 200 kB cache: every process evicts while the others read.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(tmp_path / "store"), str(tmp_path / "cache")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )  # fmt: skip
        for _ in range(3)
    ]
    for reader in readers:
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, err.decode()
        hits, misses = map(int, out.split())
        assert hits + misses == 120
    cached = list((tmp_path / "cache").iterdir())
    assert not [p for p in cached if p.name.startswith(".partial-")]
    assert sum(p.stat().st_size for p in cached) <= 200_000 + 3 * 15_000
