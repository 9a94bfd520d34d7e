"""The generated C as a library: its header contract, its build on host and Cortex-M, its errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from workers.compiler import CompileReport, UnsupportedModelError, compile_model
from workers.compiler.kernel_files import (
    KERNEL_DIR,
    KERNEL_FILES,
    KERNEL_SOURCES,
    kernel_sources,
)
from workers.compiler.verify import run_reference

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
STRICT_C99 = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2"]


def test_report_figures_for_keyword_spotting(tmp_path: Path) -> None:
    data = (MODELS_DIR / "kws_ref_model.tflite").read_bytes()
    report = compile_model(data, tmp_path)
    assert isinstance(report, CompileReport)
    assert report.ops[0] == "CONV_2D" and report.ops[-1] == "SOFTMAX"
    assert len(report.ops) == 13
    # DS-CNN small: 2.66 M multiply-accumulates per inference (MLPerf Tiny's figure).
    assert report.macs == 2_656_768
    assert 0 < report.arena_bytes <= report.lower_bound
    assert report.weights_bytes < report.tflite_bytes
    assert report.tflite_bytes == len(data)
    assert sorted(report.files) == sorted([*KERNEL_FILES, "ts_model.c", "ts_model.h"])


def test_the_kernel_list_names_every_kernel_file() -> None:
    assert sorted(p.name for p in KERNEL_DIR.iterdir()) == sorted(KERNEL_FILES)


def test_header_follows_the_c_api_contract(tmp_path: Path) -> None:
    compile_model((MODELS_DIR / "kws_ref_model.tflite").read_bytes(), tmp_path)
    header = (tmp_path / "ts_model.h").read_text()
    for macro in (
        "TS_MODEL_ARENA_BYTES",
        "TS_MODEL_INPUT_COUNT        1",
        "TS_MODEL_OUTPUT_COUNT       1",
        "TS_MODEL_INPUT0_TYPE        TS_TYPE_INT8",
        "TS_MODEL_INPUT0_ELEMENTS    490",
        "TS_MODEL_INPUT0_BYTES       490",
        "TS_MODEL_INPUT0_ZERO_POINT  (83)",
        "TS_MODEL_OUTPUT0_ELEMENTS    12",
        "TS_MODEL_OUTPUT0_ZERO_POINT  (-128)",
    ):
        assert macro in header
    assert "#ifndef TS_TYPE_INT8\n#define TS_TYPE_INT8 9" in header
    for symbol in (
        "void *ts_model_input(int index);",
        "void *ts_model_output(int index);",
        "int ts_model_invoke(void);",
        "const char *const ts_model_op_names[];",
    ):
        assert symbol in header
    source = (tmp_path / "ts_model.c").read_text()
    assert "malloc" not in source
    assert re.search(
        r"static uint8_t ts_model_arena\[\d+\] __attribute__\(\(aligned\(16\)\)\)", source
    )
    includes = set(re.findall(r"#include <([^>]+)>", source + header))
    kernels = "".join((tmp_path / name).read_text() for name in KERNEL_FILES)
    includes |= set(re.findall(r"#include <([^>]+)>", kernels))
    assert includes <= {"stdint.h", "stddef.h", "string.h", "math.h"}


def test_two_models_link_into_one_program(tmp_path: Path) -> None:
    """Distinct prefixes let two compiled models live in one firmware; each stays exact."""
    kws = (MODELS_DIR / "kws_ref_model.tflite").read_bytes()
    anomaly = (MODELS_DIR / "ad01_int8.tflite").read_bytes()
    compile_model(kws, tmp_path / "kws", prefix="kws_model")
    compile_model(anomaly, tmp_path / "ad", prefix="ad_model")
    main = tmp_path / "main.c"
    main.write_text(
        """#include <stdio.h>
