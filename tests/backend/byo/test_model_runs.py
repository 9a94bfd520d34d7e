"""An uploaded model in an impulse, end to end on a real worker and a virtual board: a float
Keras model calibrated on the project's windows through the impulse's DSP, scored as a run of
the impulse, deployed as an Arduino library and as firmware, and tested on the device with the
device's int8 scores equal to the studio's; an int8 upload runs without a float twin; shapes
and labels that do not fit are refused by field."""

from __future__ import annotations

import io
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.backend.byo.test_models import _ready

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "flatten", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {}}],
}
OTHER = {**SPEC, "dsp": [{"block": "raw", "params": {}}]}
LABELS = ("walking", "standing", "running")


def _keras_classifier(features: list[int], classes: int) -> bytes:
    """A small dense classifier over one window's features, saved as a .keras file."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(5)
    inputs = keras.Input(tuple(features))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(12, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "motion.keras"
        model.save(path)
        return path.read_bytes()


def _impulse(client, pid: int, h, spec: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = client.post(f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": spec},
                         headers=h)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _project_with_impulse(client, make_project, upload_demo, count: int):  # type: ignore[no-untyped-def]
    """A project with BasicMotions samples of three labels and the flatten impulse; its id, the
    owner's headers, the impulse and the shape of one window's features."""
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=count, labels=LABELS)
    impulse = _impulse(client, pid, h, SPEC)
    return pid, h, impulse, impulse["shapes"]["learn_input_shape"]


def test_an_uploaded_model_runs_in_an_impulse_deploys_and_matches_the_device(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse, features = _project_with_impulse(client, make_project, upload_demo, 3)
    keras_file = _keras_classifier(features, len(LABELS))

    # Quantized with the project's training windows through the impulse's DSP.
    upload = client.post(
        f"/api/projects/{pid}/models", headers=h, data={"impulse_id": str(impulse["id"])},
        files=[("file", ("motion.keras", keras_file, "application/octet-stream"))],
    )  # fmt: skip
    model = _ready(client, pid, h, upload, wait_job)
    report = model["quantization"]
    assert "training windows through impulse 'Motion'" in report["calibration_source"]
    assert report["calibration_inputs"] > 10 and report["top1_agreement"] >= 0.8

    started = client.post(
        f"/api/projects/{pid}/models/{model['id']}/runs", headers=h,
        json={"impulse_id": impulse["id"]},
    )  # fmt: skip
    assert started.status_code == 202, started.text
    run = started.json()
    job = wait_job(client, pid, run["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    run = client.get(f"/api/projects/{pid}/training-runs/{run['id']}", headers=h).json()
    metrics = run["metrics"]
    assert metrics["classes"] == sorted(LABELS)
    assert metrics["uploaded_model"]["id"] == model["id"]
    evaluation = metrics["evaluation"]
    assert set(evaluation) == {"float32", "int8"} and "test" in evaluation["int8"]
    assert 0.0 <= evaluation["int8"]["test"]["accuracy"] <= 1.0
    assert job["result"]["test_windows"] and job["result"]["test_windows"][0]["float32"]

    again = client.post(f"/api/projects/{pid}/training-runs/{run['id']}/retrain", headers=h)
    assert again.status_code == 400 and "Models page" in again.json()["detail"]["message"]

    base = f"/api/projects/{pid}/training-runs/{run['id']}/deployments"
    arduino = client.post(base, json={"target": "arduino-library"}, headers=h).json()
    built = wait_job(client, pid, arduino["job_id"], h)
    assert built["status"] == "succeeded", built["error"]
    url = f"/api/projects/{pid}/artifacts/{built['artifacts'][0]['id']}/download"
    names = zipfile.ZipFile(io.BytesIO(client.get(url, headers=h).content)).namelist()
    assert any(n.endswith("library.properties") for n in names)

    firmware = client.post(
        base, json={"target": "firmware", "board_id": "virtual-cortex-m4"}, headers=h
    ).json()
    built = wait_job(client, pid, firmware["job_id"], h)
    assert built["status"] == "succeeded", built["error"]
    tested = client.post(f"/api/projects/{pid}/deployments/{firmware['id']}/device-test", headers=h)
    assert tested.status_code == 202, tested.text
    job = wait_job(client, pid, tested.json()["id"], h)
    assert job["status"] == "succeeded", job["error"]
    on_device = job["result"]
    assert on_device["windows"] > 0 and on_device["agreement"] == 1.0
    assert on_device["device_accuracy"] == on_device["studio_int8_accuracy"]
    assert on_device["scores"]["differing"] == 0 and on_device["scores"]["max_step_difference"] == 0

    # The int8 model on its own: no float twin, so only int8 is scored, and still deploys.
    int8 = client.get(
        f"/api/projects/{pid}/artifacts/{model['int8_artifact_id']}/download", headers=h
    ).content
    upload = client.post(
        f"/api/projects/{pid}/models", headers=h,
        files=[("file", ("motion-int8.tflite", int8, "application/octet-stream"))],
    )  # fmt: skip
    bare = _ready(client, pid, h, upload, wait_job)
    answer = client.post(
        f"/api/projects/{pid}/models/{bare['id']}/runs", headers=h,
        json={"impulse_id": impulse["id"], "labels": ["a", "b", "c"]},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    job = wait_job(client, pid, answer.json()["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    # Its classes are named a, b, c: no test window carries one, so none can be scored.
    assert set(job["result"]["evaluation"]) == {"int8"} and job["result"]["test_windows"] == []

    answer = client.post(
        f"/api/projects/{pid}/models/{bare['id']}/runs", headers=h,
        json={"impulse_id": impulse["id"], "labels": list(LABELS)},
    )  # fmt: skip
    job = wait_job(client, pid, answer.json()["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    windows = job["result"]["test_windows"]
    assert windows and all(w["float32"] is None and w["int8"] in LABELS for w in windows)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"labels": ["walking", "standing"]}, "labels", "scores 3 classes; 2 labels given"),
        ({"labels": ["a", "a", "b"]}, "labels", "distinct"),
        ({"other_impulse": True}, "impulse_id", "features per window"),
        ({"impulse_id": 999999}, None, "impulse"),
    ],
)
def test_a_model_that_does_not_fit_the_impulse_is_refused_by_field(
    client,
    make_project,
    upload_demo,
    worker,
    wait_job,
    body: dict[str, Any],
    field: str | None,
    words: str,
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse, features = _project_with_impulse(client, make_project, upload_demo, 1)
    upload = client.post(
        f"/api/projects/{pid}/models", headers=h, data={"impulse_id": str(impulse["id"])},
        files=[("file", ("m.keras", _keras_classifier(features, 3), "application/octet-stream"))],
    )  # fmt: skip
    model = _ready(client, pid, h, upload, wait_job)
    request: dict[str, Any] = {"impulse_id": impulse["id"], **body}
    if request.pop("other_impulse", False):
        other = _impulse(client, pid, h, OTHER)
        assert math.prod(other["shapes"]["learn_input_shape"]) != math.prod(features)
        request["impulse_id"] = other["id"]
    before = client.get(f"/api/projects/{pid}/training-runs", headers=h).json()
    answer = client.post(f"/api/projects/{pid}/models/{model['id']}/runs", headers=h, json=request)
    assert answer.status_code in (400, 404), answer.text
    detail = answer.json()["detail"]
    assert words in detail["message"]
    if field is not None:
        assert detail["field"] == field
    assert client.get(f"/api/projects/{pid}/training-runs", headers=h).json() == before
