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
    # The painted stack of the invoke, within the static bound from the frames and calls.
    assert run.stack_bound_bytes is not None and 0 < run.stack_bytes <= run.stack_bound_bytes


# First layers over one channel take ts_conv2d_small_s8: 3x3 over a spectrogram-like image
# (inside and border pixels), and 5x1 with stride 2 over a signal.
SMALL_WINDOW_CASES = {
    "3x3_same": (
        (12, 9, 1),
        lambda layers, x: layers.Conv2D(8, 3, padding="same", activation="relu")(x),
    ),
    "5x1_stride2": (
        (21, 1, 1),
        lambda layers, x: layers.Conv2D(5, (5, 1), strides=2, padding="same")(x),
    ),
}


@pytest.mark.parametrize("dsp", [False, True], ids=["portable", "dsp"])
@pytest.mark.parametrize("case", list(SMALL_WINDOW_CASES))
def test_small_window_convolutions_are_exact_on_the_core(
    case: str, dsp: bool, keras_to_tflite
) -> None:  # type: ignore[no-untyped-def]
    from keras import layers

    from workers.compiler.codegen import generate
    from workers.compiler.cortex_m import run_on_cortex_m4

    shape, conv = SMALL_WINDOW_CASES[case]
    tflite = keras_to_tflite(lambda x: layers.MaxPooling2D((2, 1))(conv(layers, x)), shape, seed=4)
    model = read_model(tflite)
    assert "ts_conv2d_small_s8(" in "".join(generate(model, "ts_model").files.values())
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 3, seed=9):
        run = run_on_cortex_m4(tflite, sample, dsp=dsp)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]


@pytest.mark.parametrize("dsp", [False, True], ids=["portable", "dsp"])
def test_binary_ops_are_exact_on_the_core(dsp: bool, keras_to_tflite) -> None:  # type: ignore[no-untyped-def]
    from keras import layers

    from workers.compiler.cortex_m import run_on_cortex_m4

    def build(x):  # type: ignore[no-untyped-def]
        a, b = layers.Conv2D(4, 1)(x), layers.Conv2D(4, 1)(x)
        gate = layers.Dense(4, activation="sigmoid")(
            layers.GlobalAveragePooling2D(keepdims=True)(a)
        )
        mixed = layers.Subtract()([layers.Multiply()([a, gate]), layers.Multiply()([b, b])])
        return layers.Maximum()([layers.Minimum()([mixed, a]), b])

    tflite = keras_to_tflite(build, (5, 6, 3), seed=2)
    model = read_model(tflite)
    assert {"MUL", "SUB", "MAXIMUM", "MINIMUM"} <= {op.opcode for op in model.operators}
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 3, seed=5):
        run = run_on_cortex_m4(tflite, sample, dsp=dsp)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]
