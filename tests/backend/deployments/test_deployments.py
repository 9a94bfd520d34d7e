"""Deploying a trained run: C library, Arduino library and firmware profiled on a virtual board."""

from __future__ import annotations

import io
import zipfile

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "flatten", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 8, "seed": 2}}],
}


def test_boards_catalog(client, make_person) -> None:  # type: ignore[no-untyped-def]
    boards = {b["id"]: b for b in client.get("/api/boards", headers=make_person().headers).json()}
    assert {
        "virtual-cortex-m3",
        "virtual-cortex-m4",
        "virtual-cortex-m7",
        "virtual-cortex-m33",
    } <= set(boards)
    assert boards["virtual-cortex-m4"]["qemu_machine"] == "mps2-an386"
    esp = next(b for b in boards.values() if b["core"].startswith("esp32") or "esp32" in b["id"])
    assert esp["firmware_buildable"] is False and esp["firmware_unavailable_reason"]


def test_deploy_library_arduino_and_firmware(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=3, labels=("walking", "standing", "running"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()
    run = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={}, headers=h
    ).json()
    assert wait_job(client, pid, run["job_id"], h)["status"] == "succeeded"
    base = f"/api/projects/{pid}/training-runs/{run['id']}/deployments"

    library = client.post(base, json={"target": "c-library"}, headers=h).json()
    job = wait_job(client, pid, library["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    library_figures = client.get(
        f"/api/projects/{pid}/deployments/{library['id']}", headers=h
    ).json()["figures"]
    assert "virtual-cortex-m4" in library_figures["note"]
    archive = client.get(
        f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download", headers=h
    )
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert any(n.endswith("Makefile") for n in names) and any(
        n.endswith("CMakeLists.txt") for n in names
    )
    assert any(n.endswith("main.c") for n in names)

    arduino = client.post(base, json={"target": "arduino-library"}, headers=h).json()
    job = wait_job(client, pid, arduino["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    url = f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download"
    names = zipfile.ZipFile(io.BytesIO(client.get(url, headers=h).content)).namelist()
    assert any(n.endswith("library.properties") for n in names) and any(
        n.endswith(".ino") for n in names
    )

    firmware = client.post(
        base, json={"target": "firmware", "board_id": "virtual-cortex-m4"}, headers=h
    ).json()
    job = wait_job(client, pid, firmware["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    deployment = client.get(f"/api/projects/{pid}/deployments/{firmware['id']}", headers=h).json()
    figures = deployment["figures"]
    assert figures == deployment["report"]["figures"]  # one figures object, kept in the report
    assert figures["latency"]["instructions"] > 0 and figures["latency"]["estimate"] is True
    assert 0 < figures["flash"]["total_bytes"] <= figures["flash_limit_bytes"]
    ram = figures["ram"]
    assert ram["total_bytes"] == ram["arena_bytes"] + ram["stack_bytes"] + ram["static_bytes"]
    assert 0 < ram["stack_bytes"] < ram["stack_reserved_bytes"]
    assert figures["probe"]["label"] in ("walking", "standing", "running")
    model = deployment["report"]["model"]
    assert ram["arena_bytes"] == model["arena_bytes"]
    below = model["arena_bytes"] < model["lower_bound"]
    assert (ram["arena_note"] is not None) == below
    assert "firmware" not in deployment["report"]  # no second, linker-view RAM figure
    # The C library is measured as the same model + DSP on the same virtual board.
    for part in ("ram", "flash", "latency"):
        assert library_figures[part] == figures[part], part
    assert {a["name"] for a in job["artifacts"]} >= {"firmware.elf", "firmware.bin"}

    tested = client.post(f"/api/projects/{pid}/deployments/{firmware['id']}/device-test", headers=h)
    assert tested.status_code == 202
    job = wait_job(client, pid, tested.json()["id"], h)
    assert job["status"] == "succeeded", job["error"]
    on_device = job["result"]
    assert on_device["windows"] > 0 and on_device["agreement"] == 1.0, on_device["disagreements"][
        :3
    ]
    assert on_device["device_accuracy"] == on_device["studio_int8_accuracy"]
    # Scores, not only labels: the studio's int8 scores are the device's, window by window.
    scores = on_device["scores"]
    print(f"\nscores on the device: {scores['differing']} of {scores['windows']} windows differ")
    assert scores["windows"] == on_device["windows"] and scores["output_scale"] > 0
    assert scores["differing"] == 0, scores["first_differing"][:3]
    assert scores["max_abs_difference"] == 0.0 and scores["max_step_difference"] == 0
    kept = client.get(f"/api/projects/{pid}/deployments/{firmware['id']}", headers=h).json()
    assert kept["device_test"]["job_id"] == job["id"]
    assert kept["device_test"]["scores"] == scores and kept["device_test"]["agreement"] == 1.0
    not_firmware = client.post(
        f"/api/projects/{pid}/deployments/{library['id']}/device-test", headers=h
    )
    assert not_firmware.status_code == 400

    esp = client.post(
        base, json={"target": "firmware", "board_id": "esp32-s3-devkitc-1"}, headers=h
    )
    assert esp.status_code == 400 and "library" in esp.json()["detail"]["message"]
    no_board = client.post(base, json={"target": "firmware"}, headers=h)
    assert no_board.status_code == 400
    listed = client.get(f"/api/projects/{pid}/deployments", headers=h).json()
    assert [d["target"] for d in listed] == ["firmware", "arduino-library", "c-library"]


def test_deploy_with_an_anomaly_run(client, make_project, upload_demo, worker, wait_job) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=3, labels=("walking", "standing", "running"))
    spec = {
        **SPEC,
        "learn": [*SPEC["learn"], {"block": "anomaly-kmeans", "params": {"clusters": 4}}],
    }
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": spec}, headers=h
    ).json()
    train = f"/api/projects/{pid}/impulses/{impulse['id']}/train"
    run = client.post(train, json={}, headers=h).json()
    anomaly = client.post(train, json={"learn_index": 1}, headers=h).json()
    # More clusters than training windows: this run fails.
    failed = client.post(
        train, json={"learn_index": 1, "params": {"clusters": 1024}}, headers=h
    ).json()
    for started in (run, anomaly):
        job = wait_job(client, pid, started["job_id"], h)
        assert job["status"] == "succeeded", job["error"]
    assert wait_job(client, pid, failed["job_id"], h)["status"] == "failed"
    # A second version of the impulse (a shorter window) with its own anomaly run.
    changed = {**spec, "input": {**spec["input"], "window_ms": 2000}}
    assert (
        client.put(
            f"/api/projects/{pid}/impulses/{impulse['id']}", json={"spec": changed}, headers=h
        ).status_code
        == 200
    )
    other = client.post(train, json={"learn_index": 1}, headers=h).json()
    assert wait_job(client, pid, other["job_id"], h)["status"] == "succeeded"
    base = f"/api/projects/{pid}/training-runs/{run['id']}/deployments"

    def refused(anomaly_run_id: int) -> str:
        answer = client.post(
            base, json={"target": "c-library", "anomaly_run_id": anomaly_run_id}, headers=h
        )
        assert answer.status_code == 400, answer.text
        detail = answer.json()["detail"]
        assert detail["field"] == "anomaly_run_id"
        return str(detail["message"])

    assert "not found" in refused(999_999)
    assert "has not succeeded" in refused(failed["id"])
    assert "not an anomaly run" in refused(run["id"])
    message = refused(other["id"])
    assert "impulse version 2" in message and "version 1" in message
    itself = client.post(
        f"/api/projects/{pid}/training-runs/{anomaly['id']}/deployments",
        json={"target": "c-library"},
        headers=h,
    )
    assert itself.status_code == 400 and "anomaly" in itself.json()["detail"]["message"]

    library = client.post(
        base, json={"target": "c-library", "anomaly_run_id": anomaly["id"]}, headers=h
    ).json()
    assert library["anomaly_run_id"] == anomaly["id"]
    job = wait_job(client, pid, library["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    archive = client.get(
        f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download", headers=h
    )
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert any(n.endswith("src/ts_anomaly.c") for n in names)

    firmware = client.post(
        base,
        json={
            "target": "firmware",
            "board_id": "virtual-cortex-m4",
            "anomaly_run_id": anomaly["id"],
        },
        headers=h,
    ).json()
    job = wait_job(client, pid, firmware["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    deployment = client.get(f"/api/projects/{pid}/deployments/{firmware['id']}", headers=h).json()
    assert deployment["anomaly_run_id"] == anomaly["id"]
    report = deployment["report"]
    assert report["anomaly_run_id"] == anomaly["id"]
    assert report["anomaly"]["clusters"] == 4 and report["anomaly"]["block"] == "anomaly-kmeans"
    figures = report["figures"]
    assert figures["latency"]["stage_instructions"]["anomaly"] > 0
    assert figures["flash"]["parts"]["anomaly"] > 0 and figures["probe"]["anomaly"] is not None

    tested = client.post(f"/api/projects/{pid}/deployments/{firmware['id']}/device-test", headers=h)
    job = wait_job(client, pid, tested.json()["id"], h)
    assert job["status"] == "succeeded", job["error"]
    on_device = job["result"]
    compared = on_device["anomaly"]
    assert compared["run_id"] == anomaly["id"] and compared["windows"] == on_device["windows"] > 0
    print(
        f"\nanomaly scores on the device: max abs difference {compared['max_abs_difference']:.2e}"
    )
    assert compared["max_abs_difference"] <= 1e-3
    assert compared["agreement"] == 1.0, compared["disagreements"][:3]
    assert on_device["agreement"] == 1.0
    assert on_device["scores"]["differing"] == 0, on_device["scores"]["first_differing"][:3]
