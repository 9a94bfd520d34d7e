"""Bring your own model, end to end on a real worker: an int8 .tflite described, profiled on
every board of the catalog and packaged as a C library; float Keras and .tflite models quantized
with uploaded inputs; unsupported operators named with their layer; bad uploads refused by
field with nothing stored."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.factories import zip_bytes
from workers.boards import list_boards

KWS = Path(__file__).resolve().parents[2] / "data" / "models" / "kws_ref_model.tflite"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def float_models() -> dict[str, bytes]:
    """A small 1-D CNN as a float .tflite; a .keras model with an EXP."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    inputs = keras.Input((20, 3))
    x = keras.layers.Conv1D(4, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    cnn = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    swap_in = keras.Input((4, 4, 2))
    swapped = keras.layers.Activation("exponential", name="grow")(swap_in)
    gate = keras.Model(swap_in, keras.layers.Dense(3)(keras.layers.Flatten()(swapped)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "swap.keras"
        gate.save(path)
        keras_bytes = path.read_bytes()
        cnn.export(Path(tmp) / "exported", verbose=False)
        saved = {
            f"cnn/{p.relative_to(Path(tmp) / 'exported').as_posix()}": p.read_bytes()
            for p in sorted((Path(tmp) / "exported").rglob("*"))
            if p.is_file()
        }
    return {
        "cnn.tflite": bytes(tf.lite.TFLiteConverter.from_keras_model(cnn).convert()),
        "swap.keras": keras_bytes,
        "cnn.zip": zip_bytes(saved),
    }


def _upload(client, pid: int, h, name: str, data: bytes, representative: bytes | None = None):  # type: ignore[no-untyped-def]
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("file", (name, data, "application/octet-stream"))
    ]
    if representative is not None:
        files.append(("representative", ("inputs.npy", representative, "application/octet-stream")))
    return client.post(f"/api/projects/{pid}/models", headers=h, files=files)


def _ready(client, pid: int, h, answer, wait_job) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "importing"
    job = wait_job(client, pid, body["import_job_id"], h)
    model = client.get(f"/api/projects/{pid}/models/{body['id']}", headers=h).json()
    assert job["status"] == "succeeded", (job["error"], model)
    assert model["status"] == "ready", model
    return model  # type: ignore[no-any-return]


def test_an_int8_model_is_described_profiled_on_every_board_and_packaged(
    client, make_project, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    model = _ready(
        client, pid, h, _upload(client, pid, h, "kws.tflite", KWS.read_bytes()), wait_job
    )
    info = model["info"]
    assert model["quantization"] is None and model["source_format"] == "tflite"
    assert info["inputs"][0]["type"] == "int8" and info["inputs"][0]["shape"] == [1, 49, 10, 1]
    assert info["outputs"][0]["shape"] == [1, 12]
    assert info["op_counts"]["DEPTHWISE_CONV_2D"] == 4
    assert all(op["supported"] for op in info["operators"])
    assert info["compiler"]["supported"] and info["compiler"]["macs"] > 2_000_000
    assert 20_000 < info["parameters"] < 30_000
    download = client.get(
        f"/api/projects/{pid}/artifacts/{model['int8_artifact_id']}/download", headers=h
    )
    assert download.content == KWS.read_bytes()

    started = client.post(f"/api/projects/{pid}/models/{model['id']}/profile", headers=h)
    assert started.status_code == 202, started.text
    job = wait_job(client, pid, started.json()["profile_job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    model = client.get(f"/api/projects/{pid}/models/{model['id']}", headers=h).json()
    rows = {row["board_id"]: row for row in model["profile"]["boards"]}
    assert set(rows) == {b.id for b in list_boards()}
    m4 = rows["virtual-cortex-m4"]
    assert m4["measured"] and m4["fits"] and m4["arena_bytes"] == info["compiler"]["arena_bytes"]
    assert m4["ram_bytes"] == m4["arena_bytes"] + m4["stack_bytes"] and m4["stack_bytes"] > 0
    assert m4["flash_bytes"] == m4["code_bytes"] + m4["weights_bytes"]
    assert m4["instructions"] > 1_000_000 and m4["latency_ms"] > 0
    # Boards of one core share the build; the clock sets each latency.
    nano = rows["arduino-nano-33-ble-sense"]
    assert nano["instructions"] == m4["instructions"] and nano["measured_on"] == "virtual-cortex-m4"
    assert nano["latency_ms"] == pytest.approx(m4["latency_ms"] * m4["clock_hz"] / nano["clock_hz"])
    assert (
        not rows["esp32-s3-devkitc-1"]["measured"]
        and "Xtensa" in rows["esp32-s3-devkitc-1"]["note"]
    )

    library = client.post(f"/api/projects/{pid}/models/{model['id']}/c-library", headers=h)
    assert library.status_code == 202, library.text
    assert wait_job(client, pid, library.json()["library_job_id"], h)["status"] == "succeeded"
    model = client.get(f"/api/projects/{pid}/models/{model['id']}", headers=h).json()
    archive = client.get(
        f"/api/projects/{pid}/artifacts/{model['library_artifact_id']}/download", headers=h
    )
    names = set(zipfile.ZipFile(io.BytesIO(archive.content)).namelist())
    assert {
        "kws/ts_model.c",
        "kws/ts_model.h",
        "kws/ts_kernels.h",
        "kws/ts_kernels_conv.c",
        "kws/README.md",
    } <= names


def test_float_models_are_quantized_with_the_uploaded_inputs(
    client, make_project, worker, wait_job, float_models
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    rng = np.random.default_rng(0)
    inputs = _npy(rng.normal(size=(64, 20, 3)).astype(np.float32))
    cnn = _ready(
        client,
        pid,
        h,
        _upload(client, pid, h, "cnn.tflite", float_models["cnn.tflite"], inputs),
        wait_job,
    )
    assert cnn["info"]["inputs"][0]["type"] == "int8" and not cnn["info"]["float"]
    assert cnn["info"]["compiler"]["supported"]
    report = cnn["quantization"]
    assert report["calibration_inputs"] == 64 and report["compared_inputs"] == 64
    assert report["top1_agreement"] >= 0.8 and report["max_abs_difference"] < 0.5

    # The same network as a zipped SavedModel folder: converted, quantized and described alike.
    answer = _upload(client, pid, h, "cnn.zip", float_models["cnn.zip"], inputs)
    saved = _ready(client, pid, h, answer, wait_job)
    assert saved["source_format"] == "savedmodel" and saved["info"]["compiler"]["supported"]
    assert saved["info"]["inputs"][0]["shape"] == [1, 20, 3]
    assert saved["quantization"]["top1_agreement"] >= 0.8

    # A Keras file whose EXP the compiler does not take: quantized, described, named.
    flat = _npy(rng.normal(size=(40, 4, 4, 2)).astype(np.float32))
    gate = _ready(
        client,
        pid,
        h,
        _upload(client, pid, h, "swap.keras", float_models["swap.keras"], flat),
        wait_job,
    )
    assert not gate["info"]["compiler"]["supported"]
    assert " EXP (layer" in gate["info"]["compiler"]["reason"]
    (swap,) = [op for op in gate["info"]["operators"] if not op["supported"]]
    assert swap["op"] == "EXP" and "grow" in swap["layer"]
    refused = client.post(f"/api/projects/{pid}/models/{gate['id']}/profile", headers=h)
    assert refused.status_code == 409 and " EXP (layer" in refused.json()["detail"]["message"]
    ops = client.get("/api/compiler/supported-ops", headers=h).json()
    assert "CONV_2D" in ops and "EXP" not in ops

    # Inputs of the wrong shape fail the import, naming both shapes.
    wrong = _npy(np.zeros((8, 7), np.float32))
    answer = _upload(client, pid, h, "cnn.tflite", float_models["cnn.tflite"], wrong)
    assert answer.status_code == 202
    job = wait_job(client, pid, answer.json()["import_job_id"], h)
    model = client.get(f"/api/projects/{pid}/models/{answer.json()['id']}", headers=h).json()
    assert job["status"] == "failed" and model["status"] == "failed"
    assert "shaped [8, 7]" in model["error"] and "60 values" in model["error"]


@pytest.mark.parametrize(
    ("name", "data", "field", "words"),
    [
        ("model.onnx", b"\x08\x07", "file", "onnx2tf"),
        ("saved_model.zip", b"PK\x05\x06" + bytes(18), "file", "holds no saved_model.pb"),
        ("saved_model.pb", b"\x08\x01", "file", "zip the whole folder"),
        ("sneaky.zip", zip_bytes({"../saved_model.pb": b"x"}), "file", "lands outside its folder"),
        ("two.zip", zip_bytes({"a/saved_model.pb": b"", "b/saved_model.pb": b""}), "file", "2 Sa"),
        ("notes.txt", b"hello", "file", "is not a model"),
        ("cut.tflite", KWS.read_bytes()[:3000], "file", "not a readable .tflite"),
        ("empty.tflite", b"", "file", "empty"),
        ("fake.keras", b"not a zip", "file", "not a zip"),
        ("fake.h5", b"not hdf5", "file", "HDF5"),
    ],
)
def test_bad_uploads_are_refused_by_field_and_store_nothing(
    client, make_project, name: str, data: bytes, field: str, words: str
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    answer = _upload(client, pid, h, name, data)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail["field"] == field and words in detail["message"]
    assert client.get(f"/api/projects/{pid}/models", headers=h).json() == []


def test_a_float_model_needs_numeric_npy_inputs(client, make_project, float_models) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    for representative, words in ((None, "float model"), (b"plain text", "not a .npy")):
        answer = _upload(client, pid, h, "cnn.tflite", float_models["cnn.tflite"], representative)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail["field"] == "representative" and words in detail["message"]
    assert client.get(f"/api/projects/{pid}/models", headers=h).json() == []


def test_viewers_read_editors_upload_outsiders_see_nothing(
    client, make_project, make_person, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    owner, viewer = people["owner"].headers, people["viewer"].headers
    model = _ready(
        client, pid, owner, _upload(client, pid, owner, "kws.tflite", KWS.read_bytes()), wait_job
    )
    assert _upload(client, pid, viewer, "kws.tflite", KWS.read_bytes()).status_code == 403
    assert (
        client.get(f"/api/projects/{pid}/models/{model['id']}", headers=viewer).status_code == 200
    )
    assert (
        client.post(f"/api/projects/{pid}/models/{model['id']}/profile", headers=viewer).status_code
        == 403
    )
    outsider = make_person().headers
    assert (
        client.get(f"/api/projects/{pid}/models/{model['id']}", headers=outsider).status_code == 404
    )
    assert (
        client.delete(f"/api/projects/{pid}/models/{model['id']}", headers=viewer).status_code
        == 403
    )
    assert (
        client.delete(f"/api/projects/{pid}/models/{model['id']}", headers=owner).status_code == 204
    )
    assert client.get(f"/api/projects/{pid}/models/{model['id']}", headers=owner).status_code == 404


def test_twice_at_once_and_wrong_ids_are_4xx(client, make_project, worker, wait_job) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    pid, people = make_project()
    h = people["owner"].headers
    assert client.get(f"/api/projects/{pid}/models/999999", headers=h).status_code == 404
    assert client.get(f"/api/projects/{pid}/models/abc", headers=h).status_code == 422
    assert client.post(f"/api/projects/{pid}/models/999999/profile", headers=h).status_code == 404
    model = _ready(
        client, pid, h, _upload(client, pid, h, "kws.tflite", KWS.read_bytes()), wait_job
    )
    base = f"/api/projects/{pid}/models/{model['id']}"
    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda _: client.post(f"{base}/profile", headers=h), range(2)))
    # One profile job; the other request is told it still runs.
    assert sorted(a.status_code for a in started) == [202, 409]
    with ThreadPoolExecutor(2) as pool:
        deleted = list(pool.map(lambda _: client.delete(base, headers=h), range(2)))
    assert sorted(a.status_code for a in deleted) == [204, 404]
