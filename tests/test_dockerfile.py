"""Static checks of the Dockerfile (no Docker engine runs on the build machines)."""

from __future__ import annotations

import json
from pathlib import Path

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
