"""The fleet through the HTTP API: devices register with the project's API key, report
telemetry once however often it is sent, drift injected into one device is flagged for it
alone, and field windows become unlabelled samples; members read, outsiders get 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from tests.factories import csv_sample, upload_csvs

# Windows of three raw readings: a window's features are its readings, so the training
# windows' features are distributed as the generated values, N(0, 1) here.
SPEC = {
    "input": {"window_ms": 30, "stride_ms": 30, "frequency_hz": 100, "zero_pad": False},
    "dsp": [{"block": "raw", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 2, "seed": 1}}],
}
FEATURES = 3


def _noise(label: str, count: int, seed: int) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        f"{label}.{seed}-{k}.csv": csv_sample(rng.normal(0, 1, 300).round(4).tolist())
        for k in range(count)
    }


@pytest.fixture(scope="module")
def trained(app, worker) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A project (owner, viewer, outsider) with a trained run and an API key."""
    import time
    import uuid

    from fastapi.testclient import TestClient

    from backend.accounts import service as accounts
    from backend.core.db import get_sessionmaker
    from backend.projects.models import Membership, Role

    def person(prefix: str) -> dict[str, Any]:
        name = f"fleet-{prefix}-{uuid.uuid4().hex[:6]}"
        with get_sessionmaker()() as session:
            user = accounts.create_user(
                db=session, username=name, email=f"{name}@example.com",
                password=f"Field-pass-{uuid.uuid4().hex[:8]}",
            )  # fmt: skip
            _, token = accounts.create_token(db=session, user=user, name="t", expires_in_days=1)
            session.commit()
        return {"Authorization": f"Bearer {token}", "id": user.id}

    owner, viewer, outsider = person("owner"), person("viewer"), person("outsider")
    with TestClient(app) as client:
        h = {"Authorization": owner["Authorization"]}
        pid = client.post("/api/projects", json={"name": "Field"}, headers=h).json()["id"]
        with get_sessionmaker()() as session:
            session.add(Membership(project_id=pid, user_id=viewer["id"], role=Role.viewer))
            session.commit()
        for label in ("calm", "busy"):
            upload_csvs(client, pid, h, _noise(label, 6, 1 if label == "calm" else 2), "training")
            upload_csvs(client, pid, h, _noise(label, 1, 3 if label == "calm" else 4), "testing")
        impulse = client.post(
            f"/api/projects/{pid}/impulses", json={"name": "Noise", "spec": SPEC}, headers=h
        ).json()
        run = client.post(f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={},
                          headers=h).json()  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job = client.get(f"/api/projects/{pid}/jobs/{run['job_id']}", headers=h).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.25)
        assert job["status"] == "succeeded", job.get("error")
        key = client.post(f"/api/projects/{pid}/api-keys", json={"name": "fleet"}, headers=h)
        assert key.status_code == 201, key.text
    return {
        "pid": pid, "run_id": run["id"], "key": key.json()["key"], "owner": h,
        "viewer": {"Authorization": viewer["Authorization"]},
        "outsider": {"Authorization": outsider["Authorization"]},
    }  # fmt: skip


