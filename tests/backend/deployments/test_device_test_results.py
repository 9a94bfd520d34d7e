"""An on-device test run in the browser is kept on its deployment as the studio's own test is."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

STEP = 1.0 / 256.0


def _add_deployment(project_id: int, *, target: str = "firmware", built: bool = True) -> int:
    """A deployment of a stand-in training run whose build job ended as `built` says."""
    from backend.core.db import get_sessionmaker, utcnow
    from backend.datasets.models import DatasetVersion
    from backend.deployments.models import Deployment
    from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
    from backend.jobs.models import Job, JobStatus

    with get_sessionmaker()() as db:
        impulse = Impulse(project_id=project_id, name="Motion")
        db.add(impulse)
        db.flush()
        version = ImpulseVersion(impulse_id=impulse.id, version=1, spec={})
        data = DatasetVersion(
            project_id=project_id, name="v1", entries=[], sample_count=0, fingerprint="0" * 64
        )
        db.add_all([version, data])
        db.flush()
        run = TrainingRun(
            project_id=project_id, impulse_id=impulse.id, impulse_version_id=version.id,
            dataset_version_id=data.id,
        )  # fmt: skip
        job = Job(
            project_id=project_id, kind="deployment.build",
            status=JobStatus.succeeded if built else JobStatus.failed, finished_at=utcnow(),
        )  # fmt: skip
        db.add_all([run, job])
        db.flush()
        deployment = Deployment(
            project_id=project_id, training_run_id=run.id, target=target,
            board_id="virtual-cortex-m4" if target == "firmware" else None, job_id=job.id,
            report={"target": target, "figures_note": "kept from the build"},
        )  # fmt: skip
        db.add(deployment)
        db.commit()
        return deployment.id


def browser_result(**changes: Any) -> dict[str, Any]:
    """A browser test of 40 windows on a board on Web Serial: one window a step apart."""
    body: dict[str, Any] = {
        "source": "browser",
        "board": "virtual-cortex-m4 over Web Serial",
        "windows": 40,
        "agreement": 1.0,
        "device_accuracy": 0.9,
        "studio_int8_accuracy": 0.9,
        "scores": {
            "windows": 40, "differing": 1, "max_abs_difference": STEP,
            "max_step_difference": 1, "output_scale": STEP, "output_zero_point": -128,
            "first_differing": [
                {"sample_id": 7, "sample_name": "walking.001", "window_index": 2,
                 "window_start_ms": 2000.0, "studio": [2 * STEP, 254 * STEP],
                 "device": [3 * STEP, 253 * STEP]},
            ],
        },
    }  # fmt: skip
    return {**body, **changes}


@pytest.fixture()
def tested(make_project):  # type: ignore[no-untyped-def]
    project_id, people = make_project("viewer", "editor")
    deployment_id = _add_deployment(project_id)
    url = f"/api/projects/{project_id}/deployments/{deployment_id}"
    return project_id, people, deployment_id, url


def test_a_browser_test_is_kept_and_read_back(client, tested) -> None:  # type: ignore[no-untyped-def]
    project_id, people, deployment_id, url = tested
    answer = client.post(
        f"{url}/device-test-results", json=browser_result(), headers=people["editor"].headers
    )
    assert answer.status_code == 200, answer.text
    kept = answer.json()
    assert kept["id"] == deployment_id
    summary = kept["device_test"]
    assert summary["source"] == "browser" and summary["job_id"] is None
    assert summary["board"] == "virtual-cortex-m4 over Web Serial"
    assert summary["scores"] == browser_result()["scores"]
    # The report keeps what the build wrote beside the test.
    assert kept["report"]["figures_note"] == "kept from the build"
    assert kept["report"]["device_test"] == summary
    # Any member reads it back, viewers too.
    read = client.get(url, headers=people["viewer"].headers).json()
    assert read["device_test"] == summary
    activity = client.get(
        f"/api/projects/{project_id}/activity", headers=people["owner"].headers
    ).json()
    assert "deployment.device_tested" in json.dumps(activity)
    # The next test takes its place.
    again = browser_result(board="Virtual Cortex-M4 (virtual board vb-1)", windows=41)
    client.post(f"{url}/device-test-results", json=again, headers=people["editor"].headers)
    assert client.get(url, headers=people["viewer"].headers).json()["device_test"]["windows"] == 41


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(browser_result())
    at = body
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return body


BAD_BODIES = [
    ("windows", -1, "windows"),
    ("windows", 10, "scores"),  # 40 windows compared of 10 tested
    ("agreement", 1.5, "agreement"),
    ("source", "studio", "source"),
    ("board", "", "board"),
    ("scores.differing", 41, "scores.differing"),
    ("scores.max_abs_difference", -0.5, "scores.max_abs_difference"),
    ("scores.output_scale", 0, "scores.output_scale"),
    ("scores.first_differing.0.studio", [0.5] * 4097, "scores.first_differing.0.studio"),
    ("scores.first_differing.0.device", [0.5], "scores.first_differing.0.device"),
    ("scores.first_differing.0.sample_id", 0, "scores.first_differing.0.sample_id"),
]


@pytest.mark.parametrize(("where", "value", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_results_are_refused_naming_the_field(client, tested, where, value, field) -> None:  # type: ignore[no-untyped-def]
    _, people, _, url = tested
    path = tuple(int(p) if p.isdigit() else p for p in where.split("."))
    answer = client.post(
        f"{url}/device-test-results", json=_with(path, value), headers=people["editor"].headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["message"].startswith(f"{field}:"), answer.text
    assert client.get(url, headers=people["editor"].headers).json()["device_test"] is None


def test_more_listed_windows_than_kept_extra_fields_and_nan_are_refused(client, tested) -> None:  # type: ignore[no-untyped-def]
    _, people, _, url = tested
    post = f"{url}/device-test-results"
    headers = people["editor"].headers
    eleven = browser_result()
    eleven["scores"] = {
        **eleven["scores"], "differing": 11,
        "first_differing": eleven["scores"]["first_differing"] * 11,
    }  # fmt: skip
    answer = client.post(post, json=eleven, headers=headers)
    assert answer.status_code == 422
    assert "scores.first_differing" in answer.json()["detail"]["message"]
    extra = client.post(post, json=browser_result(job_id=5), headers=headers)
    assert extra.status_code == 422 and "job_id" in extra.json()["detail"]["message"]
    text = json.dumps(browser_result()).replace('"agreement": 1.0', '"agreement": NaN')
    nan = client.post(post, content=text, headers={**headers, "content-type": "application/json"})
    assert nan.status_code == 422 and "agreement" in nan.json()["detail"]["message"]


def test_only_editors_keep_results_of_built_firmware_of_their_project(  # type: ignore[no-untyped-def]
    client, tested, make_project
) -> None:
    project_id, people, _, url = tested
    body = browser_result()
    viewer = client.post(f"{url}/device-test-results", json=body, headers=people["viewer"].headers)
    assert viewer.status_code == 403
    outsider_project, outsiders = make_project()
    outsider = client.post(
        f"{url}/device-test-results", json=body, headers=outsiders["owner"].headers
    )
    assert outsider.status_code == 404
    # Another project's deployment is not found through this one.
    foreign = _add_deployment(outsider_project)
    answer = client.post(
        f"/api/projects/{project_id}/deployments/{foreign}/device-test-results",
        json=body, headers=people["editor"].headers,
    )  # fmt: skip
    assert answer.status_code == 404
    for deployment_id in (
        _add_deployment(project_id, target="c-library"),
        _add_deployment(project_id, built=False),
    ):
        refused = client.post(
            f"/api/projects/{project_id}/deployments/{deployment_id}/device-test-results",
            json=body, headers=people["editor"].headers,
        )  # fmt: skip
        assert refused.status_code == 400 and refused.json()["detail"]["code"] == "not_testable"
    assert client.get(url, headers=people["owner"].headers).json()["device_test"] is None


def test_keeping_a_test_starts_from_the_report_others_committed(tested) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.deployments.models import Deployment
    from backend.deployments.schemas import DeviceTestSummary
    from backend.deployments.service import keep_device_test

    _, _, deployment_id, _ = tested
    with get_sessionmaker()() as stale, get_sessionmaker()() as other:
        # One session holds the deployment as it was; another then adds to its report.
        held = stale.get(Deployment, deployment_id)
        assert held is not None and "anomaly_run_id" not in held.report
        row = other.get(Deployment, deployment_id)
        assert row is not None
        row.report = {**row.report, "anomaly_run_id": 12}
        other.commit()
        summary = DeviceTestSummary.model_validate(browser_result())
        kept = keep_device_test(db=stale, deployment_id=deployment_id, summary=summary)
        assert kept is held
    with get_sessionmaker()() as fresh:
        report = fresh.get(Deployment, deployment_id).report  # type: ignore[union-attr]
    assert report["anomaly_run_id"] == 12 and report["figures_note"] == "kept from the build"
    assert report["device_test"]["source"] == "browser"
    assert DeviceTestSummary.model_validate(report["device_test"]) == summary
