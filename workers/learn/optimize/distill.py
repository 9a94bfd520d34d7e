"""Knowledge distillation: the configured network (the student) learns from a teacher's
softened scores as well as from the labels (Hinton et al., 2015).

The teacher is a chosen run's model, or the same block TEACHER_WIDTH times as wide trained
first. The student is also trained alone, from the same seed, so the report can show what the
teacher added. The student returned is the block's own network, so it converts as usual.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from workers.learn.base import LearnParamError
from workers.learn.fitting import FitHooks, compile_model, fit
from workers.learn.optimize.settings import TEACHER_WIDTH
from workers.learn.optimize.steps import OptimizeRequest, StepOutcome

# Probabilities are clipped here before their logarithm (a teacher's score may be 0).
SMALLEST_SCORE = 1e-7


def distil(model: Any, request: OptimizeRequest) -> StepOutcome:
    """Trains the teacher (unless chosen), the student alone, then the distilled student.

    `model` is not used: distillation trains the configured network from scratch."""
    del model
    import keras

    block, params, data = request.block, request.params, request.data
    if block.kind != "classification":
        raise LearnParamError(
            "optimization.distillation",
            "needs a classifier: it follows the teacher's class scores, which a "
            f"{block.kind} block does not have",
        )
    settings = request.settings
    temperature, alpha = float(settings["temperature"]), float(settings["alpha"])
    epochs = _EpochCounter(request.hooks)
    x_eval, y_eval, evaluated_on = (
        (data.x_val, data.y_val, "validation")
        if data.x_val is not None and data.y_val is not None
        else (data.x_fit, data.y_fit, "training")
    )

    if request.teacher_model is not None:
        teacher = _chosen_teacher(request)
        source = "run"
    else:
        wide = _widened(params)
        request.hooks.say(f"distillation: training a teacher {TEACHER_WIDTH}x as wide")
        teacher = _trained(_seeded(keras, request, wide), request, epochs)
        source = f"trained, ×{TEACHER_WIDTH} width"

    request.hooks.say("distillation: training the student alone, for comparison")
    alone = _trained(_seeded(keras, request, params), request, epochs)

    request.hooks.say(
        f"distillation: training the student (temperature {temperature:g}, alpha {alpha:g})"
    )
    student = _seeded(keras, request, params)
    teacher.trainable = False  # followed, not trained
    try:
        distiller = _distiller_class(keras)(student, teacher, temperature, alpha)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        compile_model(distiller, data.kind, params["learning_rate"], loss=loss)
        _fit(distiller, request, epochs)
    finally:
        teacher.trainable = True

    teacher_size, student_size = teacher.count_params(), student.count_params()
    report = {
        "temperature": temperature,
        "alpha": alpha,
        "teacher_source": source,
        "teacher_parameters": int(teacher_size),
        "student_parameters": int(student_size),
        "student_teacher_ratio": student_size / teacher_size,
        "evaluated_on": evaluated_on,
        "float_accuracy": {
            "teacher": _accuracy(teacher, x_eval, y_eval),
            "student_alone": _accuracy(alone, x_eval, y_eval),
            "distilled": _accuracy(student, x_eval, y_eval),
        },
        "epochs": epochs.per_fit,
    }
    companions = {"teacher": teacher, "student_alone": alone}
    return StepOutcome(student, request.params, report, companions)


class _EpochCounter:
    """Numbers the epochs of the step's successive fits on from one another, so that the run's
    history stays one sequence; remembers how many each fit ran."""

    def __init__(self, hooks: FitHooks) -> None:
        self.hooks = hooks
        self.per_fit: list[int] = []

    def next_fit(self) -> FitHooks:
        offset = sum(self.per_fit)
        self.per_fit.append(0)
        outer = self.hooks.on_epoch

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            self.per_fit[-1] = epoch
            if outer is not None:
                outer(offset + epoch, metrics)

        return FitHooks(on_epoch, self.hooks.should_stop, self.hooks.say)


def _chosen_teacher(request: OptimizeRequest) -> Any:
    """The chosen run's model, checked to score the same classes from the same features."""
    from workers.learn.training import load_keras

    assert request.teacher_model is not None
    teacher = load_keras(request.teacher_model)
    outputs = int(teacher.output_shape[-1])
    if outputs != request.n_outputs:
        raise LearnParamError(
            "teacher_run_id",
            f"the teacher run scores {outputs} classes and this run {request.n_outputs}: "
            "choose a run trained on the same labels",
        )
    width, expected = math.prod(teacher.input_shape[1:]), math.prod(request.input_shape)
    if width != expected:
        raise LearnParamError(
            "teacher_run_id",
            f"the teacher run takes {width} features per window and this run {expected}: "
            "choose a run of the same processing blocks",
        )
    return teacher


