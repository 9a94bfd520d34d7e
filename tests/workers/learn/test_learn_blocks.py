"""Learning blocks without TensorFlow: schemas, validation, K-means anomaly scores, metrics."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workers.learn import (
    LEARN_BLOCKS,
    LearnParamError,
    TrainingCancelled,
    evaluate,
    get_learn_block,
    train,
)
from workers.learn.evaluate import (
    LOG_LOSS_FLOOR,
    classification_metrics,
    log_loss,
    roc_auc,
    roc_curve,
)
from workers.learn.kmeans import anomaly_scores, fit_kmeans
from workers.learn.params import resolved_training, validation_fraction

REPO = Path(__file__).resolve().parents[3]


def test_importing_the_pipeline_does_not_load_tensorflow() -> None:
    code = (
        "import sys, workers.learn, workers.windowing, workers.explore\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'ai_edge_litert') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "none"


def test_every_block_publishes_a_schema_whose_defaults_validate() -> None:
    assert set(LEARN_BLOCKS) == {
        "classifier-dense",
        "classifier-conv1d",
        "classifier-conv2d",
        "classifier-dscnn",
        "regression",
        "anomaly-kmeans",
    }
    for block in LEARN_BLOCKS.values():
        schema = block.parameters_schema()
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert block.kind in ("classification", "regression", "anomaly")
        defaults = {name: prop["default"] for name, prop in schema["properties"].items()}
        shape = (20, 13)  # fits every block, 1-D ones included (flattened)
        assert block.validate_params(defaults, shape, 3) == block.defaults()
        json.dumps(schema)
    keras_blocks = [b for b in LEARN_BLOCKS.values() if b.kind != "anomaly"]
    for block in keras_blocks:
        props = block.parameters_schema()["properties"]
        for common in ("epochs", "learning_rate", "batch_size", "validation_split", "seed"):
            assert common in props
        assert props["augmentation"]["default"] == {"noise_std": 0.0, "time_shift": 0}


@pytest.mark.parametrize(
    "block,params,shape,n_classes,field",
    [
        ("classifier-conv2d", {}, (39,), 3, "block"),
        ("classifier-dscnn", {}, (39,), 3, "block"),
        ("classifier-conv2d", {"kernel_size": 5}, (20, 4), 3, "kernel_size"),
        ("classifier-conv1d", {"kernel_size": 9}, (8,), 3, "kernel_size"),
        ("classifier-conv1d", {"conv_filters": [8, 8, 8, 8]}, (10,), 3, "pool_size"),
        ("classifier-conv1d", {"channels": 7}, (39,), 3, "channels"),
        ("classifier-dense", {"epochs": 0}, (39,), 3, "epochs"),
        ("classifier-dense", {"learning_rate": 0}, (39,), 3, "learning_rate"),
        ("classifier-dense", {"dense_layers": [20, 2.5]}, (39,), 3, "dense_layers"),
        ("classifier-dense", {"dropouts": 0.1}, (39,), 3, "dropouts"),
        ("classifier-dense", {}, (39,), 1, "n_classes"),
        (
            "classifier-dense",
            {"augmentation": {"noise_std": -1}},
            (39,),
            3,
            "augmentation.noise_std",
        ),
        ("classifier-dense", {"augmentation": {"shift": 1}}, (39,), 3, "augmentation.shift"),
        ("anomaly-kmeans", {"clusters": 0}, (39,), 0, "clusters"),
    ],
)
def test_validation_names_what_to_change(
    block: str, params: dict, shape: tuple[int, ...], n_classes: int, field: str
) -> None:
    with pytest.raises(LearnParamError) as raised:
        get_learn_block(block).validate_params(params, shape, n_classes)
    assert raised.value.field == field
    assert raised.value.message


def test_unknown_block_and_the_model_input_layouts() -> None:
    with pytest.raises(LearnParamError) as raised:
        get_learn_block("classifier-lstm")
    assert raised.value.field == "block" and "classifier-dense" in raised.value.message
    conv1d = get_learn_block("classifier-conv1d")
    assert conv1d.model_input_shape((39,), conv1d.defaults()) == (39, 1, 1)
    assert conv1d.model_input_shape((50, 3), conv1d.defaults()) == (50, 1, 3)
    assert conv1d.model_input_shape((39,), {**conv1d.defaults(), "channels": 13}) == (3, 1, 13)
    conv2d = get_learn_block("classifier-conv2d")
    assert conv2d.model_input_shape((49, 13), conv2d.defaults()) == (49, 13, 1)


def test_bad_training_data_is_refused_before_tensorflow_runs() -> None:
    x = np.zeros((10, 4), dtype=np.float32)
    with pytest.raises(LearnParamError) as raised:
        train("classifier-dense", {}, x, np.arange(10) % 5, None, None, n_classes=3)
    assert raised.value.field == "y_train"
    with pytest.raises(LearnParamError) as raised:
        train("classifier-dense", {}, x[:0], np.zeros(0), None, None, n_classes=3)
    assert raised.value.field == "x_train"
    with pytest.raises(LearnParamError) as raised:
        train("classifier-dense", {}, x, np.zeros(10), None, None, n_classes=3)
    assert raised.value.field == "y_train" and "2 labels" in raised.value.message
    x[0, 0] = np.nan
    with pytest.raises(LearnParamError) as raised:
        train("classifier-dense", {}, x, np.arange(10) % 3, None, None, n_classes=3)
    assert raised.value.field == "x_train"


def _normal_and_outliers(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training: two normal blobs. Test: fresh normal windows (0) and a far blob (1)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * 8, [4.0] * 8])
    train_x = np.concatenate([c + rng.normal(size=(150, 8)) for c in centres])
    normal = np.concatenate([c + rng.normal(size=(50, 8)) for c in centres])
    outliers = np.array([[-3.0, 8.0] * 4]) + rng.normal(size=(60, 8))
    test_x = np.concatenate([normal, outliers]).astype(np.float32)
    test_y = np.r_[np.zeros(100), np.ones(60)].astype(np.int64)
    return train_x.astype(np.float32), test_x, test_y


def test_kmeans_scores_separate_an_outlier_cluster() -> None:
    train_x, test_x, test_y = _normal_and_outliers()
    result = train("anomaly-kmeans", {"clusters": 4}, train_x, None, None, None, n_classes=0)
    assert result.kind == "anomaly" and result.float_tflite is None
    state = result.anomaly_state
    assert state is not None
    json.dumps(state)
    assert np.asarray(state["centers"]).shape == (4, 8)
    # Radius = farthest member, threshold = the largest training score: no training window
    # lies outside its nearest cluster's edge.
    assert anomaly_scores(state, train_x).max() <= state["threshold"] + 1e-9
    report = evaluate(state, test_x, test_y, kind="anomaly", labels=None)
    assert report["roc_auc"] >= 0.9
    assert report["per_class"][1]["recall"] >= 0.9
    assert len(report["predictions"]) == 160
    assert report["roc"]["fpr"][0] == 0.0 and report["roc"]["tpr"][-1] == 1.0


def test_kmeans_is_repeatable_and_its_score_is_the_distance_to_the_nearest_edge() -> None:
    train_x, test_x, _ = _normal_and_outliers(1)
    params = get_learn_block("anomaly-kmeans").validate_params({"clusters": 3}, (8,), 0)
    state = fit_kmeans(train_x, params)
    assert state == fit_kmeans(train_x, params)
    z = (test_x - np.asarray(state["mean"])) / np.asarray(state["std"])
    centres, radii = np.asarray(state["centers"]), np.asarray(state["radii"])
    expected = [
        min(np.linalg.norm(row - c) - r for c, r in zip(centres, radii, strict=True)) for row in z
    ]
    np.testing.assert_allclose(anomaly_scores(state, test_x), expected, atol=1e-9)
    with pytest.raises(LearnParamError) as raised:
        fit_kmeans(train_x[:2], params)
    assert raised.value.field == "clusters"


def test_roc_auc_equals_the_pairwise_definition() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 60)
    score = np.round(rng.normal(size=60) + truth, 1)  # rounding makes ties
    pairs = [
        1.0 if p > n else 0.5 if p == n else 0.0
        for p, n in itertools.product(score[truth == 1], score[truth == 0])
    ]
    assert roc_auc(truth, score) == pytest.approx(np.mean(pairs))
    curve = roc_curve(truth, score)
    area = np.trapezoid(curve["tpr"], curve["fpr"])
    assert area == pytest.approx(np.mean(pairs))
    assert roc_auc(np.ones(5), np.arange(5.0)) is None


def test_log_loss_of_class_scores() -> None:
    scores = np.array([[0.9, 0.1], [0.25, 0.75], [1.0, 0.0]])
    # The third window's true class scores 0: it counts at the floor, not as infinity.
    expected = -(np.log(0.9) + np.log(0.75) + np.log(LOG_LOSS_FLOOR)) / 3
    assert log_loss(scores, np.array([0, 1, 1])) == pytest.approx(expected)
    assert log_loss(scores[:0], np.array([], dtype=np.int64)) is None


def test_classification_metrics_on_a_known_confusion() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2])
    out = classification_metrics(truth, predicted, ["a", "b", "c"])
    assert out["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert out["accuracy"] == pytest.approx(4 / 6)
    b = out["per_class"][1]
    assert (b["precision"], b["recall"], b["support"]) == (0.5, 0.5, 2)
    assert out["per_class"][0]["f1"] == pytest.approx(2 * 1.0 * (2 / 3) / (1 + 2 / 3))


def test_cancellation_before_kmeans_runs() -> None:
    train_x, _, _ = _normal_and_outliers()
    with pytest.raises(TrainingCancelled):
        train(
            "anomaly-kmeans", {}, train_x, None, None, None, n_classes=0, should_stop=lambda: True
        )


def test_auto_training_settings_count_optimizer_steps() -> None:
    base = {"batch_size": 32, "epochs": None, "early_stopping": None}
    # 40 windows: 2 steps per epoch, so 300 epochs give 600 steps and patience is 50 epochs.
    assert resolved_training(base, 40) == {**base, "epochs": 300, "early_stopping": 50}
    # 1600 windows: 50 steps per epoch, the usual 30 epochs and patience 10.
    assert resolved_training(base, 1600) == {**base, "epochs": 30, "early_stopping": 10}
    # One window per step: never more than 500 epochs.
    assert resolved_training({**base, "batch_size": 8}, 3)["epochs"] == 500
    # Settings given by hand stay as they are.
    given = {**base, "epochs": 7, "early_stopping": 0}
    assert resolved_training(given, 40) == given
    assert validation_fraction(None, 199) == 0 and validation_fraction(None, 200) == 0.2
    assert validation_fraction(0.5, 10) == 0.5
