"""Ten small architectures that Keras (and PyTorch, through converters) users commonly export,
built with random weights and quantized to int8 the way an uploaded float model is (LiteRT's
post-training quantizer on random representative inputs): the compiler benchmark's second set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Builder = Callable[[Any], Any]


def _mobilenet_v1(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((96, 96, 3), batch_size=1)
    x = layers.ReLU(6.0)(layers.Conv2D(8, 3, strides=2, padding="same")(inputs))
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)):
        x = layers.ReLU(6.0)(layers.DepthwiseConv2D(3, strides=stride, padding="same")(x))
        x = layers.ReLU(6.0)(layers.Conv2D(filters, 1)(x))
    # Average pooling over the last 6 x 6 map, as the original does; logits out: with random
    # weights their range is wide enough that LiteRT's reference SOFTMAX aborts in its prepare.
    x = layers.Flatten()(layers.AveragePooling2D(6)(x))
    return keras.Model(inputs, layers.Dense(2)(x))


def _inverted_residual(keras: Any, x: Any, expand: int, out: int, stride: int) -> Any:
    layers = keras.layers
    h = layers.ReLU(6.0)(layers.Conv2D(expand, 1)(x))
    h = layers.ReLU(6.0)(layers.DepthwiseConv2D(3, strides=stride, padding="same")(h))
    h = layers.Conv2D(out, 1)(h)
    return layers.Add()([x, h]) if stride == 1 and x.shape[-1] == out else h


def _mobilenet_v2(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((96, 96, 3), batch_size=1)
    x = layers.ReLU(6.0)(layers.Conv2D(16, 3, strides=2, padding="same")(inputs))
    for expand, out, stride in ((48, 16, 1), (48, 24, 2), (72, 24, 1), (72, 32, 2), (96, 32, 1)):
        x = _inverted_residual(keras, x, expand, out, stride)
    x = layers.GlobalAveragePooling2D()(layers.ReLU(6.0)(layers.Conv2D(128, 1)(x)))
    return keras.Model(inputs, layers.Softmax()(layers.Dense(3)(x)))


def _mobilenet_v3_block(keras: Any) -> Any:
    """Hard-swish activations and a squeeze-and-excitation gate (MUL)."""
    layers = keras.layers
    inputs = keras.Input((48, 48, 3), batch_size=1)
    x = keras.ops.hard_swish(layers.Conv2D(16, 3, strides=2, padding="same")(inputs))
    h = keras.ops.hard_swish(layers.DepthwiseConv2D(3, padding="same")(x))
    gate = layers.GlobalAveragePooling2D(keepdims=True)(h)
    gate = layers.Dense(16, activation="hard_sigmoid")(layers.Dense(8, activation="relu")(gate))
    x = layers.Add()([x, layers.Conv2D(16, 1)(layers.Multiply()([h, gate]))])
    x = layers.GlobalAveragePooling2D()(keras.ops.hard_swish(layers.Conv2D(64, 1)(x)))
    return keras.Model(inputs, layers.Softmax()(layers.Dense(4)(x)))


def _ds_cnn_kws(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((49, 10, 1), batch_size=1)
    x = layers.ReLU()(layers.Conv2D(64, (10, 4), strides=2, padding="same")(inputs))
    for _ in range(4):
        x = layers.ReLU()(layers.DepthwiseConv2D(3, padding="same")(x))
        x = layers.ReLU()(layers.Conv2D(64, 1)(x))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(12)(x)))


def _conv1d_flatten(keras: Any) -> Any:
    """Open batch dimension: the converter's shape arithmetic for Flatten is folded."""
    layers = keras.layers
    inputs = keras.Input((128, 3))
    x = layers.MaxPooling1D(2)(layers.Conv1D(16, 5, activation="relu")(inputs))
    x = layers.MaxPooling1D(2)(layers.Conv1D(32, 3, activation="relu")(x))
    x = layers.Dense(32, activation="relu")(layers.Flatten()(x))
    return keras.Model(inputs, layers.Softmax()(layers.Dense(6)(x)))


