"""docker-compose.yml and docker-compose.workers.yml are checked without Docker: real CLI verbs,
real settings, real queues, healthchecks, and blobs in MinIO rather than a shared volume."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from backend.cli import main
from backend.core.config import Settings
from backend.jobs.celery_app import ALL_QUEUES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
WORKERS = yaml.safe_load((ROOT / "docker-compose.workers.yml").read_text())
SETTING_NAMES = {f"TINYSTUDIO_{name.upper()}" for name in Settings.model_fields}


def _argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, dict):
        return {str(k): str(v) for k, v in environment.items()}
    return dict(e.split("=", 1) for e in environment)


def _studio_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if _argv(s)[:1] == ["tinystudio"]}


def test_services_and_health() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "minio", "api", "worker", "build-worker", "flower"} <= set(
        services
    )
    for name, service in services.items():
        if service.get("restart") == "no":  # one-shot: others wait for it to finish instead
            waiting = [
                other
                for other in services.values()
                if other.get("depends_on", {}).get(name, {}).get("condition")
                == "service_completed_successfully"
            ]
            assert waiting, f"one-shot service {name} is awaited by no service"
        else:
            assert "healthcheck" in service, f"service {name} has no healthcheck"
    assert {"postgres-data", "minio-data"} <= set(COMPOSE.get("volumes", {}))


def test_blobs_live_in_minio_not_in_a_shared_volume() -> None:
    assert "blobs" not in COMPOSE.get("volumes", {})
    bucket = COMPOSE["services"]["minio-bucket"]
    assert "mb --ignore-existing studio/tinystudio" in " ".join(bucket["entrypoint"])
    for compose in (COMPOSE, WORKERS):
        for name, service in _studio_services(compose).items():
            env = _environment(service)
            assert "TINYSTUDIO_BLOB_DIR" not in env, name
            assert (
                env["TINYSTUDIO_BLOB_URL"]
                .removeprefix("${TINYSTUDIO_BLOB_URL:-")
                .startswith("s3://tinystudio/")
            ), name
            assert "TINYSTUDIO_BLOB_S3_ENDPOINT_URL" in env, name
            mounts = [str(v).split(":")[0] for v in service.get("volumes", [])]
            assert "blobs" not in mounts, f"{name} still mounts the shared blob volume"
    for name in ("api", "worker", "build-worker"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["minio-bucket"]["condition"] == "service_completed_successfully"


def test_worker_hosts_run_only_workers_with_the_main_hosts_addresses() -> None:
    services = WORKERS["services"]
    assert set(services) == {"training-worker", "build-worker"}
    queues = {name: _argv(s)[_argv(s).index("--queues") + 1] for name, s in services.items()}
    assert queues == {"training-worker": "training", "build-worker": "build"}
    for name, service in services.items():
        assert _argv(service)[:2] == ["tinystudio", "worker"] and "healthcheck" in service
        env = _environment(service)
        for setting in (
            "TINYSTUDIO_DATABASE_URL", "TINYSTUDIO_BROKER_URL", "TINYSTUDIO_SECRET_KEY",
            "TINYSTUDIO_BLOB_S3_ACCESS_KEY_ID", "TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY",
        ):  # fmt: skip
            assert env[setting].startswith(f"${{{setting}:?"), f"{name}: {setting} is not asked for"
        assert "@postgres:" not in str(env) and "minio:9000" not in str(env)  # no local stores


@pytest.mark.parametrize("compose", [COMPOSE, WORKERS], ids=["main", "workers"])
def test_tinystudio_commands_are_real_verbs_settings_and_queues(compose: dict[str, Any]) -> None:
    runner = CliRunner()
    checked = 0
    for name, service in compose["services"].items():
        argv = _argv(service)
        if argv and argv[0] == "tinystudio":
            result = runner.invoke(main, [*argv[1:], "--help"])
            assert result.exit_code == 0, (
                f"{name}: '{' '.join(argv)}' is not a CLI verb: {result.output}"
            )
            checked += 1
        if "--queues" in argv:
            named = argv[argv.index("--queues") + 1].split(",")
            assert set(named) <= set(ALL_QUEUES), f"{name}: unknown queue in {named}"
        for key in _environment(service):
            if key.startswith("TINYSTUDIO_"):
                assert key in SETTING_NAMES, f"{name}: {key} is not a TinyStudio setting"
    assert checked >= 2
