"""The generated C built for Cortex-M4 (portable and DSP kernels) and run in QEMU stays exact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workers.compiler.tflite_reader import read_model
from workers.compiler.verify import random_inputs, run_reference

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)


@pytest.mark.parametrize("dsp", [False, True], ids=["portable", "dsp"])
@pytest.mark.parametrize("name", ["kws_ref_model", "str_ww_ref_model", "ad01_int8"])
def test_cortex_m4_build_matches_reference(name: str, dsp: bool) -> None:
    from workers.compiler.cortex_m import run_on_cortex_m4

    tflite = (MODELS_DIR / f"{name}.tflite").read_bytes()
    model = read_model(tflite)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    sample = random_inputs(inputs, 1, seed=3)[0]
    run = run_on_cortex_m4(tflite, sample, dsp=dsp, per_op=True)
    assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]
    assert run.instructions > 0
    assert len(run.per_op_instructions) == len(model.operators)
    assert sum(run.per_op_instructions) <= run.instructions
    assert 0 < run.code_bytes < 16 * 1024