#include "kws_model.h"
#include "ad_model.h"
int main(void) {
    if (fread(kws_model_input(0), 1, KWS_MODEL_INPUT0_BYTES, stdin) != KWS_MODEL_INPUT0_BYTES)
        return 3;
    if (fread(ad_model_input(0), 1, AD_MODEL_INPUT0_BYTES, stdin) != AD_MODEL_INPUT0_BYTES)
        return 3;
    if (kws_model_invoke() != 0 || ad_model_invoke() != 0) return 2;
    fwrite(kws_model_output(0), 1, KWS_MODEL_OUTPUT0_BYTES, stdout);
    fwrite(ad_model_output(0), 1, AD_MODEL_OUTPUT0_BYTES, stdout);
    return 0;
}
"""
    )
    binary = tmp_path / "both"
    subprocess.run(
        [
            "gcc",
            *STRICT_C99,
            "-I",
            str(tmp_path / "kws"),
            "-I",
            str(tmp_path / "ad"),
            "-o",
            str(binary),
            str(main),
            str(tmp_path / "kws" / "kws_model.c"),
            str(tmp_path / "ad" / "ad_model.c"),
            *map(str, kernel_sources(tmp_path / "kws")),
            "-lm",
        ],
        check=True,
    )
    rng = np.random.default_rng(5)
    kws_in = rng.integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)
    ad_in = rng.integers(-128, 128, size=(1, 640), dtype=np.int8)
    out = subprocess.run(
        [str(binary)], input=kws_in.tobytes() + ad_in.tobytes(), capture_output=True, check=True
    ).stdout

    from workers.compiler.tflite_reader import read_model

    expected = b""
    for data, sample in ((kws, kws_in), (anomaly, ad_in)):
        model = read_model(data)
        ins = [model.tensors[i] for i in model.inputs]
        outs = [model.tensors[i] for i in model.outputs]
        expected += run_reference(data, [[sample]], ins, outs)[0]
    assert out == expected


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
def test_generated_c_builds_for_cortex_m4(tmp_path: Path) -> None:
    compile_model((MODELS_DIR / "kws_ref_model.tflite").read_bytes(), tmp_path)
    for source in ("ts_model.c", *KERNEL_SOURCES):
        subprocess.run(
            [
                "arm-none-eabi-gcc",
                "-mcpu=cortex-m4",
                "-mthumb",
                "-mfloat-abi=hard",
                "-mfpu=fpv4-sp-d16",
                *STRICT_C99,
                "-Os",
                "-c",
                "-I",
                str(tmp_path),
                "-o",
                str(tmp_path / (source + ".o")),
                str(tmp_path / source),
            ],
            check=True,
        )
        assert (tmp_path / (source + ".o")).stat().st_size > 0


def test_unsupported_op_names_the_op_and_layer(
    tmp_path: Path, keras_to_tflite: Callable[..., bytes]
) -> None:
    from keras import layers

    tflite = keras_to_tflite(
        lambda x: layers.Dense(3)(
            layers.Flatten()(layers.Activation("exponential", name="grow")(x))
        ),
        (4, 4, 2),
    )
    with pytest.raises(UnsupportedModelError) as error:
        compile_model(tflite, tmp_path)
    message = str(error.value)
    assert re.search(
        r"operator \d+ EXP \(layer '[^']*grow[^']*'\): operator is not supported",
        message,
    ), message
    # The message lists what the compiler takes and points to the table.
    assert "CONV_2D, DEPTHWISE_CONV_2D" in message and "workers/compiler/README.md" in message
    assert not (tmp_path / "ts_model.c").exists()


def test_float_model_names_the_unsupported_tensor_type(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6, 6, 2), batch_size=1)
    hidden = layers.Conv2D(3, 3, name="float_conv")(inputs)
    model = keras.Model(inputs, layers.Conv2D(2, 1)(hidden))
    tflite = bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    with pytest.raises(UnsupportedModelError) as error:
        compile_model(tflite, tmp_path)
    message = str(error.value)
    assert re.search(r"operator 0 CONV_2D \(layer '[^']*float_conv[^']*'\)", message), message
    assert "FLOAT32" in message and "INT8" in message
