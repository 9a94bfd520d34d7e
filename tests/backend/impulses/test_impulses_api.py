"""Designing impulses through the API: blocks and schemas, validation against data, versions,
DSP preview; and TensorFlow never loads in the API process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SPECTRAL_CONV1D = {
    "input": {"window_ms": 2000, "stride_ms": 500, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {}}],
}


def test_blocks_publish_schemas_with_defaults(client, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    blocks = client.get("/api/blocks", headers=person.headers).json()
    dsp = {b["name"]: b for b in blocks["dsp"]}
    assert {"raw", "flatten", "spectral-analysis", "mfcc", "mfe", "spectrogram"} <= set(dsp)
    mfcc = dsp["mfcc"]["parameters_schema"]["properties"]
    assert mfcc["num_cepstral"]["default"] == 13 if "num_cepstral" in mfcc else True
    learn = {b["name"]: b for b in blocks["learn"]}
    assert {"classifier-dense", "classifier-conv1d", "anomaly-kmeans"} <= set(learn)
    for block in blocks["dsp"] + blocks["learn"]:
        for name, prop in block["parameters_schema"]["properties"].items():
            assert "default" in prop, f"{block['name']}.{name} has no default"
    assert client.get("/api/blocks").status_code == 401


def test_impulse_validation_names_what_to_change(client, make_project, upload_demo) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    h = people["owner"].headers
    upload_demo(client, pid, h, count=1)
    base = f"/api/projects/{pid}/impulses"

    def refused(spec: dict) -> dict:  # type: ignore[type-arg]
        answer = client.post(base, json={"name": "x", "spec": spec}, headers=h)
        assert answer.status_code in (400, 422), answer.text
        return answer.json()["detail"]

    unknown = refused({**SPECTRAL_CONV1D, "dsp": [{"block": "wavelets", "params": {}}]})
    assert unknown["field"] == "dsp[0].block" and "spectral-analysis" in unknown["message"]
    bad_param = refused(
        {**SPECTRAL_CONV1D, "dsp": [{"block": "spectral-analysis", "params": {"fft-length": -4}}]}
    )
    assert bad_param["field"].startswith("dsp[0].params")
    too_long = refused(
        {
            **SPECTRAL_CONV1D,
            "input": {**SPECTRAL_CONV1D["input"], "window_ms": 60000, "zero_pad": False},
        }
    )
    assert too_long["field"] == "input.window_ms" and "longest" in too_long["message"]
    too_fast = refused(
        {**SPECTRAL_CONV1D, "input": {**SPECTRAL_CONV1D["input"], "frequency_hz": 100}}
    )
    assert too_fast["field"] == "input.frequency_hz" and "10 Hz" in too_fast["message"]
    wrong_learn = refused(
        {**SPECTRAL_CONV1D, "learn": [{"block": "classifier-conv2d", "params": {}}]}
    )
    assert wrong_learn["field"].startswith("learn[0]")
    no_blocks = refused({**SPECTRAL_CONV1D, "dsp": []})
    assert "dsp" in no_blocks["message"]

    made = client.post(base, json={"name": "Motion", "spec": SPECTRAL_CONV1D}, headers=h)
    assert made.status_code == 201, made.text
    impulse = made.json()
    assert impulse["version"] == 1 and impulse["shapes"]["window_samples"] == 20
    assert impulse["shapes"]["axes"] == 6
    viewer = client.post(
        base, json={"name": "V", "spec": SPECTRAL_CONV1D}, headers=people["viewer"].headers
    )
    assert viewer.status_code == 403

    changed = {**SPECTRAL_CONV1D, "input": {**SPECTRAL_CONV1D["input"], "stride_ms": 1000}}
    saved = client.put(
        f"{base}/{impulse['id']}", json={"spec": changed, "base_version": 1}, headers=h
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2
    stale = client.put(
        f"{base}/{impulse['id']}", json={"spec": SPECTRAL_CONV1D, "base_version": 1}, headers=h
    )
    assert stale.status_code == 409
    versions = client.get(f"{base}/{impulse['id']}/versions", headers=h).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["spec"]["input"]["stride_ms"] == 500
    assert {v["created_by"] for v in versions} == {people["owner"].username}


def test_dsp_preview_on_a_sample(client, make_project, upload_demo) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=1)
    sample = client.get(f"/api/projects/{pid}/samples", headers=h).json()["items"][0]
    preview = client.post(
        f"/api/projects/{pid}/impulses/preview",
        json={"input": SPECTRAL_CONV1D["input"], "dsp": {"block": "flatten", "params": {}},
              "sample_id": sample["id"], "window_index": 2},
        headers=h,
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["windows"] == 17 and body["window_start_ms"] == 1000.0
    assert len(body["window"]) == 20 and len(body["window"][0]) == 6
    assert len(body["features"]) == body["feature_shape"][0]


KWS_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "kws_ref_model.tflite"


def test_tensorflow_never_loads_in_the_api_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = f"""
import os, sys
os.environ["TINYSTUDIO_DATA_DIR"] = {str(tmp_path)!r}
os.environ.pop("TINYSTUDIO_DATABASE_URL", None)
os.environ.pop("TINYSTUDIO_BROKER_URL", None)
from fastapi.testclient import TestClient
from backend.core.migrate import upgrade
upgrade()
from backend.main import create_app
with TestClient(create_app()) as client:
    reg = client.post("/api/auth/register", json={{"username": "tfcheck", "email": "tf@example.com",
                      "password": "No-tensorflow-here-1"}})
    assert reg.status_code == 201
    assert client.get("/api/blocks").status_code == 200
    client.get("/api/openapi.json")
    # An uploaded model is read and checked here, without TensorFlow.
    csrf = {{"x-csrf-token": reg.json()["csrf_token"]}}
    pid = client.post("/api/projects", json={{"name": "TF"}}, headers=csrf).json()["id"]
    model = open({str(KWS_MODEL)!r}, "rb").read()
    answer = client.post(f"/api/projects/{{pid}}/models", headers=csrf,
                         files={{"file": ("kws.tflite", model)}})
    assert answer.status_code == 202, answer.text
heavy = ("tensorflow", "keras", "tf_keras", "ai_edge_litert")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print("LOADED", loaded)
sys.exit(1 if loaded else 0)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
