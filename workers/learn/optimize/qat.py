"""Quantization-aware training: fine-tunes a trained network while it sees the rounding of the
int8 model it will become, so that the int8 conversion follows the float model more closely.

Keras 3's own means, not the TF Model Optimization Toolkit: tfmot's `quantize_model` takes
tf-keras (Keras 2) models only, and our blocks are Keras 3 networks (tf-keras is not
installed). The network is cloned with QAT twins of its Conv2D, DepthwiseConv2D and Dense
layers, which fake-quantize as TFLite's int8 converter quantizes:

- the features (the model's input) asymmetric int8, as the int8 model takes them;
- kernels symmetric int8 per output channel ([-127, 127], scale = max|w| / 127);
- outputs asymmetric int8 over a range calibrated on the fit windows, then tracked by an
  exponential moving average of each batch's min/max; after a fused activation (ReLU), and
  before a softmax, since the converter quantizes the logits and runs SOFTMAX on a fixed grid;
- both with straight-through gradients (keras.quantizers.fake_quant_with_min_max_vars).

The fine-tuned float weights then go back into a clone of the plain network, so the result
converts through `quantize_int8` (post-training calibration of the QAT-trained weights) into
the same fully int8 `.tflite` of device operators as any run, and no custom layer remains.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from workers.learn.fitting import compile_model, fit
from workers.learn.optimize.steps import OptimizeRequest, StepOutcome

# Weight of the running range against one batch's min/max (TensorFlow's QAT uses 0.999 over
# far more steps; a fine-tune of a few hundred steps needs the range to move).
RANGE_DECAY = 0.99
# Windows per eager call while calibrating the output ranges.
CALIBRATION_BATCH = 256
# Fine-tuning runs at this fraction of the run's learning rate: it adjusts trained weights.
LEARNING_RATE_FACTOR = 0.1


def quantization_aware(model: Any, request: OptimizeRequest) -> StepOutcome:
    """Fine-tunes `model` with int8 fake quantization; returns a plain model of its layers."""
    import keras

    params, data = request.params, request.data
    epochs = int(request.settings["fine_tune_epochs"])
    x_eval, y_eval, evaluated_on = (
        (data.x_val, data.y_val, "validation")
        if data.x_val is not None and data.y_val is not None
        else (data.x_fit, data.y_fit, "training")
    )
    before = _int8_follows_float(model, data.x_fit, x_eval, y_eval, data.kind)

    keras.utils.set_random_seed(params["seed"])
    qat_model, inner = _qat_clone(keras, model)
    _calibrate(keras, qat_model, inner, data.x_fit)
    learning_rate = params["learning_rate"] * LEARNING_RATE_FACTOR
    compile_model(qat_model, data.kind, learning_rate)
    request.hooks.say(
        f"quantization-aware training: {epochs} epochs at learning rate {learning_rate:g}"
    )
    history = fit(
        qat_model,
        data,
        epochs=epochs,
        batch_size=params["batch_size"],
        patience=params["early_stopping"],
        hooks=request.hooks,
    )

    plain = keras.models.clone_model(model)
    _copy_float_weights(inner, plain)
    after = _int8_follows_float(plain, data.x_fit, x_eval, y_eval, data.kind)
    report = {
        "method": "fake-quantized fine-tuning (Keras 3): int8 weights per output channel, "
        "int8 activations over moving-average ranges, straight-through gradients",
        "epochs": len(history),
        "learning_rate": learning_rate,
        "evaluated_on": evaluated_on,
        "before": before,
        "after": after,
    }
    return StepOutcome(plain, request.params, report)


def _int8_follows_float(
    model: Any, representative: np.ndarray, x: np.ndarray, y: np.ndarray, kind: str
) -> dict[str, float]:
    """How close `model`'s int8 conversion stays to it on windows x, and both metrics."""
    from workers.learn.evaluate import predict
    from workers.learn.quantize import quantize_int8

    float_out = np.asarray(model.predict(x, batch_size=CALIBRATION_BATCH, verbose=0))
    int8_out = predict(quantize_int8(model, representative), x)
    if kind == "classification":
        float_class, int8_class = float_out.argmax(axis=1), int8_out.argmax(axis=1)
        return {
            "float_accuracy": float(np.mean(float_class == y)),
            "int8_accuracy": float(np.mean(int8_class == y)),
            "int8_float_agreement": float(np.mean(int8_class == float_class)),
            # Finer than agreement: how far the int8 class scores are from the float ones.
            "int8_float_mean_abs_difference": float(np.abs(int8_out - float_out).mean()),
        }
    truth = np.asarray(y, dtype=np.float64).reshape(float_out.shape)
    return {
        "float_mae": float(np.abs(float_out - truth).mean()),
        "int8_mae": float(np.abs(int8_out - truth).mean()),
        "int8_float_mean_abs_difference": float(np.abs(int8_out - float_out).mean()),
    }


