"""Knowledge distillation on tiny synthetic data, through workers.learn.optimize: from a
teacher run or a twice-as-wide teacher trained first, with the student trained alone for
comparison; wrong teachers, regression and cancelling."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from workers.learn import LearnParamError, TrainingCancelled, train
from workers.learn.blocks import KerasBlock, get_learn_block
from workers.learn.fitting import FitData, FitHooks
from workers.learn.optimize import OptimizeRequest, optimize
from workers.learn.training import load_keras, save_keras

DISTIL = {"distillation": True, "temperature": 3.0, "alpha": 0.6}


def _keras_block(name: str) -> KerasBlock:
    block = get_learn_block(name)
    assert isinstance(block, KerasBlock)
    return block


def _windows(
    seed: int, n: int, shape: tuple[int, ...], classes: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` classes: a class pattern plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    width = int(np.prod(shape))
    patterns = np.random.default_rng(100).normal(size=(classes, width)) * 1.2
    x = patterns[y] + rng.normal(size=(n, width))
    return x.reshape(n, *shape).astype(np.float32), y


def _request(
    block_name: str,
    shape: tuple[int, ...],
    params: dict[str, Any],
    *,
    hooks: FitHooks | None = None,
    teacher: bytes | None = None,
) -> OptimizeRequest:
    x, y = _windows(0, 120, shape)
    x_val, y_val = _windows(1, 45, shape)
    block = _keras_block(block_name)
    checked = block.validate_params({**params, "optimization": DISTIL}, shape, 3)
    data = FitData("classification", x.reshape(120, -1), y, x_val.reshape(45, -1), y_val)
    return OptimizeRequest(
        block, checked, shape, 3, data, hooks or FitHooks(), teacher_model=teacher
    )


def test_distillation_trains_a_wider_teacher_then_the_student() -> None:
    epochs: list[int] = []
    request = _request(
        "classifier-conv2d",
        (16, 8),
        {"conv_filters": [4, 8], "dense_layers": [], "epochs": 6, "learning_rate": 0.01},
        hooks=FitHooks(on_epoch=lambda e, _m: epochs.append(e)),
    )
    result = optimize(request)

    report = result.report["distillation"]
    assert report["teacher_source"] == "trained, ×2 width"
    assert (report["temperature"], report["alpha"]) == (3.0, 0.6)
    assert report["teacher_parameters"] > report["student_parameters"]
    ratio = report["student_parameters"] / report["teacher_parameters"]
    assert report["student_teacher_ratio"] == pytest.approx(ratio)
    accuracy = report["float_accuracy"]
    assert set(accuracy) == {"teacher", "student_alone", "distilled"}
    assert min(accuracy.values()) >= 0.8, accuracy
    # Teacher, student alone, distilled student: 6 epochs each, numbered as one sequence.
    assert report["epochs"] == [6, 6, 6] and epochs == list(range(1, 19))
    assert [row["epoch"] for row in result.history] == epochs

    teacher, alone = result.companions["teacher"], result.companions["student_alone"]
    assert [w.shape for w in teacher.weights][0] == (3, 3, 1, 8)
    built = request.block.build_model(request.params, (16, 8), 3)
    for model in (result.model, alone):
        assert [w.shape for w in model.weights] == [w.shape for w in built.weights]
    assert [layer.name for layer in result.model.layers][-1] == "scores"
    assert teacher.trainable
    assert result.params == request.params


def test_distillation_follows_a_chosen_teacher_run() -> None:
    x, y = _windows(0, 120, (24,))
    x_val, y_val = _windows(1, 45, (24,))
    teacher_run = train(
        "classifier-dense",
        {"dense_layers": [32, 16], "epochs": 8, "learning_rate": 0.01},
        x,
        y,
        x_val,
        y_val,
        n_classes=3,
    )
    request = _request(
        "classifier-dense",
        (24,),
        {"dense_layers": [6], "epochs": 8, "learning_rate": 0.01},
        teacher=teacher_run.keras_model,
    )
    result = optimize(request)

    report = result.report["distillation"]
    assert report["teacher_source"] == "run"
    assert report["epochs"] == [8, 8]
    assert report["teacher_parameters"] == 24 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3
    assert report["student_parameters"] == 24 * 6 + 6 + 6 * 3 + 3
    assert min(report["float_accuracy"].values()) >= 0.8, report["float_accuracy"]
    assert set(result.companions) == {"teacher", "student_alone"}
    # The teacher is followed, never trained.
    assert teacher_run.keras_model is not None
    chosen = load_keras(teacher_run.keras_model).get_weights()
    for kept, given in zip(result.companions["teacher"].get_weights(), chosen, strict=True):
        np.testing.assert_array_equal(kept, given)


@pytest.mark.parametrize(
    "classes,width,words",
    [(4, 24, "scores 4 classes"), (3, 12, "takes 12 features")],
)
def test_a_teacher_of_other_classes_or_features_is_refused(
    classes: int, width: int, words: str
) -> None:
    block = _keras_block("classifier-dense")
    params = block.validate_params({"dense_layers": [4]}, (width,), classes)
    teacher = save_keras(block.build_model(params, (width,), classes))
    request = _request("classifier-dense", (24,), {"dense_layers": [4]}, teacher=teacher)
    with pytest.raises(LearnParamError) as raised:
        optimize(request)
    assert raised.value.field == "teacher_run_id"
    assert words in raised.value.message


def test_regression_cannot_be_distilled() -> None:
    block = _keras_block("regression")
    shape = (6,)
    params = block.validate_params({"optimization": DISTIL}, shape, 1)
    x = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    data = FitData("regression", x, x[:, :1])
    with pytest.raises(LearnParamError) as raised:
        optimize(OptimizeRequest(block, params, shape, 1, data, FitHooks()))
    assert raised.value.field == "optimization.distillation"
    assert "classifier" in raised.value.message


def test_distillation_stops_when_the_job_is_cancelled() -> None:
    seen: list[int] = []
    request = _request(
        "classifier-dense",
        (24,),
        {"dense_layers": [4], "epochs": 20},
        hooks=FitHooks(on_epoch=lambda e, _m: seen.append(e), should_stop=lambda: len(seen) >= 2),
    )
    with pytest.raises(TrainingCancelled) as raised:
        optimize(request)
    assert raised.value.epochs_done == 2 and seen == [1, 2]
