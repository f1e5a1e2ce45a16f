"""Static checks of deploy/compose.yaml and of the deploy guide's variable list (no Docker here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from restrat_sync.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
# Read by the worker and the CLI beside the Settings fields.
WORKER_VARIABLES = [
    "RESTRAT_SECRETS_DIR",
    "RESTRAT_HEALTH_HOST",
    "RESTRAT_HEALTH_PORT",
    "RESTRAT_READY_MAX_AGE_MINUTES",
    "RESTRAT_LOG_FORMAT",
]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def worker(compose: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"]["restrat-sync"]
    return service


def test_worker_and_postgres_services(compose: dict[str, Any]) -> None:
    """The file runs the worker beside PostgreSQL, the worker built from this repository."""
    assert set(compose["services"]) == {"restrat-sync", "postgres"}
    context = (COMPOSE.parent / compose["services"]["restrat-sync"]["build"]["context"]).resolve()
    assert (context / "Dockerfile").is_file()
    assert compose["services"]["restrat-sync"]["command"] == ["run"]


def test_worker_waits_for_a_healthy_database(worker: dict[str, Any]) -> None:
    """The worker starts only once PostgreSQL's own healthcheck passes."""
    assert worker["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_both_services_have_healthchecks(compose: dict[str, Any], worker: dict[str, Any]) -> None:
    """PostgreSQL is probed with pg_isready, the worker on /healthz at its health port."""
    postgres = compose["services"]["postgres"]["healthcheck"]["test"]
    assert postgres[0] == "CMD"
    assert "pg_isready" in postgres
    probe = worker["healthcheck"]["test"]
    assert probe[:4] == ["CMD", "python", "-c", probe[3]]
    port = worker["environment"]["RESTRAT_HEALTH_PORT"]
    assert f":{port}/healthz" in probe[3]
    assert f"{port}:{port}" in worker["ports"]


def test_secrets_are_files_never_environment(
    compose: dict[str, Any], worker: dict[str, Any]
) -> None:
    """Tokens and passwords come from secret files; no secret value sits in the YAML."""
    environment = {**worker["environment"], **compose["services"]["postgres"]["environment"]}
    for name, value in environment.items():
        assert "TOKEN" not in name
        assert name != "RESTRAT_DATABASE_URL"  # it holds the database password
        assert not name.endswith("PASSWORD"), f"{name}={value}: use {name}_FILE"
    declared = compose["secrets"]
    used = set(worker["secrets"]) | set(compose["services"]["postgres"]["secrets"])
    assert used == set(declared)
    assert all(declared[name]["file"].startswith("./secrets/") for name in used)


def test_worker_secrets_are_named_like_settings(worker: dict[str, Any]) -> None:
    """Each worker secret file is named like a setting, as the secrets directory expects."""
    assert worker["environment"]["RESTRAT_SECRETS_DIR"] == "/run/secrets"
    fields = {f"restrat_{name}" for name in Settings.model_fields}
    assert set(worker["secrets"]) <= fields
    assert {"restrat_jira_token", "restrat_database_url"} <= set(worker["secrets"])


def test_worker_volumes_match_the_image(compose: dict[str, Any], worker: dict[str, Any]) -> None:
    """Config and JQL mount read-only from the repository; the data lives on a named volume."""
    mounts = {target: source for source, target, *_ in (v.split(":") for v in worker["volumes"])}
    assert mounts["/app/config"] == "../config"
    assert mounts["/app/jql"] == "../jql"
    assert mounts["/app/data"] in compose["volumes"]
    assert "../config:/app/config:ro" in worker["volumes"]


def test_every_variable_is_a_known_setting(worker: dict[str, Any]) -> None:
    """The compose file sets no RESTRAT_ variable that nothing reads."""
    known = {f"RESTRAT_{name.upper()}" for name in Settings.model_fields} | set(WORKER_VARIABLES)
    assert set(worker["environment"]) <= known


def test_deploy_guide_lists_every_environment_variable() -> None:
    """docs/deploy.md documents every RESTRAT_ variable: each setting and the worker's own."""
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`(RESTRAT_[A-Z_]+)`", doc))
    wanted = {f"RESTRAT_{name.upper()}" for name in Settings.model_fields} | set(WORKER_VARIABLES)
    assert sorted(wanted - documented) == []
