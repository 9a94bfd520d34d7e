"""Starting a tuner run: bad settings answer 422 naming the field and store nothing; defaults
come from the board and the data; viewers read, editors start."""

from __future__ import annotations

from typing import Any

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 500, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "flatten", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 2}}],
}
BOARD = "virtual-cortex-m4"


def _project(client, make_project, upload_demo, *roles: str) -> tuple[int, Any]:  # type: ignore[no-untyped-def]
    pid, people = make_project(*roles)
    upload_demo(client, pid, people["owner"].headers, count=2, labels=("walking", "standing"))
    return pid, people


def test_bad_settings_answer_422_naming_the_field_and_store_nothing(
    client, make_project, upload_demo
) -> None:  # type: ignore[no-untyped-def]
    pid, people = _project(client, make_project, upload_demo)
    h = people["owner"].headers
    url = f"/api/projects/{pid}/tuner-runs"
    cases = [
        ({"budgets": {"ram_bytes": -64}}, "budgets.ram_bytes"),
        ({"budgets": {"latency_ms": 0}}, "budgets.latency_ms"),
        ({"max_trials": 0}, "max_trials"),
        ({"sampler": "grid"}, "sampler"),
        ({"time_budget_s": 5}, "time_budget_s"),
    ]
    for extra, field in cases:
        answer = client.post(url, json={"board_id": BOARD, **extra}, headers=h)
        assert answer.status_code == 422, (extra, answer.text)
        assert answer.json()["detail"]["message"].startswith(field), answer.json()

    refused = [
        ({"board_id": "no-such-board"}, "board_id", "unknown board 'no-such-board'"),
        ({"board_id": "esp32-s3-devkitc-1"}, "board_id", "cannot be measured"),
        ({"budgets": {"ram_bytes": 8 * 1024 * 1024}}, "budgets.ram_bytes", "4,194,304 B of RAM"),
        ({"budgets": {"flash_bytes": 2**30}}, "budgets.flash_bytes", "of flash"),
        ({"dsp_blocks": ["fourier-magic"]}, "dsp_blocks", "unknown block 'fourier-magic'"),
        ({"learn_blocks": ["regression"]}, "learn_blocks", "regression does not fit"),
        ({"dsp_blocks": []}, "dsp_blocks", "at least one block"),
        ({"impulse_id": 2**31 - 1}, "impulse_id", "not found"),
        ({"dataset_version_id": 2**31 - 1}, "dataset_version_id", "not found"),
    ]
    for extra, field, words in refused:
        answer = client.post(url, json={"board_id": BOARD, **extra}, headers=h)
        assert answer.status_code == 422, (extra, answer.text)
        detail = answer.json()["detail"]
        assert detail["field"] == field and words in detail["message"], detail
    assert client.get(url, headers=h).json() == []


def test_data_a_classifier_cannot_learn_from_is_refused(client, make_project, upload_demo) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=2, labels=("walking",))
    answer = client.post(f"/api/projects/{pid}/tuner-runs", json={"board_id": BOARD}, headers=h)
    assert answer.status_code == 400
    assert answer.json()["detail"]["field"] == "dataset"
    assert "two labels" in answer.json()["detail"]["message"]


def test_defaults_come_from_the_board_the_base_impulse_and_the_data(
    client, make_project, upload_demo
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    empty = client.get(f"/api/projects/{pid}/tuner-defaults", headers=h).json()
    assert empty["board_id"] == BOARD and empty["dsp_blocks"] == []
    assert empty["budgets"] == {"ram_bytes": 2097152, "flash_bytes": 2097152, "latency_ms": 1000.0}

    upload_demo(client, pid, h, count=2, labels=("walking", "standing"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()
    defaults = client.get(
        f"/api/projects/{pid}/tuner-defaults",
        params={"board_id": "nucleo-l4r5zi", "impulse_id": impulse["id"]},
        headers=h,
    ).json()
    assert defaults["board_ram_bytes"] == 655360 and defaults["board_flash_bytes"] == 2097152
    assert defaults["budgets"] == {"ram_bytes": 327680, "flash_bytes": 1048576, "latency_ms": 500.0}
    assert "flatten" in defaults["dsp_blocks"] and "classifier-dense" in defaults["learn_blocks"]
    # Audio blocks do not fit six axes of motion at 10 Hz, nor regression a classifier search.
    assert "mfcc" not in defaults["dsp_blocks"] and "regression" not in defaults["learn_blocks"]
    assert defaults["max_trials"] == 30 and defaults["parallel_trials"] is None
    unknown = client.get(
        f"/api/projects/{pid}/tuner-defaults", params={"board_id": "nope"}, headers=h
    )
    assert unknown.status_code == 422 and unknown.json()["detail"]["field"] == "board_id"


def test_viewers_read_editors_start_outsiders_see_nothing(
    client, make_project, upload_demo, make_person
) -> None:  # type: ignore[no-untyped-def]
    pid, people = _project(client, make_project, upload_demo, "viewer")
    url = f"/api/projects/{pid}/tuner-runs"
    viewer = people["viewer"].headers
    assert client.get(url, headers=viewer).status_code == 200
    assert client.get(f"/api/projects/{pid}/tuner-defaults", headers=viewer).status_code == 200
    denied = client.post(url, json={"board_id": BOARD}, headers=viewer)
    assert denied.status_code == 403 and denied.json()["detail"]["code"] == "role_required"
    outsider = make_person("outsider").headers
    assert client.get(url, headers=outsider).status_code == 404
    missing = client.get(f"{url}/{2**31 - 1}", headers=people["owner"].headers)
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "tuner_run_not_found"