def _register(client, trained, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/api/fleet/devices/register", headers={"x-api-key": trained["key"]},
        json={"name": name, "board_id": "nano33", "firmware_version": "1.0.0",
              "training_run_id": trained["run_id"]},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _items(
    rng: np.random.Generator, count: int, *, first_seq: int = 0, shift: float = 0.0,
    labels: tuple[str, ...] = ("calm", "busy"), raw: bool = False, raw_shift: float = 0.0,
) -> list[dict[str, Any]]:  # fmt: skip
    start = datetime.now(UTC) - timedelta(hours=1)
    items = []
    for k in range(count):
        means = rng.normal(0, 1, FEATURES)
        means[1] += shift
        item: dict[str, Any] = {
            "seq": first_seq + k, "time": (start + timedelta(seconds=k)).isoformat(),
            "label": labels[k % len(labels)], "top_score": 0.9, "count": 1,
            "feature_means": means.tolist(), "feature_variances": [0.0] * FEATURES,
        }  # fmt: skip
        if raw:
            readings = rng.normal(raw_shift, 1, FEATURES)
            item["raw"] = {"values": [[float(v)] for v in readings], "interval_ms": 10}
        items.append(item)
    return items


def _send(client, device: dict[str, Any], items: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/fleet/telemetry", json={"items": items},
        headers={"Authorization": f"Bearer {device['key']}"},
    )  # fmt: skip


def test_devices_register_with_the_api_key_and_are_listed_to_members(client, trained) -> None:  # type: ignore[no-untyped-def]
    pid = trained["pid"]
    refused = client.post(
        "/api/fleet/devices/register", headers={"x-api-key": "tsk_wrong"},
        json={"name": "x", "board_id": "b", "firmware_version": "1", "training_run_id": 1},
    )  # fmt: skip
    assert refused.status_code == 401
    no_model = client.post(
        "/api/fleet/devices/register", headers={"x-api-key": trained["key"]},
        json={"name": "x", "board_id": "b", "firmware_version": "1"},
    )  # fmt: skip
    assert no_model.status_code == 422 and "training_run_id" in no_model.text
    foreign = client.post(
        "/api/fleet/devices/register", headers={"x-api-key": trained["key"]},
        json={"name": "x", "board_id": "b", "firmware_version": "1", "training_run_id": 999999},
    )  # fmt: skip
    assert foreign.status_code == 422 and foreign.json()["detail"]["field"] == "training_run_id"

    # A device may name the deployment it was flashed from instead: the run is the deployment's.
    deployment = client.post(
        f"/api/projects/{pid}/training-runs/{trained['run_id']}/deployments",
        json={"target": "c-library"}, headers=trained["owner"],
    )  # fmt: skip
    assert deployment.status_code == 202, deployment.text
    flashed = client.post(
        "/api/fleet/devices/register", headers={"x-api-key": trained["key"]},
        json={"name": "flashed", "board_id": "b", "firmware_version": "1",
              "deployment_id": deployment.json()["id"]},
    )  # fmt: skip
    assert flashed.status_code == 201, flashed.text
    assert flashed.json()["training_run_id"] == trained["run_id"]
    assert flashed.json()["deployment_id"] == deployment.json()["id"]

    device = _register(client, trained, "porch")
    assert device["key"].startswith("tsd_") and device["state"] == "online"
    assert device["model_version"] == f"Noise · run {trained['run_id']}"
    listed = client.get(f"/api/projects/{pid}/fleet/devices", headers=trained["viewer"])
    assert listed.status_code == 200
    row = next(d for d in listed.json() if d["id"] == device["id"])
    assert "key" not in row and row["board_id"] == "nano33" and row["last_seen_at"]
    outsider = client.get(f"/api/projects/{pid}/fleet/devices", headers=trained["outsider"])
    assert outsider.status_code == 404

    url = f"/api/projects/{pid}/fleet/devices/{device['id']}"
    assert client.patch(url, json={"name": "porch 2"}, headers=trained["viewer"]).status_code == 403
    renamed = client.patch(url, json={"name": "porch 2", "tags": ["south", "south"]},
                           headers=trained["owner"])  # fmt: skip
    assert renamed.json()["name"] == "porch 2" and renamed.json()["tags"] == ["south"]
    assert client.delete(url, headers=trained["owner"]).status_code == 204
    assert _send(client, device, _items(np.random.default_rng(0), 1)).status_code == 401


def test_telemetry_is_stored_once_and_bad_batches_are_refused_by_field(client, trained) -> None:  # type: ignore[no-untyped-def]
    device = _register(client, trained, "shed")
    items = _items(np.random.default_rng(1), 5)
    assert _send(client, device, items).json() == {"stored": 5, "duplicates": 0}
    resent = _send(client, device, items[2:] + _items(np.random.default_rng(2), 2, first_seq=5))
    assert resent.json() == {"stored": 2, "duplicates": 3}
    listed = client.get(f"/api/projects/{trained['pid']}/fleet/devices", headers=trained["owner"])
    assert next(d for d in listed.json() if d["id"] == device["id"])["telemetry_count"] == 7

    bad = _items(np.random.default_rng(3), 3, first_seq=100)
    bad[1]["feature_variances"] = [1.0]
    refused = _send(client, device, bad)
    assert refused.status_code == 422 and "items.1" in refused.json()["detail"]["message"]
    assert "feature_variances" in refused.json()["detail"]["message"]
    twice = _items(np.random.default_rng(4), 2, first_seq=200)
    twice[1]["seq"] = 200
    refused = _send(client, device, twice)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "items.1.seq"
    naive = _items(np.random.default_rng(5), 1, first_seq=300)
    naive[0]["time"] = "2026-01-01T00:00:00"
    assert "items.0.time" in _send(client, device, naive).json()["detail"]["message"]
    huge = _items(np.random.default_rng(7), 1, first_seq=350, raw=True)
    huge[0]["raw"]["values"][0][0] = 1e39
    refused = _send(client, device, huge)
    assert refused.status_code == 422 and "items.0.raw" in refused.json()["detail"]["message"]
    too_many = _items(np.random.default_rng(6), 501, first_seq=400)
    refused = _send(client, device, too_many)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "items"
    assert _send(client, {"key": "tsd_forged"}, items).status_code == 401
    listed = client.get(f"/api/projects/{trained['pid']}/fleet/devices", headers=trained["owner"])
    assert next(d for d in listed.json() if d["id"] == device["id"])["telemetry_count"] == 7


def test_drift_injected_into_one_device_alerts_for_it_alone(client, trained) -> None:  # type: ignore[no-untyped-def]
    pid = trained["pid"]
    rng = np.random.default_rng(7)
    healthy = [_register(client, trained, f"healthy-{k}") for k in range(3)]
    drifted = _register(client, trained, "drifted")
    for device in healthy:
        assert _send(client, device, _items(rng, 200)).status_code == 200
    assert _send(client, drifted, _items(rng, 200, shift=1.5)).status_code == 200

    answer = client.get(f"/api/projects/{pid}/fleet/drift", headers=trained["viewer"])
    assert answer.status_code == 200, answer.text
    reports = {r["device_id"]: r for r in answer.json()["devices"]}
    for device in healthy:
        report = reports[device["id"]]
        assert report["status"] == "ok" and not report["alert"], report["reasons"]
        assert report["reference_windows"] == 1200  # 12 training samples x 100 windows
    report = reports[drifted["id"]]
    assert report["status"] == "drift" and report["alert"]
    # Named as the raw block names its features: the axis and the reading's time in the window.
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["x @ 10 ms"]
    assert report["reasons"][0].startswith("x @ 10 ms: PSI ")
    assert report["features"][1]["ks"] > 0.4 and report["features"][0]["psi"] < 0.25
    one = client.get(f"/api/projects/{pid}/fleet/devices/{drifted['id']}/drift",
                     headers=trained["viewer"])  # fmt: skip
    assert one.json()["alert"] and one.json()["device_name"] == "drifted"

    # Raw windows the device sampled, through the impulse's DSP: its summaries look healthy but
    # its raw readings moved.
    sampler = _register(client, trained, "sampler")
    _send(client, sampler, _items(rng, 100, raw=True, raw_shift=2.0))
    report = client.get(f"/api/projects/{pid}/fleet/devices/{sampler['id']}/drift",
                        headers=trained["viewer"]).json()  # fmt: skip
    assert report["alert"] and report["raw_windows"] == 100
    assert not any(f["drifted"] for f in report["features"])
    assert all(f["drifted"] for f in report["raw_features"])
    assert report["reasons"][0].startswith("sampled raw windows, x @ ")
    assert reports[healthy[0]["id"]]["raw_windows"] == 0

    # Labels: a device that only ever sees one of two balanced labels.
    skewed = _register(client, trained, "skewed")
    _send(client, skewed, _items(rng, 100, labels=("busy",)))
    report = client.get(f"/api/projects/{pid}/fleet/devices/{skewed['id']}/drift",
                        headers=trained["viewer"]).json()  # fmt: skip
    assert report["alert"] and report["label_psi"] > 0.25
    assert report["reasons"][-1].startswith("labels: PSI ")
    outsider = client.get(f"/api/projects/{pid}/fleet/drift", headers=trained["outsider"])
    assert outsider.status_code == 404


def test_field_windows_become_unlabelled_samples_once(client, trained) -> None:  # type: ignore[no-untyped-def]
    pid = trained["pid"]
    device = _register(client, trained, "gate")
    _send(client, device, _items(np.random.default_rng(8), 4, raw=True))
    url = f"/api/projects/{pid}/fleet/devices/{device['id']}/samples"
    assert client.post(url, json={}, headers=trained["viewer"]).status_code == 403
    made = client.post(url, json={}, headers=trained["owner"])
    assert made.status_code == 201, made.text
    assert made.json()["created"] == 4
    sample = client.get(f"/api/projects/{pid}/samples/{made.json()['sample_ids'][0]}",
                        headers=trained["owner"]).json()  # fmt: skip
    assert sample["label"] is None and sample["length"] == FEATURES and sample["axes"] == 1
    assert sample["metadata"]["source"] == "fleet" and sample["device_name"] == "gate"
    assert client.post(url, json={}, headers=trained["owner"]).json()["created"] == 0


def test_telemetry_past_its_retention_is_deleted_by_the_upkeep(client, trained, db) -> None:  # type: ignore[no-untyped-def]
    from backend.fleet import service

    device = _register(client, trained, "attic")
    items = _items(np.random.default_rng(9), 3)
    items[0]["time"] = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    assert _send(client, device, items).json()["stored"] == 3
    assert service.purge_telemetry(db=db) >= 1
    listed = client.get(f"/api/projects/{trained['pid']}/fleet/devices", headers=trained["owner"])
    assert next(d for d in listed.json() if d["id"] == device["id"])["telemetry_count"] == 2
