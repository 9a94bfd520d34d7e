"""The five MLPerf Tiny models: generated C identical to LiteRT's reference on 1,000 inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.compiler.verify import verify

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
MLPERF_TINY_MODELS = (
    "ad01_int8",
    "kws_ref_model",
    "pretrainedResnet_quant",
    "str_ww_ref_model",
    "vww_96_int8",
)
INPUTS = 1000


@pytest.mark.parametrize("name", MLPERF_TINY_MODELS)
def test_mlperf_tiny_model_is_bit_exact(name: str) -> None:
    result = verify((MODELS_DIR / f"{name}.tflite").read_bytes(), INPUTS, seed=2026)
    assert result.inputs == INPUTS
    assert result.differing == 0, f"{result.differing} differ; first at {result.first_differing_op}"
