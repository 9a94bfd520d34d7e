"""Learning blocks of an impulse: training (Keras), int8 quantization and evaluation (LiteRT).

Plain functions over numpy arrays and bytes. TensorFlow and LiteRT are imported inside the
functions that need them, never when this package is imported.

Public API:
    LEARN_BLOCKS, get_learn_block(name) -> LearnBlock
        block.name, .title, .kind ("classification" | "regression" | "anomaly"),
        .parameters_schema(), .defaults(), .validate_params(params, input_shape, n_classes),
        .model_input_shape(input_shape, params)
    train(block_name, params, x_train, y_train, x_val, y_val, *, n_classes,
          on_epoch=None, should_stop=None, log=None, baseline_model=None,
          teacher_model=None) -> TrainResult (optimized when params ask: workers.learn.optimize)
    quantize_int8(model, representative, *, max_samples=300, seed=0) -> bytes
    float_tflite(model) -> bytes (float32 .tflite of .keras bytes or a Keras model)
    predict(model, x) -> np.ndarray
    evaluate(model, x, y, *, kind, labels) -> dict
    anomaly_scores(state, x) -> np.ndarray
    tflite_ops(tflite_bytes) -> list[str]; DEVICE_OPS (operators the C compiler runs)
    LearnParamError(field, message), TrainingCancelled(epochs_done)
"""

from __future__ import annotations

from workers.learn.base import KINDS, LearnBlock, LearnParamError, TrainingCancelled
from workers.learn.blocks import LEARN_BLOCKS, get_learn_block
from workers.learn.evaluate import evaluate, predict
from workers.learn.kmeans import anomaly_scores
from workers.learn.quantize import DEVICE_OPS, quantize_int8, tflite_ops
from workers.learn.training import TrainResult, float_tflite, train

__all__ = [
    "DEVICE_OPS",
    "KINDS",
    "LEARN_BLOCKS",
    "LearnBlock",
    "LearnParamError",
    "TrainResult",
    "TrainingCancelled",
    "anomaly_scores",
    "evaluate",
    "float_tflite",
    "get_learn_block",
    "predict",
    "quantize_int8",
    "tflite_ops",
    "train",
]
