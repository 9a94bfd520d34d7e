"""The int8 model of a candidate before it is trained, to measure whether it can fit at all.

RAM, flash and instructions per window follow from the network's layers and shapes, not from
its weights, so the untrained network sized on the board tells, for the cost of one conversion
and one firmware build, whether training it is worth the time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workers import learn
from workers.tuner.space import shapes_of

# Enough random windows for the converter to set every tensor's quantization.
CALIBRATION_WINDOWS = 32


def untrained_int8(spec: dict[str, Any], *, axes: int, n_classes: int, seed: int = 1) -> bytes:
    """The fully int8 .tflite of the candidate's learning block with its initial weights."""
    shape = tuple(shapes_of(spec, axes=axes, n_classes=n_classes)["learn_input_shape"])
    block_spec = spec["learn"][0]
    block = learn.get_learn_block(block_spec["block"])
    params = block.validate_params(block_spec["params"], shape, max(n_classes, 2))
    model = block.build_model(params, shape, max(n_classes, 2))  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    calibration = rng.standard_normal((CALIBRATION_WINDOWS, math.prod(shape))).astype(np.float32)
    return learn.quantize_int8(model, calibration, seed=seed)
