"""Optimized training runs through the API on a real worker: each starts from (or learns from) an
earlier run, links to it, and reports what it saves as measured on the virtual board."""

from __future__ import annotations

from typing import Any

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [
        {
            "block": "classifier-dense",
            "params": {"epochs": 12, "seed": 3, "dense_layers": [24, 12], "early_stopping": 0},
        }
    ],
}


def _train(client, pid, impulse_id, h, wait_job, **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = client.post(f"/api/projects/{pid}/impulses/{impulse_id}/train", json=body, headers=h)
    assert answer.status_code == 202, answer.text
    run = answer.json()
    job = wait_job(client, pid, run["job_id"], h)
    log = client.get(f"/api/projects/{pid}/jobs/{run['job_id']}/log", headers=h).json()["log"]
    assert job["status"] == "succeeded", (job["error"] or "") + log[-3000:]
    stored = client.get(f"/api/projects/{pid}/training-runs/{run['id']}", headers=h).json()
    return {"run": stored, "result": job["result"]}


FOUR_LABELS = ("walking", "standing", "running", "badminton")


def _params(**optimization: Any) -> dict[str, Any]:
    return {**SPEC["learn"][0]["params"], "optimization": optimization}


def _motion_impulse(
    client, make_project, upload_demo, labels: tuple[str, ...]
) -> tuple[int, dict[str, str], int]:  # type: ignore[no-untyped-def]
    """A project with BasicMotions samples of `labels` and the motion impulse: (project id,
    owner headers, impulse id)."""
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=len(labels), labels=labels)
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()
    return pid, h, impulse["id"]


def test_bad_optimization_settings_answer_422_naming_the_field(
    client, make_project, upload_demo
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _motion_impulse(client, make_project, upload_demo, ("walking", "standing"))
    url = f"/api/projects/{pid}/impulses/{impulse_id}/train"
    cases = [
        (_params(pruning="structured", sparsity=1), "params.optimization.sparsity"),
        (_params(distillation=True, temperature=0), "params.optimization.temperature"),
        (_params(distillation=True, alpha=1.5), "params.optimization.alpha"),
        (_params(pruning="magic"), "params.optimization.pruning"),
        (_params(qat="yes"), "params.optimization.qat"),
    ]
    for params, field in cases:
        answer = client.post(url, json={"params": params}, headers=h)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"]["field"] == field, answer.json()
    # Pruning needs a trained model to prune, and there is none yet.
    answer = client.post(url, json={"params": _params(pruning="structured")}, headers=h)
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "baseline_run_id"
    # A plain run takes no baseline or teacher.
    answer = client.post(url, json={"teacher_run_id": 1}, headers=h)
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "teacher_run_id"
    answer = client.post(
        url, json={"params": _params(qat=True), "board_id": "no-such-board"}, headers=h
    )
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "board_id"
    assert client.get(f"/api/projects/{pid}/training-runs", headers=h).json() == []


def test_prune_and_qat_start_from_the_baseline_and_report_measured_savings(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _motion_impulse(client, make_project, upload_demo, FOUR_LABELS)
    baseline = _train(client, pid, impulse_id, h, wait_job)
    assert baseline["run"]["baseline_run_id"] is None
    assert baseline["result"].get("optimization") is None

    pruned = _train(
        client, pid, impulse_id, h, wait_job,
        params=_params(pruning="structured", sparsity=0.5, fine_tune_epochs=4),
    )  # fmt: skip
    assert pruned["run"]["baseline_run_id"] == baseline["run"]["id"]
    report = pruned["result"]["optimization"]
    assert report["pruning"]["method"] == "structured"
    # The run's settings describe the network it made: half the units in each hidden layer.
    assert pruned["run"]["metrics"]["params"]["dense_layers"] == [12, 6]
    device = report["device"]
    assert device["board_id"] == "virtual-cortex-m4"
    before, after = device["baseline"], device["optimized"]
    assert after["macs"] < 0.6 * before["macs"], device
    assert after["flash_bytes"] < before["flash_bytes"], device
    assert after["model_instructions"] < before["model_instructions"], device
    assert pruned["run"]["metrics"]["optimization"]["device"] == device
    assert pruned["result"]["evaluation"]["int8"]["test"]["accuracy"] >= 0.6

    qat = _train(
        client, pid, impulse_id, h, wait_job,
        params=_params(qat=True, fine_tune_epochs=3), baseline_run_id=baseline["run"]["id"],
    )  # fmt: skip
    assert qat["run"]["baseline_run_id"] == baseline["run"]["id"]
    assert "qat" in qat["result"]["optimization"]
    # Quantization-aware training changes weights, not the network: same sizes on the device.
    device = qat["result"]["optimization"]["device"]
    assert device["optimized"]["macs"] == device["baseline"]["macs"]
    assert device["optimized"]["ram_bytes"] == device["baseline"]["ram_bytes"]

    # A teacher from another impulse cannot teach this one.
    other = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Other", "spec": SPEC}, headers=h
    ).json()
    answer = client.post(
        f"/api/projects/{pid}/impulses/{other['id']}/train",
        json={"params": _params(distillation=True), "teacher_run_id": baseline["run"]["id"]},
        headers=h,
    )
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "teacher_run_id"


def test_distillation_reports_teacher_student_alone_and_distilled(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _motion_impulse(client, make_project, upload_demo, FOUR_LABELS)
    teacher = _train(client, pid, impulse_id, h, wait_job)
    student = {**_params(distillation=True, temperature=3, alpha=0.7), "dense_layers": [8]}
    distilled = _train(
        client, pid, impulse_id, h, wait_job,
        params=student, teacher_run_id=teacher["run"]["id"],
    )  # fmt: skip
    run = distilled["run"]
    assert run["teacher_run_id"] == teacher["run"]["id"]
    assert run["baseline_run_id"] == teacher["run"]["id"]  # the newest plain run
    report = distilled["result"]["optimization"]
    assert report["distillation"]["temperature"] == 3
    companions = report["companions"]
    assert set(companions) == {"teacher", "student_alone"}
    for name in ("teacher", "student_alone"):
        assert 0 <= companions[name]["int8_test"]["accuracy"] <= 1
    assert (
        companions["teacher"]["int8_test"]["accuracy"]
        == (teacher["result"]["evaluation"]["int8"]["test"]["accuracy"])
    )
    assert run["metrics"]["params"]["dense_layers"] == [8]
