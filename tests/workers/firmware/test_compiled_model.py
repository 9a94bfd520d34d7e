"""Real models through the whole path: TFLite -> model compiler -> firmware -> QEMU, vs LiteRT."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from workers.boards import get_board
from workers.firmware.build import build_firmware
from workers.firmware.profile import profile
from workers.firmware.qemu import VirtualBoardSession

MODELS = Path(__file__).resolve().parents[2] / "data" / "models"
# Keyword spotting (DS-CNN, 12 classes) and the anomaly-detection autoencoder (640 outputs).
REAL_MODELS = ["kws_ref_model", "ad01_int8"]
compile_model = getattr(importlib.import_module("workers.compiler"), "compile_model", None)

pytestmark = [
    pytest.mark.slow,  # compiles real models and runs them in QEMU
    pytest.mark.skipif(
        compile_model is None, reason="workers.compiler.compile_model is not available yet"
    ),
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each real model compiled to C once for this module."""
    assert compile_model is not None
    dirs = {}
    for name in REAL_MODELS:
        out = tmp_path_factory.mktemp(name)
        compile_model((MODELS / f"{name}.tflite").read_bytes(), out)
        assert (out / "ts_model.h").is_file()
        dirs[name] = out
    return dirs


def _litert_scores(model: Path, window: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF
    )
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    scale, zero_point = inp["quantization"]
    # The firmware's quantization: float32 division, halves away from zero, saturate.
    v = (window / np.float32(scale)).astype(np.float64)
    q = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point, -128, 127)
    interpreter.set_tensor(inp["index"], q.astype(np.int8).reshape(inp["shape"]))
    interpreter.invoke()
    raw = interpreter.get_tensor(out["index"]).reshape(-1).astype(np.int32)
    out_scale, out_zero_point = out["quantization"]
    return (raw - out_zero_point).astype(np.float32) * np.float32(out_scale)


@pytest.mark.parametrize("name", REAL_MODELS)
def test_compiled_model_classifies_like_litert_on_a_virtual_board(
    name: str, compiled: dict[str, Path], tmp_path: Path
) -> None:
    board = get_board("virtual-cortex-m4")
    build = build_firmware(board, compiled[name], tmp_path / "fw")
    rng = np.random.default_rng(5)
    with VirtualBoardSession(board, build.elf) as session:
        info = session.info()
        tensor = info["inputs"][0]
        assert tensor["type"] == "int8"
        # Slightly past the int8 range on both sides, so saturation is exercised too.
        lo = (-140 - tensor["zero_point"]) * tensor["scale"]
        hi = (140 - tensor["zero_point"]) * tensor["scale"]
        for _ in range(3):
            window = rng.uniform(lo, hi, info["signal_values"]).astype(np.float32)
            answer = session.classify(window)
            expected = _litert_scores(MODELS / f"{name}.tflite", window)
            assert np.array_equal(np.asarray(answer["scores"], np.float32), expected)
            assert answer["label_index"] == int(np.argmax(expected))


def test_compiled_kws_profile_counts_instructions(compiled: dict[str, Path]) -> None:
    result = profile("virtual-cortex-m4", compiled["kws_ref_model"])
    # DS-CNN keyword spotting is about 2.7 M multiply-accumulates.
    assert result["latency"]["stage_instructions"]["inference"] > 2_000_000
    assert result["flash"]["parts"]["model_weights"] > 20_000
    assert result["flash"]["model_bytes"] > result["flash"]["parts"]["model_weights"]
    assert result["ram"]["arena_bytes"] == 11_840  # the compiler's plan for DS-CNN
