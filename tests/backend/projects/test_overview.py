"""A project's overview counts what it holds and how far it got, from data to a board."""

from __future__ import annotations

from tests.factories import csv_sample, upload_csvs


def _add_run_and_build(project_id: int, *, trained: bool, built: bool) -> int:
    """An impulse with a training run and a firmware build whose jobs ended as told."""
    from backend.core.db import get_sessionmaker, utcnow
    from backend.datasets.models import DatasetVersion
    from backend.deployments.models import Deployment
    from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
    from backend.jobs.models import Job, JobStatus

    def job(kind: str, ok: bool) -> Job:
        status = JobStatus.succeeded if ok else JobStatus.failed
        return Job(project_id=project_id, kind=kind, status=status, finished_at=utcnow())

    with get_sessionmaker()() as db:
        impulse = Impulse(project_id=project_id, name="Motion")
        db.add(impulse)
        db.flush()
        version = ImpulseVersion(impulse_id=impulse.id, version=1, spec={})
        data = DatasetVersion(
            project_id=project_id, name="v1", entries=[], sample_count=0, fingerprint="0" * 64
        )
        train, build = job("impulse.train", trained), job("deployment.build", built)
        db.add_all([version, data, train, build])
        db.flush()
        run = TrainingRun(
            project_id=project_id, impulse_id=impulse.id, impulse_version_id=version.id,
            dataset_version_id=data.id, job_id=train.id,
        )  # fmt: skip
        db.add(run)
        db.flush()
        deployment = Deployment(
            project_id=project_id, training_run_id=run.id, target="firmware",
            board_id="virtual-cortex-m4", job_id=build.id,
        )  # fmt: skip
        db.add(deployment)
        db.commit()
        return deployment.id


def test_overview_follows_the_project_from_data_to_a_board(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    h = people["owner"].headers
    url = f"/api/projects/{pid}/overview"
    empty = client.get(url, headers=people["viewer"].headers)
    assert empty.status_code == 200
    assert set(empty.json().values()) == {0}

    names = ["idle.1.csv", "idle.2.csv", "wave.1.csv"]
    training = {name: csv_sample([n, n + 1]) for n, name in enumerate(names)}
    upload_csvs(client, pid, h, training, "training")
    upload_csvs(client, pid, h, {"wave.2.csv": csv_sample([3, 4])}, "testing")
    samples = client.get(f"/api/projects/{pid}/samples", headers=h).json()["items"]
    by_name = {s["name"]: s["id"] for s in samples}
    client.delete(f"/api/projects/{pid}/samples/{by_name['idle.2']}", headers=h)
    # A disabled sample does not count for the test set: the checklist would mislead.
    upload_csvs(client, pid, h, {"rest.1.csv": csv_sample([5, 6])}, "testing")
    rest = client.get(f"/api/projects/{pid}/samples", params={"label": "rest"}, headers=h)
    client.patch(
        f"/api/projects/{pid}/samples/{rest.json()['items'][0]['id']}",
        json={"enabled": False}, headers=h,
    )  # fmt: skip

    _add_run_and_build(pid, trained=False, built=False)
    deployment = _add_run_and_build(pid, trained=True, built=True)
    test = {
        "source": "browser", "board": "virtual-cortex-m4 over Web Serial", "windows": 1,
        "agreement": 1.0, "device_accuracy": 1.0, "studio_int8_accuracy": 1.0,
        "scores": {"windows": 1, "differing": 0, "max_abs_difference": 0.0, "first_differing": []},
    }  # fmt: skip
    kept = client.post(
        f"/api/projects/{pid}/deployments/{deployment}/device-test-results", json=test, headers=h
    )
    assert kept.status_code == 200, kept.text

    assert client.get(url, headers=h).json() == {
        "samples": 4,
        "trashed_samples": 1,
        "training_labels": 2,
        "testing_samples": 1,
        "impulses": 2,
        "training_runs": 2,
        "succeeded_training_runs": 1,
        "deployments": 2,
        "succeeded_deployments": 1,
        "device_tests": 1,
        "virtual_board_sessions": 0,
    }


def test_overview_of_a_project_you_are_not_in_is_not_found(
    client, make_project, make_person
) -> None:  # type: ignore[no-untyped-def]
    pid, _ = make_project()
    outsider = make_person("outsider")
    assert client.get(f"/api/projects/{pid}/overview", headers=outsider.headers).status_code == 404