def _qat_clone(keras: Any, model: Any) -> tuple[Any, Any]:
    """The network to fine-tune, and inside it `model`'s clone whose Conv2D/DepthwiseConv2D/
    Dense layers are QAT twins holding the same weights (same layer and variable names, so
    weights can be matched both ways). Its input is fake-quantized first: the int8 model
    takes int8 features."""
    classes = _qat_classes(keras)

    def clone(layer: Any) -> Any:
        twin = classes.twins.get(type(layer))
        return (twin or type(layer)).from_config(layer.get_config())

    inner = keras.models.clone_model(model, clone_function=clone)
    for layer in inner.layers:
        source = {v.name: v for v in model.get_layer(layer.name).weights}
        for variable in layer.weights:
            if variable.name in source:
                variable.assign(source[variable.name])
        if isinstance(layer, classes.kernel_quantizer):
            layer.keep_zeros()
    features = keras.Input(shape=model.input_shape[1:], name="features")
    qat_model = keras.Model(
        features, inner(classes.input_quantizer(name="features_int8")(features))
    )
    return qat_model, inner


def _calibrate(keras: Any, qat_model: Any, inner: Any, x: np.ndarray) -> None:
    """Starts every quantized tensor's range at its min/max over `x`, as the converter's
    calibration would find it for the weights as they are now."""
    quantizer = _qat_classes(keras).output_quantizer
    layers = [layer for layer in qat_model.layers + inner.layers if isinstance(layer, quantizer)]
    for layer in layers:
        layer.calibrating = True
    try:
        for start in range(0, x.shape[0], CALIBRATION_BATCH):
            # Eager calls: the flag above is read on every call, not frozen into a graph.
            qat_model(x[start : start + CALIBRATION_BATCH], training=False)
    finally:
        for layer in layers:
            layer.calibrating = False


def _copy_float_weights(tuned: Any, plain: Any) -> None:
    """Every weight of `plain` from the same-named layer and variable of `tuned`."""
    for layer in plain.layers:
        source = {v.name: v for v in tuned.get_layer(layer.name).weights}
        for variable in layer.weights:
            variable.assign(source[variable.name])


class _QatClasses(NamedTuple):
    output_quantizer: type[Any]  # every layer that fake-quantizes what it outputs
    kernel_quantizer: type[Any]  # the twins, which also fake-quantize their kernel
    input_quantizer: type[Any]
    twins: dict[type[Any], type[Any]]  # Keras layer class -> its QAT twin


