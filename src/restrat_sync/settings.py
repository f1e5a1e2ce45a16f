"""Runtime settings from ``RESTRAT_*`` environment variables and a secrets directory.

Secrets (tokens) are ``SecretStr``: they print as ``**********`` and are unwrapped only where a
request is authenticated. A secrets directory holds one file per setting, named like the
variable (``restrat_jira_token``), as Docker and Kubernetes mount secrets; its location is
``RESTRAT_SECRETS_DIR``, or ``/run/secrets`` when that exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from restrat_sync.errors import ConfigError

DEFAULT_SECRETS_DIR = Path("/run/secrets")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESTRAT_", extra="ignore")

    config: Path = Path("config/restrat.yaml")
    data_dir: Path = Path("data")
    database_url: str | None = None
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    confluence_url: str | None = None
    confluence_user: str | None = None
    confluence_token: SecretStr | None = None
    # The worker (`restrat-sync run`): its health endpoint, readiness and log lines.
    health_host: str = "0.0.0.0"  # noqa: S104  # in a container, probes come from outside
    health_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    ready_max_age_minutes: float = Field(default=60, gt=0)  # /readyz: last good sync this young
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "jira_user", "jira_token", "confluence_user", "confluence_token", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `RESTRAT_JIRA_TOKEN=` (or a secrets file holding only a newline) sets nothing: the
        # admin hears that it is not set, not that Jira refused an empty token.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jira_url", "confluence_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """The cache's SQLAlchemy URL: RESTRAT_DATABASE_URL, else SQLite in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'restrat.db'}"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to one service: Basic with a user, else Bearer (a Data Center PAT)."""

    user: str | None
    token: SecretStr | None
    # Where the token comes from, for messages (a variable's name, not a secret).
    token_setting: str = "RESTRAT_JIRA_TOKEN"  # noqa: S105

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, token={'set' if self.token else 'missing'})"

    def unset_token(self, service: str) -> str | None:
        """What to say when ``service`` refuses a request sent without a token (a 401 would
        only puzzle); None when a token is set, since then the token itself was refused."""
        if self.token is not None:
            return None
        return (
            f"{self.token_setting} is not set: {service} needs a token to sign in (an API "
            "token on Cloud, a personal access token on Data Center)"
        )

    def library_auth(self) -> dict[str, Any]:
        """Keyword arguments for atlassian-python-api's constructors."""
        token = self.token.get_secret_value() if self.token else None
        if self.user:
            return {"username": self.user, "password": token}
        return {"token": token}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings; a bad value raises ConfigError naming the variable."""
    env = os.environ if environ is None else environ
    secrets_dir = _secrets_dir(env)
    try:
        if environ is None:
            # pydantic-settings' init-only option, unknown to the type checker.
            return Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]
        # An explicit mapping (tests) must not be mixed with the process environment.
        values = {
            k[len("RESTRAT_") :].lower(): v for k, v in env.items() if k.startswith("RESTRAT_")
        }
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"RESTRAT_{'_'.join(str(p) for p in error['loc']).upper()}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        ]
        raise ConfigError(problems) from None


def _secrets_dir(env: Mapping[str, str]) -> Path | None:
    named = env.get("RESTRAT_SECRETS_DIR")
    if named:
        path = Path(named)
        if not path.is_dir():
            raise ConfigError([f"RESTRAT_SECRETS_DIR: {path} is not a directory"])
        return path
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def jira_credentials(settings: Settings) -> Credentials:
    return Credentials(settings.jira_user, settings.jira_token, "RESTRAT_JIRA_TOKEN")


def confluence_credentials(settings: Settings) -> Credentials:
    """Confluence credentials, defaulting to Jira's (one Atlassian account serves both)."""
    if settings.confluence_token is not None:
        return Credentials(
            settings.confluence_user, settings.confluence_token, "RESTRAT_CONFLUENCE_TOKEN"
        )
    return Credentials(
        settings.confluence_user or settings.jira_user,
        settings.jira_token,
        "RESTRAT_CONFLUENCE_TOKEN (or RESTRAT_JIRA_TOKEN, its default)",
    )
