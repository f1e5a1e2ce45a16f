"""Static checks of the Dockerfile (no Docker engine runs on the build machines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from restrat_sync.worker.health import HealthServer, WorkerTelemetry

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_entrypoint_is_exec_form_restrat_sync_run() -> None:
    """Exec form makes the worker PID 1, so SIGTERM reaches it; the default is `run`."""
    stage = dict(final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["restrat-sync"]
    assert json.loads(stage["CMD"]) == ["run"]


def test_runs_as_a_non_root_user() -> None:
    """The final stage switches to an unprivileged user."""
    users = [args for word, args in final_stage() if word == "USER"]
    assert users
    assert users[-1] not in ("root", "0")


def test_config_and_data_are_volumes() -> None:
    """Config, JQL and the cache live on volumes, not in the image layer."""
    volumes = json.loads(dict(final_stage())["VOLUME"])
    assert {"/app/config", "/app/jql", "/app/data"} <= set(volumes)


def test_base_image_is_slim_python() -> None:
    """Both stages build on the slim Python image."""
    bases = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert bases
    assert all(base.startswith("python:") and base.endswith("-slim") for base in bases)


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options and its exec-form command."""
    (args,) = [args for word, args in final_stage() if word == "HEALTHCHECK"]
    options, _, command = args.partition(" CMD ")
    flags = dict(option.removeprefix("--").split("=", 1) for option in options.split())
    return flags, json.loads(command)


def env() -> dict[str, str]:
    pairs = " ".join(args for word, args in final_stage() if word == "ENV").split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_build_and_run_are_separate_stages() -> None:
    """Wheels are built in a named stage; the final stage only copies them from it."""
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) >= 2
    assert froms[0].endswith(" AS build")
    copies = [args for word, args in final_stage() if word == "COPY"]
    assert any(args.startswith("--from=build ") for args in copies)
    runs = " ".join(args for word, args in final_stage() if word == "RUN")
    assert "--no-index" in runs  # the final stage installs without the network


def test_health_port_is_exposed_and_listens_on_all_interfaces() -> None:
    """EXPOSE names the port the worker serves health on, bound beyond loopback."""
    variables = env()
    assert variables["RESTRAT_HEALTH_HOST"] == "0.0.0.0"  # noqa: S104
    exposed = [args for word, args in final_stage() if word == "EXPOSE"]
    assert exposed == [variables["RESTRAT_HEALTH_PORT"]]


def test_healthcheck_is_exec_form_python_without_curl() -> None:
    """Slim images have no curl: the check is `python -c` with urllib, with sane timings."""
    flags, command = healthcheck()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert "curl" not in command[2]
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    assert int(flags["retries"]) >= 1


def test_healthcheck_command_passes_against_a_live_server_and_fails_without_one() -> None:
    """The HEALTHCHECK's Python exits 0 while /healthz answers and non-zero once it is gone."""
    _, command = healthcheck()
    server = HealthServer(WorkerTelemetry(timedelta(minutes=60)), "127.0.0.1", 0).start()
    environ = {**os.environ, "RESTRAT_HEALTH_PORT": str(server.port)}
    try:
        alive = subprocess.run(
            [sys.executable, *command[1:]], env=environ, capture_output=True, timeout=30
        )
    finally:
        server.stop()
    dead = subprocess.run(
        [sys.executable, *command[1:]], env=environ, capture_output=True, timeout=30
    )
    assert alive.returncode == 0, alive.stderr
    assert dead.returncode != 0


def test_secrets_stay_out_of_the_build_context() -> None:
    """.dockerignore keeps secrets directories, the virtualenv and caches out of the context."""
    ignored = (DOCKERFILE.parent / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"secrets", "deploy/secrets", ".venv", ".git", "data"} <= set(ignored)
