"""Compiled firmware objects cached by content, so builds sharing sources compile them once.

Every candidate a tuner run measures is built around the same firmware, DSP library and model
kernels; only the model and its DSP glue change. An object's key is the compiler's identity, its
flags without include paths, and the source preprocessed with -P (every header it includes,
without line markers or paths): equal keys compile to equal code wherever the files live.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

# Objects kept; beyond it the least recently used go (a model's own object is rarely reused).
CACHE_LIMIT = 400

Runner = Callable[[Sequence[str], str], str]


def cache_dir() -> Path:
    """Where objects are kept: $TINYSTUDIO_CACHE_DIR (or ~/.cache/tinystudio)/firmware-objects."""
    root = os.environ.get("TINYSTUDIO_CACHE_DIR") or Path.home() / ".cache" / "tinystudio"
    return Path(root) / "firmware-objects"


@cache
def _compiler_identity(gcc: str) -> str:
    proc = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=False)
    return f"{os.path.realpath(gcc)}\n{proc.stdout}"


def object_key(gcc: str, cflags: Sequence[str], preprocessed: str) -> str:
    """The cache key of an object compiled by `gcc` with `cflags` from `preprocessed` source."""
    digest = hashlib.sha256()
    flags = [f for f in cflags if not f.startswith("-I")]
    for part in (_compiler_identity(gcc), *flags, preprocessed):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def compile_object(
    gcc: str,
    cflags: Sequence[str],
    src: Path,
    obj: Path,
    run: Runner,
    directory: Path | None = None,
) -> bool:
    """Compiles `src` to `obj`, or copies the object cached under the same key; True when it
    came from the cache. `run(command, what)` runs a tool and raises on failure."""
    root = directory or cache_dir()
    preprocessed = run([gcc, *cflags, "-E", "-P", str(src)], f"preprocessing {src.name}")
    cached = root / f"{object_key(gcc, cflags, preprocessed)}.o"
    try:
        shutil.copyfile(cached, obj)
        os.utime(cached)
        return True
    except FileNotFoundError:  # not cached, or pruned by another build meanwhile
        pass
    run([gcc, *cflags, "-c", str(src), "-o", str(obj)], f"compiling {src.name}")
    _store(obj, cached)
    return False


def _store(obj: Path, cached: Path) -> None:
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Written under a unique name, then renamed: other builds never read a half-written object.
    fd, tmp_name = tempfile.mkstemp(suffix=".tmp", dir=cached.parent)
    os.close(fd)
    shutil.copyfile(obj, tmp_name)
    os.replace(tmp_name, cached)
    objects = list(cached.parent.glob("*.o"))
    if len(objects) > CACHE_LIMIT:
        for old in sorted(objects, key=_last_used)[: len(objects) - CACHE_LIMIT]:
            old.unlink(missing_ok=True)


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another build's pruning
        return 0.0