def _conv_autoencoder(keras: Any) -> Any:
    """Strided convolutions down, TRANSPOSE_CONV up."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 1), batch_size=1)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    return keras.Model(inputs, x)


def _dense_autoencoder(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((320,), batch_size=1)
    x = inputs
    for units in (64, 32, 8, 32, 64):
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(320)(x))


def _resnet8(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((32, 32, 3), batch_size=1)
    x = layers.ReLU()(layers.Conv2D(16, 3, padding="same")(inputs))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        h = layers.ReLU()(layers.Conv2D(filters, 3, strides=stride, padding="same")(x))
        h = layers.Conv2D(filters, 3, padding="same")(h)
        skip = x if stride == 1 else layers.Conv2D(filters, 1, strides=stride)(x)
        x = layers.ReLU()(layers.Add()([skip, h]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(10)(x)))


def _leaky_cnn(keras: Any) -> Any:
    """A tiny detector-style backbone: LeakyReLU and max pooling."""
    layers = keras.layers
    inputs = keras.Input((64, 64, 1), batch_size=1)
    x = inputs
    for filters in (8, 16, 32):
        x = layers.LeakyReLU(negative_slope=0.1)(layers.Conv2D(filters, 3, padding="same")(x))
        x = layers.MaxPooling2D(2)(x)
    return keras.Model(inputs, layers.Conv2D(6, 1)(x))


def _upsampling_segmenter(keras: Any) -> Any:
    """Encoder, nearest-neighbour resize back up, an ADD skip: a tiny segmentation head."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3), batch_size=1)
    skip = layers.ReLU()(layers.Conv2D(8, 3, padding="same")(inputs))
    x = layers.ReLU()(layers.Conv2D(8, 3, strides=2, padding="same")(skip))
    x = layers.ReLU()(layers.Conv2D(8, 3, padding="same")(x))
    x = layers.Resizing(32, 32, interpolation="nearest")(x)
    x = layers.Add()([x, skip])
    return keras.Model(inputs, layers.Softmax()(layers.Conv2D(3, 1)(x)))


ARCHITECTURES: dict[str, Builder] = {
    "mobilenet_v1_96": _mobilenet_v1,
    "mobilenet_v2_96": _mobilenet_v2,
    "mobilenet_v3_block_48": _mobilenet_v3_block,
    "ds_cnn_kws": _ds_cnn_kws,
    "conv1d_flatten_open_batch": _conv1d_flatten,
    "conv_autoencoder_transpose_conv": _conv_autoencoder,
    "dense_autoencoder": _dense_autoencoder,
    "resnet8_32": _resnet8,
    "leaky_relu_cnn_64": _leaky_cnn,
    "upsampling_segmenter_32": _upsampling_segmenter,
}


def build_int8(name: str, seed: int = 0) -> bytes:
    """The architecture with random weights as a fully int8 `.tflite`, quantized by the
    studio's own path for uploaded float models (workers.byo.quantize) on random inputs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from workers.byo.quantize import quantize

    keras.utils.set_random_seed(seed)
    model = ARCHITECTURES[name](keras)
    shape = [int(d) for d in model.inputs[0].shape[1:]]
    inputs = np.random.default_rng(seed).uniform(-1.0, 1.0, (64, *shape)).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="ts-arch-") as tmp:
        path = Path(tmp) / f"{name}.keras"
        model.save(path)
        int8, _ = quantize(path.read_bytes(), "keras", inputs)
    return int8


def build_all(names: list[str], out_dir: Path) -> dict[str, bytes]:
    """Every named architecture as int8 `.tflite` bytes, built in a child process: TensorFlow
    loaded beside the TFLM interpreter (the benchmark's arena comparison) crashes the process."""
    subprocess.run(
        [sys.executable, "-m", "benchmarks.architectures", str(out_dir), *names],
        check=True, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    return {name: (out_dir / f"{name}.tflite").read_bytes() for name in names}


if __name__ == "__main__":
    target = Path(sys.argv[1])
    for arch in sys.argv[2:]:
        (target / f"{arch}.tflite").write_bytes(build_int8(arch))
