"""Training runs end to end on a real worker: features, Keras, int8, evaluation, experiments."""

from __future__ import annotations

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 15, "seed": 3}}],
}


def test_train_quantize_evaluate_and_retrain_exactly(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=4, labels=("walking", "standing", "running", "badminton"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()

    features = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/features", json={}, headers=h
    )
    assert features.status_code == 202
    job = wait_job(client, pid, features.json()["id"], h)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["windows"] == 32 * 8 and job["result"]["cache_hit"] is False
    explorer = client.get(
        f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download", headers=h
    ).json()
    assert len(explorer["points"]) == 256 and {"x", "y", "label", "sample_id"} <= set(
        explorer["points"][0]
    )

    run = client.post(f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={}, headers=h)
    assert run.status_code == 202, run.text
    run = run.json()
    job = wait_job(client, pid, run["job_id"], h)
    log = client.get(f"/api/projects/{pid}/jobs/{run['job_id']}/log", headers=h).json()["log"]
    assert job["status"] == "succeeded", job["error"] + log[-3000:]
    result = job["result"]
    # 15 epochs at most: early stopping (on by default) may end the run sooner.
    epochs = len(result["epochs"])
    assert 1 <= epochs <= 15 and {"loss", "accuracy"} <= set(result["epochs"][0])
    int8 = result["evaluation"]["int8"]["test"]
    float32 = result["evaluation"]["float32"]["test"]
    assert int8["accuracy"] >= 0.8, int8
    assert abs(int8["accuracy"] - float32["accuracy"]) <= 0.05
    assert len(int8["confusion_matrix"]) == 4
    assert len(result["test_windows"]) == result["windows"]["test"]
    names = {a["name"] for a in job["artifacts"]}
    assert {"model.keras", "model-float32.tflite", "model-int8.tflite", "metrics.json"} <= names
    log = client.get(f"/api/projects/{pid}/jobs/{run['job_id']}/log", headers=h).json()["log"]
    assert f"epoch {epochs}" in log and "features from cache" in log

    stored = client.get(f"/api/projects/{pid}/training-runs/{run['id']}", headers=h).json()
    assert stored["metrics"]["evaluation"]["int8"]["test"]["accuracy"] == int8["accuracy"]
    again = client.post(f"/api/projects/{pid}/training-runs/{run['id']}/retrain", headers=h).json()
    assert again["retrained_from_id"] == run["id"]
    assert again["dataset_version_id"] == run["dataset_version_id"]
    job2 = wait_job(client, pid, again["job_id"], h)
    assert job2["status"] == "succeeded"
    assert job2["result"]["epochs"] == result["epochs"]  # same seed, same data: same model
    assert job2["result"]["evaluation"] == result["evaluation"]
    runs = client.get(f"/api/projects/{pid}/training-runs", headers=h).json()
    assert [r["id"] for r in runs] == [again["id"], run["id"]]


def test_runs_that_cannot_work_are_refused_up_front(client, make_project, upload_demo) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=2, labels=("walking",))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "One", "spec": SPEC}, headers=h
    ).json()
    one_label = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={}, headers=h
    )
    assert one_label.status_code == 400 and "two labels" in one_label.json()["detail"]["message"]
    ids = [
        s["id"]
        for s in client.get(
            f"/api/projects/{pid}/samples", params={"category": "testing"}, headers=h
        ).json()["items"]
    ]
    client.post(
        f"/api/projects/{pid}/samples/bulk",
        json={"sample_ids": ids, "action": "move", "category": "training"},
        headers=h,
    )
    no_test = client.post(f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={}, headers=h)
    assert no_test.status_code == 400 and "testing" in no_test.json()["detail"]["message"]
    bad_block = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={"learn_index": 3}, headers=h
    )
    assert bad_block.status_code == 400


def test_anomaly_model_scores_other_activities_as_anomalous(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=5, labels=("standing", "walking", "running", "badminton"))
    spec = {**SPEC, "dsp": [{"block": "flatten", "params": {}}],
            "learn": [{"block": "anomaly-kmeans", "params": {"clusters": 4}}]}  # fmt: skip
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Anomaly", "spec": spec}, headers=h
    ).json()
    run = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/train",
        json={"normal_labels": ["standing"]},
        headers=h,
    ).json()
    job = wait_job(client, pid, run["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["anomaly"]["test"]["roc_auc"] >= 0.9


def test_cancel_stops_training_within_an_epoch(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    import time

    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=2, labels=("walking", "standing"))
    # Early stopping off: the run must still be training when it is cancelled.
    params = {"epochs": 2000, "early_stopping": 0}
    spec = {**SPEC, "learn": [{"block": "classifier-dense", "params": params}]}
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Long", "spec": spec}, headers=h
    ).json()
    run = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={}, headers=h
    ).json()
    for _ in range(600):
        job = client.get(f"/api/projects/{pid}/jobs/{run['job_id']}", headers=h).json()
        if (job.get("result") or {}).get("epochs"):
            break
        time.sleep(0.1)
    assert (
        client.post(f"/api/projects/{pid}/jobs/{run['job_id']}/cancel", headers=h).status_code
        == 200
    )
    done = wait_job(client, pid, run["job_id"], h, timeout=60)
    assert done["status"] == "cancelled" and done["artifacts"] == []
    assert len(done["result"]["epochs"]) < 2000


def test_features_two_jobs_compute_at_once_are_recorded_once(
    client, make_project, upload_demo, worker, wait_job, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from backend.core.blobs import get_blob_store
    from backend.core.db import get_sessionmaker
    from backend.datasets.models import DatasetVersion
    from backend.impulses.models import FeatureSet, ImpulseVersion

    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=2, labels=("walking", "standing"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()
    store = type(get_blob_store())
    put = store.put

    def put_while_another_job_finishes(self, key, data, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = put(self, key, data, *args, **kwargs)
        if "/features/" in key:
            # The other job stored the same features between this job's lookup and its insert.
            with get_sessionmaker()() as other:
                dataset = other.scalars(
                    select(DatasetVersion).where(DatasetVersion.project_id == pid)
                ).first()
                version = other.scalars(
                    select(ImpulseVersion).where(ImpulseVersion.impulse_id == impulse["id"])
                ).first()
                assert dataset is not None and version is not None
                other.add(
                    FeatureSet(
                        project_id=pid,
                        cache_key=key.rsplit("/", 1)[1].removesuffix(".npz"),
                        dataset_version_id=dataset.id,
                        impulse_version_id=version.id,
                        blob_key=key,
                        windows=0,
                        feature_shape=[],
                    )  # fmt: skip
                )
                other.commit()
        return result

    monkeypatch.setattr(store, "put", put_while_another_job_finishes)
    first = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/features", json={}, headers=h
    )
    job = wait_job(client, pid, first.json()["id"], h)
    assert job["status"] == "succeeded", job["error"]
    monkeypatch.setattr(store, "put", put)
    with get_sessionmaker()() as db:
        rows = db.scalars(select(FeatureSet).where(FeatureSet.project_id == pid)).all()
        assert len(rows) == 1
    again = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/features", json={}, headers=h
    )
    job = wait_job(client, pid, again.json()["id"], h)
    assert job["status"] == "succeeded" and job["result"]["cache_hit"] is True
