"""docker-compose.yml is checked without Docker: real CLI verbs, real settings, healthchecks."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from backend.cli import main
from backend.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTING_NAMES = {f"TINYSTUDIO_{name.upper()}" for name in Settings.model_fields}


def test_services_and_health() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "api", "worker", "flower"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"service {name} has no healthcheck"
    assert {"postgres-data", "blobs"} <= set(COMPOSE.get("volumes", {}))


def test_tinystudio_commands_are_real_verbs_and_settings_are_real() -> None:
    runner = CliRunner()
    checked = 0
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        argv = shlex.split(command) if isinstance(command, str) else list(command or [])
        if argv and argv[0] == "tinystudio":
            result = runner.invoke(main, [*argv[1:], "--help"])
            assert result.exit_code == 0, (
                f"{name}: '{' '.join(argv)}' is not a CLI verb: {result.output}"
            )
            checked += 1
        environment = service.get("environment", {})
        keys = (
            environment.keys()
            if isinstance(environment, dict)
            else [e.split("=")[0] for e in environment]
        )
        for key in keys:
            if key.startswith("TINYSTUDIO_"):
                assert key in SETTING_NAMES, f"{name}: {key} is not a TinyStudio setting"
    assert checked >= 2
