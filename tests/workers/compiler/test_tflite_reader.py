"""The TFLite flatbuffer reader against LiteRT's own view of the same models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.compiler.tflite_reader import TfliteFormatError, builtin_name, read_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
MLPERF_TINY_MODELS = (
    "ad01_int8",
    "kws_ref_model",
    "pretrainedResnet_quant",
    "str_ww_ref_model",
    "vww_96_int8",
)


@pytest.mark.parametrize("name", MLPERF_TINY_MODELS)
def test_reader_matches_litert_tensors_and_ops(name: str) -> None:
    from ai_edge_litert.interpreter import Interpreter

    data = (MODELS_DIR / f"{name}.tflite").read_bytes()
    model = read_model(data)
    interpreter = Interpreter(model_content=data)
    ops = interpreter._get_ops_details()
    assert [op.opcode for op in model.operators] == [op["op_name"] for op in ops]
    for ours, theirs in zip(model.operators, ops, strict=True):
        assert ours.inputs == [int(i) for i in theirs["inputs"]]
        assert ours.outputs == [int(i) for i in theirs["outputs"]]
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    for tensor in model.tensors:
        detail = details[tensor.index]
        assert tensor.name == detail["name"]
        assert list(tensor.shape) == [int(d) for d in detail["shape"]]
        assert tensor.dtype == detail["dtype"]
        q = detail["quantization_parameters"]
        if tensor.quantization is not None:
            np.testing.assert_array_equal(tensor.quantization.scales, q["scales"])
            np.testing.assert_array_equal(tensor.quantization.zero_points, q["zero_points"])
            assert tensor.quantization.quantized_dimension == q["quantized_dimension"]
        if tensor.is_constant:
            np.testing.assert_array_equal(tensor.array(), interpreter.get_tensor(tensor.index))
    assert model.inputs == [d["index"] for d in interpreter.get_input_details()]
    assert model.outputs == [d["index"] for d in interpreter.get_output_details()]


def test_reader_reads_builtin_options_of_kws() -> None:
    model = read_model((MODELS_DIR / "kws_ref_model.tflite").read_bytes())
    first = model.operators[0]
    assert first.opcode == "CONV_2D"
    assert first.options["stride_h"] == 2 and first.options["stride_w"] == 2
    assert first.options["fused_activation_function"] == 1  # RELU
    softmax = model.operators[-1]
    assert softmax.opcode == "SOFTMAX" and softmax.options["beta"] == pytest.approx(1.0)


def test_builtin_names_follow_the_schema_enum() -> None:
    assert builtin_name(0) == "ADD"
    assert builtin_name(3) == "CONV_2D"
    assert builtin_name(70) == "EXPAND_DIMS"
    assert builtin_name(114) == "QUANTIZE"
    assert builtin_name(9999) == "BUILTIN_9999"


def test_reader_rejects_bytes_that_are_not_tflite() -> None:
    with pytest.raises(TfliteFormatError, match="TFL3"):
        read_model(b"\x00" * 64)
