"""The firmware object cache: a rebuild reuses every unchanged object and links the same image;
a changed header, flag or source compiles anew."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.workers.firmware.conftest import TINYFC_LABELS, write_tinyfc
from workers.boards import get_board
from workers.firmware.build import build_firmware
from workers.firmware.objcache import compile_object, object_key

GCC = shutil.which("arm-none-eabi-gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="arm-none-eabi-gcc is needed")
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-O2", "-ffunction-sections"]


def _run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{what}: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TINYSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "firmware-objects"


def test_a_rebuild_reuses_every_object_and_links_the_same_image(
    cache: Path, tinyfc: tuple[Path, Any], tmp_path: Path
) -> None:
    board = get_board("virtual-cortex-m4")
    first = build_firmware(board, tinyfc[0], tmp_path / "first", labels=["idle", "wave"])
    cached = sorted(cache.glob("*.o"))
    assert len(cached) == len(list((tmp_path / "first" / "obj").rglob("*.o")))
    second = build_firmware(board, tinyfc[0], tmp_path / "second", labels=["idle", "wave"])
    assert sorted(cache.glob("*.o")) == cached  # nothing compiled anew
    assert second.bin.read_bytes() == first.bin.read_bytes()
    assert (second.flash, second.ram) == (first.flash, first.ram)
    # Other labels change the build config header: the sources including it compile again.
    relabelled = build_firmware(board, tinyfc[0], tmp_path / "third", labels=["idle", "knock"])
    assert len(list(cache.glob("*.o"))) > len(cached)
    assert b"knock" in relabelled.bin.read_bytes() and b"knock" not in first.bin.read_bytes()


def test_another_model_compiles_only_the_files_that_read_it(cache: Path, tmp_path: Path) -> None:
    """Tuner candidates of one impulse differ in their model: the application's protocol code
    (ts_app.c) comes from the cache, only the model and the files reading its figures compile."""
    board = get_board("virtual-cortex-m4")
    models = [tmp_path / "model-a", tmp_path / "model-b"]
    for seed, (model, scale) in enumerate(zip(models, (0.05, 0.07), strict=True)):
        model.mkdir()
        write_tinyfc(model, seed=seed, in_scale=scale)
    build_firmware(board, models[0], tmp_path / "a", labels=TINYFC_LABELS)
    cached = {path.read_bytes() for path in cache.glob("*.o")}
    build_firmware(board, models[1], tmp_path / "b", labels=TINYFC_LABELS)
    compiled = {
        o.name for o in (tmp_path / "b" / "obj").rglob("*.o") if o.read_bytes() not in cached
    }
    assert compiled == {"ts_model.o", "ts_info.o", "ts_classifier.o"}


def test_headers_and_flags_are_part_of_the_key(cache: Path, tmp_path: Path) -> None:
    assert GCC is not None
    src = tmp_path / "unit.c"
    src.write_text('#include "unit.h"\nint unit(void) { return UNIT_VALUE; }\n')
    header = tmp_path / "unit.h"
    header.write_text("#define UNIT_VALUE 7\n")
    flags = [*FLAGS, f"-I{tmp_path}"]
    obj = tmp_path / "unit.o"
    assert compile_object(GCC, flags, src, obj, _run) is False
    assert compile_object(GCC, flags, src, obj, _run) is True
    # Include paths do not matter, the headers' contents do.
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(header, moved / "unit.h")
    assert compile_object(GCC, [*FLAGS, f"-I{moved}"], src, obj, _run) is True
    header.write_text("#define UNIT_VALUE 8\n")
    assert compile_object(GCC, flags, src, obj, _run) is False
    assert compile_object(GCC, [*flags, "-Os"], src, obj, _run) is False
    assert object_key(GCC, FLAGS, "int a;") != object_key(GCC, [*FLAGS, "-DX"], "int a;")
    assert object_key(GCC, [*FLAGS, "-I/a"], "int a;") == object_key(GCC, FLAGS, "int a;")
    assert len(list(cache.glob("*.o"))) == 3
