"""The learning blocks: Keras classifiers (dense, 1D-CNN, 2D-CNN, DS-CNN), regression, K-means.

Every Keras block takes the window's flat features (prod(input_shape),) as its model input and
reshapes them itself, so a device feeds the DSP output unchanged. Layers are chosen so that the
int8 converter lowers them to CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, RESHAPE,
MEAN and SOFTMAX only (1-D convolutions are Conv2D with a (k, 1) kernel).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from workers.learn import search
from workers.learn.base import LearnBlock, LearnParam, LearnParamError
from workers.learn.kmeans import KMeansAnomaly
from workers.learn.optimize.settings import optimization_param
from workers.learn.params import (
    conv_filters_param,
    dense_layers_param,
    dropout_param,
    kernel_size_param,
    pool_size_param,
    training_params,
)

if TYPE_CHECKING:  # only for annotations: keras is imported inside build_model
    import keras

    from workers.tuner.space import DataFacts, SearchTrial


class KerasBlock(LearnBlock, ABC):
    """A learning block trained with Keras; subclasses build the network."""

    def build_model(
        self, params: dict[str, Any], input_shape: tuple[int, ...], n_outputs: int
    ) -> keras.Model:
        """The untrained network (flat input, block-specific reshape, output layer)."""
        import keras

        inputs = keras.Input(shape=(math.prod(input_shape),), name="features")
        x = self._body(keras, inputs, params, input_shape)
        if params.get("dropout", 0) > 0:
            x = keras.layers.Dropout(params["dropout"])(x)
        if self.kind == "classification":
            outputs = keras.layers.Dense(n_outputs, activation="softmax", name="scores")(x)
        else:
            outputs = keras.layers.Dense(n_outputs, name="values")(x)
        return keras.Model(inputs, outputs, name=self.name)

    @abstractmethod
    def _body(self, keras: Any, x: Any, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
        """The network between the reshaped input and the output layer."""

    @abstractmethod
    def tune(
        self,
        trial: SearchTrial,
        facts: DataFacts,
        *,
        input_shape: tuple[int, ...],
        max_epochs: int,
    ) -> dict[str, Any]:
        """Complete, valid parameters for features of `input_shape`, sampling the architecture
        and training settings from `trial` (Optuna's suggest API, names prefixed "<block>.");
        epochs = max_epochs with early stopping, seed fixed."""

    @staticmethod
    def _dense_stack(keras: Any, x: Any, layers: list[int]) -> Any:
        for units in layers:
            x = keras.layers.Dense(units, activation="relu")(x)
        return x


class DenseClassifier(KerasBlock):
    """Fully connected layers over the flat features (any DSP output)."""

    name = "classifier-dense"
    title = "Classification (dense)"
    description = "Fully connected network over the features; a good start for motion data."
    kind = "classification"
    params = (
        dense_layers_param((20, 10)),
        dropout_param(),
        *training_params(),
        optimization_param(),
    )

    def _body(self, keras: Any, x: Any, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
        return self._dense_stack(keras, x, params["dense_layers"])

    def tune(
        self,
        trial: SearchTrial,
        facts: DataFacts,
        *,
        input_shape: tuple[int, ...],
        max_epochs: int,
    ) -> dict[str, Any]:
        """Samples the hidden layers (one of DENSE_SHAPES) and the training settings."""
        shape = trial.suggest_categorical(f"{self.name}.dense_layers", search.DENSE_SHAPES)
        params = {
            "dense_layers": [int(units) for units in shape.split(",")],
            **search.training_settings(trial, self.name, max_epochs),
        }
        return self.validate_params(params, input_shape, max(facts.n_classes, 2))


class Regression(DenseClassifier):
    """Fully connected layers predicting one number (mean squared error loss)."""

    name = "regression"
    title = "Regression"
    description = "Fully connected network predicting a numeric value from the features."
    kind = "regression"
    params = (
        dense_layers_param((20, 10)),
        LearnParam(
            "dropout",
            "number",
            0.0,
            "Dropout rate",
            "Fraction of units dropped before the output layer while training.",
            minimum=0,
            maximum=0.9,
        ),
        *training_params(),
        optimization_param(),
    )

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        if n_classes < 1:
            raise LearnParamError("n_classes", "a regression predicts at least 1 value")


def _pooled(length: int, pool: int, layers: int) -> list[int]:
    """Lengths along one axis after each of `layers` pooling steps ("valid" pooling floors)."""
    out = []
    for _ in range(layers):
        length = length // pool if pool > 1 else length
        out.append(length)
    return out


class Conv1dClassifier(KerasBlock):
    """1-D convolutions over time: the features reshaped to (steps, channels)."""

    name = "classifier-conv1d"
    title = "Classification (1D CNN)"
    description = (
        "1-D convolutional network over time series: 2-D features (steps x channels, e.g. raw "
        "data or MFCC frames) as they are, flat features as (features / channels, channels)."
    )
    kind = "classification"
    params = (
        conv_filters_param((8, 16)),
        kernel_size_param(3),
        pool_size_param(2),
        LearnParam(
            "channels",
            "integer",
            0,
            "Channels",
            "Channels of the 1-D input: 0 takes the last axis of 2-D features, or 1 for "
            "a flat feature vector; otherwise the flat features are split into steps of "
            "this many values.",
            minimum=0,
            maximum=4096,
        ),
        dense_layers_param(()),
        dropout_param(),
        *training_params(),
        optimization_param(),
    )

    def model_input_shape(
        self, input_shape: tuple[int, ...], params: dict[str, Any]
    ) -> tuple[int, ...]:
        """(steps, 1, channels): a 1-D sequence laid out for Conv2D with (k, 1) kernels."""
        total = math.prod(input_shape)
        channels = params["channels"]
        if channels == 0:
            channels = math.prod(input_shape[1:]) if len(input_shape) >= 2 else 1
        return (total // channels, 1, channels)

    def tune(
        self,
        trial: SearchTrial,
        facts: DataFacts,
        *,
        input_shape: tuple[int, ...],
        max_epochs: int,
    ) -> dict[str, Any]:
        """Samples convolutions over the steps, an optional dense layer, training settings."""
        steps = self.model_input_shape(input_shape, {"channels": 0})[0]
        params = {
            **search.conv_stack(trial, self.name, [steps]),
            **search.dense_head(trial, self.name),
            **search.training_settings(trial, self.name, max_epochs),
        }
        return self.validate_params(params, input_shape, max(facts.n_classes, 2))

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        super()._check_input(params, input_shape, n_classes)
        total = math.prod(input_shape)
        channels = params["channels"]
        if channels and total % channels:
            raise LearnParamError(
                "channels",
                f"{total} features do not split into steps of {channels} channels; "
                f"use a divisor of {total} or 0",
            )
        steps = self.model_input_shape(input_shape, params)[0]
        _check_conv_axis("steps", steps, params)

    def _body(self, keras: Any, x: Any, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
        x = keras.layers.Reshape(self.model_input_shape(shape, params))(x)
        k, pool = params["kernel_size"], params["pool_size"]
        for filters in params["conv_filters"]:
            x = keras.layers.Conv2D(filters, (k, 1), padding="same", activation="relu")(x)
            if pool > 1:
                x = keras.layers.MaxPooling2D((pool, 1))(x)
        x = keras.layers.Flatten()(x)
        return self._dense_stack(keras, x, params["dense_layers"])


def _check_conv_axis(axis_name: str, length: int, params: dict[str, Any]) -> None:
    """A kernel must fit the axis, and pooling must leave at least one step after each layer."""
    k = params["kernel_size"]
    if k > length:
        raise LearnParamError(
            "kernel_size",
            f"kernel of {k} is larger than the input's {length} {axis_name}; use at most {length}",
        )
    layers = len(params["conv_filters"])
    if layers == 0:
        raise LearnParamError("conv_filters", "needs at least one convolution layer")
    lengths = _pooled(length, params["pool_size"], layers)
    if lengths and lengths[-1] < 1:
        fits = sum(1 for n in lengths if n >= 1)
        raise LearnParamError(
            "pool_size",
            f"{layers} pooling layers of {params['pool_size']} shrink {length} {axis_name} to "
            f"nothing; use at most {fits} convolution layers or a smaller pool_size",
        )


def _image_shape(block: LearnBlock, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(rows, columns, channels) of spectrogram-like features; 1-D features do not qualify."""
    if len(input_shape) == 1:
        raise LearnParamError(
            "block",
            f"{block.name} needs 2-D features (frames x coefficients, e.g. MFCC, MFE or "
            f"spectrogram); these are a 1-D vector of {input_shape[0]} features: use "
            f"classifier-dense or classifier-conv1d",
        )
    return (input_shape[0], input_shape[1], math.prod(input_shape[2:]))


class SpectrogramBlock(KerasBlock, ABC):
    """A network over spectrogram-like features, read as an image (frames, coefficients, 1)."""

    def model_input_shape(
        self, input_shape: tuple[int, ...], params: dict[str, Any]
    ) -> tuple[int, ...]:
        """(frames, coefficients, channels)."""
        return _image_shape(self, input_shape)


class Conv2dClassifier(SpectrogramBlock):
    """2-D convolutions over spectrogram-like features (frames, coefficients, 1)."""

    name = "classifier-conv2d"
    title = "Classification (2D CNN)"
    description = "2-D convolutional network over spectrograms (MFCC, MFE, spectrogram)."
    kind = "classification"
    params = (
        conv_filters_param((8, 16)),
        kernel_size_param(3),
        pool_size_param(2),
        dense_layers_param(()),
        dropout_param(),
        *training_params(),
        optimization_param(),
    )

    def tune(
        self,
        trial: SearchTrial,
        facts: DataFacts,
        *,
        input_shape: tuple[int, ...],
        max_epochs: int,
    ) -> dict[str, Any]:
        """Samples convolutions over frames x coefficients, a dense layer, training settings."""
        rows, cols, _ = _image_shape(self, input_shape)
        params = {
            **search.conv_stack(trial, self.name, [rows, cols], widths=(4, 8, 16)),
            **search.dense_head(trial, self.name, (0, 16)),
            **search.training_settings(trial, self.name, max_epochs),
        }
        return self.validate_params(params, input_shape, max(facts.n_classes, 2))

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        super()._check_input(params, input_shape, n_classes)
        rows, cols, _ = _image_shape(self, input_shape)
        _check_conv_axis("frames", rows, params)
        _check_conv_axis("coefficients", cols, params)

    def _body(self, keras: Any, x: Any, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
        x = keras.layers.Reshape(self.model_input_shape(shape, params))(x)
        k, pool = params["kernel_size"], params["pool_size"]
        for filters in params["conv_filters"]:
            x = keras.layers.Conv2D(filters, k, padding="same", activation="relu")(x)
            if pool > 1:
                x = keras.layers.MaxPooling2D(pool)(x)
        x = keras.layers.Flatten()(x)
        return self._dense_stack(keras, x, params["dense_layers"])


class DsCnnClassifier(SpectrogramBlock):
    """Depthwise-separable CNN (keyword spotting style): one standard convolution, then blocks
    of depthwise 3x3 + pointwise 1x1 convolutions, global average pooling, softmax."""

    name = "classifier-dscnn"
    title = "Classification (DS-CNN)"
    description = (
        "Depthwise-separable convolutional network over spectrograms; small and fast on "
        "microcontrollers (keyword spotting)."
    )
    kind = "classification"
    params = (
        LearnParam(
            "conv_filters",
            "array",
            (32, 32, 32),
            "Convolution layers",
            "Filters of the first (standard) convolution, then of the pointwise part of "
            "each depthwise-separable block.",
            max_items=8,
        ),
        kernel_size_param(3),
        LearnParam(
            "pool_size",
            "integer",
            2,
            "Pooling",
            "Max-pooling size after the first convolution; 1 switches it off.",
            minimum=1,
            maximum=8,
        ),
        dropout_param(0.1),
        *training_params(),
        optimization_param(),
    )

    def tune(
        self,
        trial: SearchTrial,
        facts: DataFacts,
        *,
        input_shape: tuple[int, ...],
        max_epochs: int,
    ) -> dict[str, Any]:
        """Samples one width for all layers, the separable blocks and the training settings."""
        rows, cols, _ = _image_shape(self, input_shape)
        width = trial.suggest_categorical(f"{self.name}.filters", search.DSCNN_WIDTHS)
        blocks = trial.suggest_int(f"{self.name}.blocks", 1, search.MOST_DSCNN_BLOCKS)
        params = {
            "conv_filters": [width] * (1 + blocks),
            "kernel_size": min(3, rows, cols),
            "pool_size": 2 if min(rows, cols) >= 2 else 1,
            **search.training_settings(trial, self.name, max_epochs),
        }
        return self.validate_params(params, input_shape, max(facts.n_classes, 2))

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        super()._check_input(params, input_shape, n_classes)
        rows, cols, _ = _image_shape(self, input_shape)
        k, pool = params["kernel_size"], params["pool_size"]
        if not params["conv_filters"]:
            raise LearnParamError("conv_filters", "needs at least one convolution layer")
        for axis_name, length in (("frames", rows), ("coefficients", cols)):
            if k > length:
                raise LearnParamError(
                    "kernel_size",
                    f"kernel of {k} is larger than the input's {length} {axis_name}; "
                    f"use at most {length}",
                )
            if length // pool < 1:
                raise LearnParamError(
                    "pool_size", f"pooling by {pool} leaves no {axis_name} of {length}"
                )

    def _body(self, keras: Any, x: Any, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
        x = keras.layers.Reshape(self.model_input_shape(shape, params))(x)
        k, pool = params["kernel_size"], params["pool_size"]
        first, *rest = params["conv_filters"]
        x = keras.layers.Conv2D(first, k, padding="same", activation="relu")(x)
        if pool > 1:
            x = keras.layers.MaxPooling2D(pool)(x)
        for filters in rest:
            x = keras.layers.DepthwiseConv2D(k, padding="same", activation="relu")(x)
            x = keras.layers.Conv2D(filters, 1, activation="relu")(x)
        # Lowered to MEAN over the spatial axes by the converter.
        return keras.layers.GlobalAveragePooling2D()(x)


LEARN_BLOCKS: dict[str, LearnBlock] = {
    block.name: block
    for block in (
        DenseClassifier(),
        Conv1dClassifier(),
        Conv2dClassifier(),
        DsCnnClassifier(),
        Regression(),
        KMeansAnomaly(),
    )
}


def get_learn_block(name: str) -> LearnBlock:
    """The learning block called `name`; LearnParamError (field "block") if there is none."""
    try:
        return LEARN_BLOCKS[name]
    except KeyError:
        known = ", ".join(sorted(LEARN_BLOCKS))
        raise LearnParamError(
            "block", f"unknown learning block {name!r} (known: {known})"
        ) from None
