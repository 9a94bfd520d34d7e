"""Damaged models: truncations and byte flips of the five MLPerf Tiny models end in C that is
verified against LiteRT or in a refusal that names the problem, never in a traceback or in C
that differs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from workers.compiler import TfliteFormatError, UnsupportedModelError, compile_model, verify

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
MODELS = sorted(MODELS_DIR.glob("*.tflite"))
CASES_PER_MODEL = 12

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the host C compiler")


def _damaged(data: bytes, rng: np.random.Generator, case: int) -> tuple[str, bytes]:
    """Even cases cut the file short; odd ones flip 1-8 bits, half of them in the first 4 KB
    (where the converter writes the tables) and the rest anywhere."""
    if case % 2 == 0:
        cut = int(rng.integers(0, len(data)))
        return f"cut at {cut}", data[:cut]
    damaged = bytearray(data)
    flips = []
    for _ in range(int(rng.integers(1, 9))):
        limit = len(data) if rng.random() < 0.5 else min(len(data), 4096)
        position = int(rng.integers(0, limit))
        damaged[position] ^= 1 << int(rng.integers(0, 8))
        flips.append(position)
    return f"bits flipped at {flips}", bytes(damaged)


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_damaged_models_are_verified_or_refused_by_name(model: Path, tmp_path: Path) -> None:
    assert len(MODELS) == 5
    data = model.read_bytes()
    rng = np.random.default_rng(sum(data[:64]))
    outcomes = {"verified": 0, "refused": 0}
    for case in range(CASES_PER_MODEL):
        how, damaged = _damaged(data, rng, case)
        try:
            compile_model(damaged, tmp_path / str(case))
            result = verify(damaged, 2, seed=case)
        except (TfliteFormatError, UnsupportedModelError) as exc:
            assert str(exc), how
            outcomes["refused"] += 1
            continue
        except ValueError as exc:  # e.g. a fused activation the compiler has no kernel for
            assert "not supported" in str(exc) or "prefix" in str(exc), (how, exc)
            outcomes["refused"] += 1
            continue
        assert result.differing == 0, (how, result)
        outcomes["verified"] += 1
    assert sum(outcomes.values()) == CASES_PER_MODEL
    assert outcomes["refused"] >= CASES_PER_MODEL // 2 - 2, outcomes  # most cuts are refused
