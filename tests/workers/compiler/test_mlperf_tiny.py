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


def test_real_inputs_are_checked_too() -> None:
    """Non-random inputs (here: constant and ramp images, as a dataset's windows would be
    passed) go through the same comparison."""
    import numpy as np

    from workers.compiler import verify as verify_api

    tflite = (MODELS_DIR / "kws_ref_model.tflite").read_bytes()
    ramp = np.arange(490, dtype=np.int64).reshape(1, 49, 10, 1) % 256 - 128
    windows = np.concatenate(
        [np.full((1, 49, 10, 1), value) for value in (-128, 0, 83, 127)] + [ramp]
    ).astype(np.int8)
    result = verify_api(tflite, 3, real_inputs=[windows])
    assert result.inputs == 3 + len(windows)
    assert result.differing == 0