@functools.cache
def _qat_classes(keras: Any) -> _QatClasses:
    """The fake-quantizing layers (built once keras is imported)."""
    ops = keras.ops
    fake_quant = keras.quantizers.fake_quant_with_min_max_vars

    class OutputQuantizer:
        """Fake quantization of a layer's output over a calibrated, then tracked, range."""

        calibrating = False

        def _add_range(self: Any) -> None:
            self.range_min = self.add_weight(
                name="output_min", shape=(), initializer="zeros", trainable=False
            )
            self.range_max = self.add_weight(
                name="output_max", shape=(), initializer="zeros", trainable=False
            )

        def _fake_output(self: Any, outputs: Any, training: Any) -> Any:
            # The converter's ranges always hold zero, so that zero is exactly representable.
            low = ops.minimum(ops.min(outputs), 0.0)
            high = ops.maximum(ops.max(outputs), 0.0)
            if self.calibrating:
                self.range_min.assign(ops.minimum(self.range_min, low))
                self.range_max.assign(ops.maximum(self.range_max, high))
                return outputs
            if training:
                self.range_min.assign(RANGE_DECAY * self.range_min + (1 - RANGE_DECAY) * low)
                self.range_max.assign(RANGE_DECAY * self.range_max + (1 - RANGE_DECAY) * high)
            return fake_quant(outputs, self.range_min, self.range_max, num_bits=8)

    class InputQuantizer(OutputQuantizer, keras.layers.Layer):  # type: ignore[misc]
        def build(self, input_shape: Any) -> None:
            self._add_range()

        def call(self, inputs: Any, training: Any = None) -> Any:
            return self._fake_output(inputs, training)

    class KernelQuantizer(OutputQuantizer):
        """Also the kernel per output channel; the twins' calls use `_fake_kernel`."""

        def build(self: Any, input_shape: Any) -> None:
            super().build(input_shape)  # type: ignore[misc]
            self._add_range()
            # Zero weights (unstructured pruning) stay zero: the mask stops their gradient.
            self.kernel_mask = self.add_weight(
                name="kernel_mask", shape=self.kernel.shape, initializer="ones", trainable=False
            )

        def keep_zeros(self: Any) -> None:
            self.kernel_mask.assign(ops.cast(ops.not_equal(self.kernel, 0), "float32"))

        def _fake_kernel(self: Any, channels: int) -> Any:
            """The kernel on its int8 grid; the last axes make `channels` output channels."""
            kernel = self.kernel * self.kernel_mask
            flat = ops.reshape(kernel, (-1, channels))
            # A channel of zeros would give a zero-width range (a division by zero).
            bound = ops.maximum(ops.max(ops.abs(flat), axis=0), 1e-8)
            quantized = fake_quant(flat, -bound, bound, num_bits=8, narrow_range=True, axis=-1)
            return ops.reshape(quantized, ops.shape(kernel))

        def _finish(self: Any, outputs: Any, training: Any) -> Any:
            """Activation and output quantization of the biased outputs."""
            if self.activation is keras.activations.softmax:
                return self.activation(self._fake_output(outputs, training))
            if self.activation is not None:
                outputs = self.activation(outputs)
            return self._fake_output(outputs, training)

    def _bias_shape(rank: int, channels: int) -> tuple[int, ...]:
        # Our blocks are channels-last throughout.
        return (1,) * (rank + 1) + (channels,)

    class QatConv2D(KernelQuantizer, keras.layers.Conv2D):  # type: ignore[misc]
        def call(self, inputs: Any, training: Any = None) -> Any:
            outputs = self.convolution_op(inputs, self._fake_kernel(self.filters))
            if self.use_bias:
                outputs = outputs + ops.reshape(self.bias, _bias_shape(2, self.filters))
            return self._finish(outputs, training)

    class QatDepthwiseConv2D(KernelQuantizer, keras.layers.DepthwiseConv2D):  # type: ignore[misc]
        def call(self, inputs: Any, training: Any = None) -> Any:
            # Output channel c * multiplier + m comes from input channel c: one scale each.
            channels = int(self.kernel.shape[-2] * self.kernel.shape[-1])
            outputs = ops.depthwise_conv(
                inputs,
                self._fake_kernel(channels),
                strides=self.strides,
                padding=self.padding,
                dilation_rate=self.dilation_rate,
                data_format=self.data_format,
            )
            if self.use_bias:
                outputs = outputs + ops.reshape(self.bias, _bias_shape(2, channels))
            return self._finish(outputs, training)

    class QatDense(KernelQuantizer, keras.layers.Dense):  # type: ignore[misc]
        def call(self, inputs: Any, training: Any = None) -> Any:
            outputs = ops.matmul(inputs, self._fake_kernel(self.units))
            if self.use_bias:
                outputs = outputs + self.bias
            return self._finish(outputs, training)

    twins: dict[type[Any], type[Any]] = {
        keras.layers.Conv2D: QatConv2D,
        keras.layers.DepthwiseConv2D: QatDepthwiseConv2D,
        keras.layers.Dense: QatDense,
    }
    return _QatClasses(OutputQuantizer, KernelQuantizer, InputQuantizer, twins)
