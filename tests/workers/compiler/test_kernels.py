"""One small int8 model per operator: the generated C must match LiteRT's reference bit for bit."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import numpy as np
import pytest

from workers.compiler.kernel_files import KERNEL_DIR, kernel_sources
from workers.compiler.tflite_reader import read_model
from workers.compiler.verify import verify

INPUTS_PER_MODEL = 300


def _cases() -> dict[str, tuple[Callable[[object], object], tuple[int, ...], str]]:
    """name -> (Keras graph builder, input shape, an op the model must contain)."""
    import keras
    from keras import layers

    return {
        "conv2d_same_relu": (
            lambda x: layers.Conv2D(6, 3, padding="same", activation="relu")(x),
            (7, 9, 3),
            "CONV_2D",
        ),
        "conv2d_valid_stride2_relu6": (
            lambda x: layers.ReLU(6.0)(layers.Conv2D(5, (3, 2), strides=2)(x)),
            (11, 8, 2),
            "CONV_2D",
        ),
        "conv2d_dilated": (
            lambda x: layers.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
            (9, 9, 2),
            "CONV_2D",
        ),
        # One input channel: a small window (ts_conv2d_small_s8), border pixels included.
        "conv2d_one_channel": (
            lambda x: layers.Conv2D(7, 3, strides=(1, 2), padding="same", activation="relu")(x),
            (8, 11, 1),
            "CONV_2D",
        ),
        "conv1d": (
            lambda x: layers.Conv1D(8, 3, padding="same", activation="relu")(x),
            (20, 4),
            "RESHAPE",
        ),
        "depthwise_multiplier2_stride2": (
            lambda x: layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same")(x),
            (7, 7, 3),
            "DEPTHWISE_CONV_2D",
        ),
        "depthwise_relu": (
            lambda x: layers.DepthwiseConv2D(3, activation="relu")(x),
            (6, 6, 4),
            "DEPTHWISE_CONV_2D",
        ),
        "fully_connected_softmax": (
            lambda x: layers.Softmax()(layers.Dense(7)(layers.Dense(16, activation="relu")(x))),
            (10,),
            "SOFTMAX",
        ),
        "average_pool_same": (
            lambda x: layers.AveragePooling2D(3, strides=2, padding="same")(x),
            (9, 9, 3),
            "AVERAGE_POOL_2D",
        ),
        "max_pool": (
            lambda x: layers.MaxPooling2D(2)(layers.Conv2D(4, 3)(x)),
            (9, 9, 2),
            "MAX_POOL_2D",
        ),
        # More channels than the portable kernel keeps per group (64), windows cut by padding.
        "max_pool_wide_same": (
            lambda x: layers.MaxPooling2D(3, strides=2, padding="same")(layers.Conv2D(70, 1)(x)),
            (7, 6, 3),
            "MAX_POOL_2D",
        ),
        "max_pool1d": (
            lambda x: layers.MaxPooling1D(2)(layers.Conv1D(4, 3)(x)),
            (16, 3),
            "MAX_POOL_2D",
        ),
        "global_average_pool_mean": (
            lambda x: layers.GlobalAveragePooling2D()(layers.Conv2D(6, 3, activation="relu")(x)),
            (8, 8, 2),
            "MEAN",
        ),
        "mean_one_axis": (
            lambda x: keras.ops.mean(layers.Conv2D(4, 1)(x), axis=2),
            (5, 6, 2),
            "MEAN",
        ),
        "logistic": (
            lambda x: layers.Dense(5, activation="sigmoid")(x),
            (12,),
            "LOGISTIC",
        ),
        "tanh": (
            lambda x: layers.Dense(6, activation="tanh")(x),
            (9,),
            "TANH",
        ),
        "relu_after_concatenation": (
            lambda x: layers.ReLU()(
                layers.Concatenate()([layers.Conv2D(3, 1)(x), layers.Conv2D(5, 1)(x)])
            ),
            (4, 4, 2),
            "RELU",
        ),
        "relu6_after_mean": (
            lambda x: layers.ReLU(6.0)(layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(x))),
            (6, 6, 2),
            "RELU6",
        ),
        "concatenation": (
            lambda x: layers.Concatenate()([layers.Conv2D(3, 1)(x), layers.Conv2D(5, 1)(x)]),
            (4, 4, 2),
            "CONCATENATION",
        ),
        "pad": (
            lambda x: layers.Conv2D(3, 3)(layers.ZeroPadding2D(((1, 2), (0, 1)))(x)),
            (5, 5, 2),
            "PAD",
        ),
        "add_relu6": (
            lambda x: layers.ReLU(6.0)(
                layers.Add()([layers.Conv2D(4, 1)(x), layers.Conv2D(4, 1)(x)])
            ),
            (6, 6, 3),
            "ADD",
        ),
        "add_broadcast": (
            lambda x: layers.Add()(
                [
                    layers.Conv2D(4, 1)(x),
                    layers.GlobalAveragePooling2D(keepdims=True)(layers.Conv2D(4, 1)(x)),
                ]
            ),
            (5, 5, 2),
            "ADD",
        ),
        "sub_relu": (
            lambda x: layers.ReLU()(
                layers.Subtract()([layers.Conv2D(4, 1)(x), layers.Conv2D(4, 1)(x)])
            ),
            (6, 6, 3),
            "SUB",
        ),
        # A squeeze-and-excitation gate: per-channel scales broadcast over the pixels.
        "mul_broadcast": (
            lambda x: layers.Multiply()(
                [
                    layers.Conv2D(4, 1)(x),
                    layers.Dense(4, activation="sigmoid")(
                        layers.GlobalAveragePooling2D(keepdims=True)(layers.Conv2D(4, 1)(x))
                    ),
                ]
            ),
            (5, 5, 2),
            "MUL",
        ),
        "mul_square": (
            lambda x: (lambda h: layers.Multiply()([h, h]))(layers.Dense(6)(x)),
            (10,),
            "MUL",
        ),
        "maximum": (
            lambda x: layers.Maximum()([layers.Dense(6)(x), layers.Dense(6)(x)]),
            (10,),
            "MAXIMUM",
        ),
        "minimum": (
            lambda x: layers.Minimum()([layers.Dense(6)(x), layers.Dense(6)(x)]),
            (10,),
            "MINIMUM",
        ),
        "leaky_relu": (
            lambda x: layers.LeakyReLU(negative_slope=0.2)(layers.Dense(12)(x)),
            (10,),
            "LEAKY_RELU",
        ),
        "hard_swish": (
            lambda x: keras.ops.hard_swish(layers.Conv2D(6, 1)(x)),
            (5, 5, 2),
            "HARD_SWISH",
        ),
        "transpose": (
            lambda x: layers.Permute((3, 1, 2))(layers.Conv2D(4, 1)(x)),
            (3, 5, 2),
            "TRANSPOSE",
        ),
        "split": (
            lambda x: layers.Subtract()(keras.ops.split(layers.Dense(8)(x), 2, axis=-1)),
            (10,),
            "SPLIT",
        ),
        "split_v": (
            lambda x: (lambda parts: layers.Add()([layers.Dense(4)(p) for p in parts]))(
                keras.ops.split(layers.Dense(8)(x), [3], axis=-1)
            ),
            (10,),
            "SPLIT_V",
        ),
        "transpose_conv_same_stride2": (
            lambda x: layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x),
            (4, 5, 3),
            "TRANSPOSE_CONV",
        ),
        "transpose_conv_valid": (
            lambda x: layers.Conv2DTranspose(3, (2, 3), padding="valid")(x),
            (3, 4, 2),
            "TRANSPOSE_CONV",
        ),
        "resize_nearest": (
            lambda x: layers.Resizing(6, 8, interpolation="nearest")(layers.Conv2D(3, 1)(x)),
            (3, 4, 2),
            "RESIZE_NEAREST_NEIGHBOR",
        ),
        "resize_nearest_half_pixel": (
            lambda x: layers.Resizing(7, 5, interpolation="nearest")(layers.Conv2D(3, 1)(x)),
            (3, 4, 2),
            "RESIZE_NEAREST_NEIGHBOR",
        ),
        # A Dense layer on a sequence: FULLY_CONNECTED with keep_num_dims.
        "dense_keep_num_dims": (
            lambda x: layers.Dense(4, activation="relu")(x),
            (5, 6),
            "FULLY_CONNECTED",
        ),
        "pad_value": (
            lambda x: keras.ops.pad(
                layers.Conv2D(3, 1)(x), [[0, 0], [1, 2], [2, 0], [0, 0]], constant_values=0.75
            ),
            (4, 5, 2),
            "PADV2",
        ),
        "prelu": (
            lambda x: layers.PReLU(
                alpha_initializer=keras.initializers.RandomUniform(0.05, 0.6), shared_axes=[1, 2]
            )(layers.Conv2D(4, 1)(x)),
            (4, 5, 2),
            "PRELU",
        ),
        "flatten_dense": (
            lambda x: layers.Dense(3)(layers.Flatten()(layers.Conv2D(2, 3)(x))),
            (5, 5, 1),
            "RESHAPE",
        ),
    }


CASE_NAMES = (
    "conv2d_same_relu",
    "conv2d_valid_stride2_relu6",
    "conv2d_dilated",
    "conv2d_one_channel",
    "conv1d",
    "depthwise_multiplier2_stride2",
    "depthwise_relu",
    "fully_connected_softmax",
    "average_pool_same",
    "max_pool",
    "max_pool1d",
    "global_average_pool_mean",
    "mean_one_axis",
    "logistic",
    "tanh",
    "relu_after_concatenation",
    "relu6_after_mean",
    "concatenation",
    "pad",
    "add_relu6",
    "add_broadcast",
    "sub_relu",
    "mul_broadcast",
    "mul_square",
    "maximum",
    "minimum",
    "leaky_relu",
    "hard_swish",
    "transpose",
    "split",
    "split_v",
    "transpose_conv_same_stride2",
    "transpose_conv_valid",
    "resize_nearest",
    "resize_nearest_half_pixel",
    "dense_keep_num_dims",
    "pad_value",
    "prelu",
    "flatten_dense",
)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_kernel_is_bit_exact(name: str, keras_to_tflite: Callable[..., bytes]) -> None:
    build, shape, expected_op = _cases()[name]
    tflite = keras_to_tflite(build, shape)
    ops = [op.opcode for op in read_model(tflite).operators]
    assert expected_op in ops
    result = verify(tflite, INPUTS_PER_MODEL, seed=1)
    assert result.differing == 0, result.first_differing_op


def test_float_input_and_output_quantize_and_dequantize(
    keras_to_tflite: Callable[..., bytes],
) -> None:
    from keras import layers

    tflite = keras_to_tflite(lambda x: layers.Dense(4, activation="relu")(x), (6,), int8_io=False)
    ops = [op.opcode for op in read_model(tflite).operators]
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    result = verify(tflite, INPUTS_PER_MODEL)
    assert result.differing == 0, result.first_differing_op


def _rewrite_views(tflite: bytes) -> bytes:
    """Turns a Conv1D model's RESHAPE pair into EXPAND_DIMS and SQUEEZE (as older converters
    and hand-written graphs emit them)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    graph = model.subgraphs[0]

    def opcode(code: int) -> int:
        entry = schema.OperatorCodeT()
        entry.builtinCode = code
        entry.deprecatedBuiltinCode = min(code, 127)
        entry.version = 1
        model.operatorCodes.append(entry)
        return len(model.operatorCodes) - 1

    first, last = graph.operators[0], graph.operators[-1]
    before = list(graph.tensors[first.inputs[0]].shape)
    after = list(graph.tensors[first.outputs[0]].shape)
    axis = next(i for i in range(len(after)) if before[:i] + [1] + before[i:] == after)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.array([axis], dtype="<i4").tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    axis_tensor = schema.TensorT()
    axis_tensor.shape = np.array([], dtype=np.int32)
    axis_tensor.type = schema.TensorType.INT32
    axis_tensor.buffer = len(model.buffers) - 1
    axis_tensor.name = b"expand_axis"
    graph.tensors.append(axis_tensor)
    first.opcodeIndex = opcode(schema.BuiltinOperator.EXPAND_DIMS)
    first.inputs = np.array([first.inputs[0], len(graph.tensors) - 1], dtype=np.int32)
    first.builtinOptionsType = schema.BuiltinOptions.ExpandDimsOptions
    first.builtinOptions = schema.ExpandDimsOptionsT()

    squeezed_in = list(graph.tensors[last.inputs[0]].shape)
    squeezed_out = list(graph.tensors[last.outputs[0]].shape)
    squeeze_axis = next(
        i for i in range(len(squeezed_in)) if squeezed_in[:i] + squeezed_in[i + 1 :] == squeezed_out
    )
    last.opcodeIndex = opcode(schema.BuiltinOperator.SQUEEZE)
    last.inputs = np.array([last.inputs[0]], dtype=np.int32)
    last.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
    options = schema.SqueezeOptionsT()
    options.squeezeDims = [squeeze_axis]
    last.builtinOptions = options

    builder = flatbuffers.Builder(len(tflite) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_expand_dims_and_squeeze_share_bytes(keras_to_tflite: Callable[..., bytes]) -> None:
    from keras import layers

    from workers.compiler.codegen import generate

    conv1d = keras_to_tflite(lambda x: layers.Conv1D(6, 3, activation="relu")(x), (16, 4))
    tflite = _rewrite_views(conv1d)
    model = read_model(tflite)
    assert [op.opcode for op in model.operators] == ["EXPAND_DIMS", "CONV_2D", "SQUEEZE"]
    generated = generate(model)
    expand, squeeze = model.operators[0], model.operators[2]
    assert generated.plan.offsets[expand.outputs[0]] == generated.plan.offsets[expand.inputs[0]]
    assert generated.plan.offsets[squeeze.outputs[0]] == generated.plan.offsets[squeeze.inputs[0]]
    result = verify(tflite, INPUTS_PER_MODEL)
    assert result.differing == 0, result.first_differing_op


def _conv_pool(keras_to_tflite: Callable[..., bytes]) -> bytes:
    """A 3x3 convolution over 2 channels (18-byte windows, gathered) and a padded 3x3 pool."""
    from keras import layers

    return keras_to_tflite(
        lambda x: layers.MaxPooling2D(3, strides=2, padding="same")(
            layers.Conv2D(7, 3, padding="same")(x)
        ),
        (9, 8, 2),
    )


@pytest.mark.parametrize(
    "defines",
    [
        ("TS_CONV_GATHER_BYTES=18", "TS_POOL_CHUNK=1"),
        ("TS_CONV_GATHER_BYTES=4096", "TS_POOL_CHUNK=3"),
    ],
    ids=["smallest", "large-and-odd"],
)
def test_build_options_keep_the_outputs_exact(
    defines: tuple[str, ...], keras_to_tflite: Callable[..., bytes]
) -> None:
    result = verify(_conv_pool(keras_to_tflite), 30, seed=5, defines=defines)
    assert result.differing == 0


def test_a_gather_buffer_smaller_than_the_models_windows_does_not_build(
    keras_to_tflite: Callable[..., bytes],
) -> None:
    from workers.compiler.verify import HostBuildError

    with pytest.raises(HostBuildError, match="gathers convolution windows of 18 bytes"):
        verify(_conv_pool(keras_to_tflite), 1, defines=("TS_CONV_GATHER_BYTES=17",))


@pytest.mark.parametrize("option", ["TS_CONV_GATHER_BYTES", "TS_CONV_PAIR_RUN", "TS_POOL_CHUNK"])
def test_build_options_that_cannot_work_do_not_compile(option: str) -> None:
    for source in kernel_sources():
        proc = subprocess.run(
            ["gcc", "-fsyntax-only", f"-D{option}=0", f"-I{KERNEL_DIR}", str(source)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode != 0 and "must be at least 1" in proc.stderr, source.name