def _widened(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with TEACHER_WIDTH times the filters and units in every layer."""
    wide = dict(params)
    for key in ("conv_filters", "dense_layers"):
        if key in wide:
            wide[key] = [n * TEACHER_WIDTH for n in wide[key]]
    return wide


def _seeded(keras: Any, request: OptimizeRequest, params: dict[str, Any]) -> Any:
    """The block's network for `params`, initialised from the run's seed (so that the student
    alone and the distilled one start from the same weights and see the same batches)."""
    keras.utils.set_random_seed(request.params["seed"])
    return request.block.build_model(params, request.input_shape, request.n_outputs)


def _trained(model: Any, request: OptimizeRequest, epochs: _EpochCounter) -> Any:
    compile_model(model, request.data.kind, request.params["learning_rate"])
    _fit(model, request, epochs)
    return model


def _fit(model: Any, request: OptimizeRequest, epochs: _EpochCounter) -> None:
    fit(
        model,
        request.data,
        epochs=request.params["epochs"],
        batch_size=request.params["batch_size"],
        patience=request.params["early_stopping"],
        hooks=epochs.next_fit(),
    )


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    scores = np.asarray(model.predict(x, batch_size=256, verbose=0))
    return float(np.mean(scores.argmax(axis=1) == y))


@functools.cache
def _distiller_class(keras: Any) -> type:
    """The training wrapper (built once keras is imported)."""
    ops = keras.ops

    class Distiller(keras.Model):  # type: ignore[misc]
        """Outputs the student's logits; its loss mixes the compiled cross-entropy on the
        labels with the KL divergence from the teacher's softened scores (scaled by T² so
        that its gradients keep their size as T changes)."""

        def __init__(self, student: Any, teacher: Any, temperature: float, alpha: float):
            super().__init__()
            output = student.layers[-1]
            # The student ends in a softmax layer: its input and weights give exact logits
            # (the log of clipped probabilities would flatten the gradient of small scores).
            self.features = keras.Model(student.inputs, output.input)
            self.output_layer = output
            self.teacher = teacher
            self.temperature = temperature
            self.alpha = alpha

        def call(self, x: Any, training: Any = None) -> Any:
            hidden = self.features(x, training=training)
            return ops.matmul(hidden, self.output_layer.kernel) + self.output_layer.bias

        def compute_loss(
            self,
            x: Any = None,
            y: Any = None,
            y_pred: Any = None,
            sample_weight: Any = None,
            training: bool = True,
        ) -> Any:
            labels_loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            teacher_scores = ops.clip(self.teacher(x, training=False), SMALLEST_SCORE, 1.0)
            # softmax(log(p) / T) is the teacher's softmax(logits / T): the shift cancels.
            soft_targets = ops.softmax(ops.log(teacher_scores) / self.temperature)
            student_log = ops.log_softmax(y_pred / self.temperature)
            target_log = ops.log(ops.clip(soft_targets, SMALLEST_SCORE, 1.0))
            divergence = ops.sum(soft_targets * (target_log - student_log), axis=-1)
            if sample_weight is not None:
                divergence = divergence * ops.reshape(sample_weight, ops.shape(divergence))
            teacher_loss = ops.mean(divergence) * self.temperature**2
            return self.alpha * teacher_loss + (1 - self.alpha) * labels_loss

    return Distiller
