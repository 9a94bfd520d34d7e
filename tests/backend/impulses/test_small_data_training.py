"""Training on small data through the API: early stopping on by default, auto settings that
train on all of a small set for enough optimizer steps, a split that keeps every class in
training when one is chosen, warnings naming the counts, and one dataset version for runs on
unchanged data."""

from __future__ import annotations

import numpy as np

from tests.factories import csv_sample, upload_csvs

# One 300 ms window per sample: each sample is classified whole.
SPEC = {
    "input": {"window_ms": 300, "stride_ms": 300, "frequency_hz": 100, "zero_pad": True},
    "dsp": [{"block": "raw", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 5, "seed": 2}}],
}


def shapes(label: str, count: int, seed: int) -> dict[str, bytes]:
    """`count` noisy 30-point series of one shape: a bump ('bump') or a ramp ('ramp')."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, 30)
    curve = np.sin(np.pi * t) if label == "bump" else t
    return {
        f"{label}.{seed}-{k}.csv": csv_sample((curve + rng.normal(0, 0.05, 30)).round(4).tolist())
        for k in range(count)
    }


def train(client, pid: int, impulse_id: int, headers, wait_job, params=None) -> tuple[dict, dict]:  # type: ignore[no-untyped-def, type-arg]
    """Starts a run (with `params` for this run) and waits for it: (run, finished job)."""
    body = {} if params is None else {"params": {**SPEC["learn"][0]["params"], **params}}
    started = client.post(
        f"/api/projects/{pid}/impulses/{impulse_id}/train", json=body, headers=headers
    )
    assert started.status_code == 202, started.text
    run = started.json()
    job = wait_job(client, pid, run["job_id"], headers)
    assert job["status"] == "succeeded", job["error"]
    return run, job


def test_small_data_runs_warn_validate_per_class_and_share_their_dataset_version(
    client, make_project, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    for label in ("bump", "ramp"):
        upload_csvs(client, pid, h, shapes(label, 8, 1), "training")
        upload_csvs(client, pid, h, shapes(label, 2, 2), "testing")
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Shapes", "spec": SPEC}, headers=h
    ).json()

    # Auto: 16 windows are too few to judge epochs by, so all of them train, early stopping
    # watches the training loss and waits 100 optimizer steps (one per epoch here).
    run, job = train(client, pid, impulse["id"], h, wait_job)
    result = job["result"]
    assert result["params"]["validation_split"] == 0 and result["params"]["early_stopping"] == 100
    assert result["windows"] == {"train": 16, "validation": 0, "test": 4}
    assert all("val_loss" not in epoch for epoch in result["epochs"])
    assert set(result["evaluation"]["int8"]) == {"test"}
    assert result["warnings"] == [
        "only 16 training windows from 16 samples ('bump' 8, 'ramp' 8): no validation split: "
        "the model trains on all of them and early stopping watches the training loss (set a "
        "validation split to hold some out)"
    ]
    stored = client.get(f"/api/projects/{pid}/training-runs/{run['id']}", headers=h).json()
    assert stored["metrics"]["warnings"] == result["warnings"]

    # A validation split as a choice: 20 % of 8 samples per class, drawn per class, so 2 of
    # each validate and 6 of each train.
    held, job = train(client, pid, impulse["id"], h, wait_job, {"validation_split": 0.2})
    result = job["result"]
    assert result["windows"] == {"train": 12, "validation": 4, "test": 4}
    assert result["warnings"] == [
        "only 16 training windows from 16 samples ('bump' 8, 'ramp' 8): validation holds "
        "2 samples per class (4 windows), so its figures are rough"
    ]
    assert held["dataset_version_id"] == run["dataset_version_id"]

    samples = client.get(
        f"/api/projects/{pid}/samples", params={"category": "training"}, headers=h
    ).json()["items"]
    sample = next(s for s in samples if s["label"] == "bump")
    relabelled = client.patch(
        f"/api/projects/{pid}/samples/{sample['id']}", json={"label": "ramp"}, headers=h
    )
    assert relabelled.status_code == 200, relabelled.text
    after, _ = train(client, pid, impulse["id"], h, wait_job)
    assert after["dataset_version_id"] != run["dataset_version_id"]
    again, _ = train(client, pid, impulse["id"], h, wait_job)
    assert again["dataset_version_id"] == after["dataset_version_id"]


def test_early_stopping_ends_a_long_run_on_its_own(client, make_project, worker, wait_job) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    for label in ("bump", "ramp"):
        upload_csvs(client, pid, h, shapes(label, 6, 3), "training")
        upload_csvs(client, pid, h, shapes(label, 2, 4), "testing")
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Shapes", "spec": SPEC}, headers=h
    ).json()
    _, job = train(
        client, pid, impulse["id"], h, wait_job,
        {"epochs": 2000, "learning_rate": 0.05, "validation_split": 0.2},
    )  # fmt: skip
    epochs = job["result"]["epochs"]
    # The epoch count is an upper bound: auto patience ends it once the validation loss has not
    # improved for 100 optimizer steps (one per epoch for these 8 windows).
    best = int(np.argmin([e["val_loss"] for e in epochs])) + 1
    assert job["result"]["params"]["early_stopping"] == 100
    assert len(epochs) == best + 100 < 2000
