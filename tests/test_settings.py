"""Settings: environment, secrets directory, defaults, secrecy."""

from __future__ import annotations

from pathlib import Path

import pytest

from restrat_sync.errors import ConfigError
from restrat_sync.settings import confluence_credentials, jira_credentials, load_settings


def test_defaults_put_the_cache_in_the_data_dir() -> None:
    """Without RESTRAT_DATABASE_URL the cache is SQLite in the data directory."""
    settings = load_settings({})
    assert settings.effective_database_url == "sqlite:///data/restrat.db"
    assert settings.config == Path("config/restrat.yaml")


def test_tokens_come_from_a_secrets_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named restrat_jira_token in RESTRAT_SECRETS_DIR provides the token."""
    (tmp_path / "restrat_jira_token").write_text("from-file", encoding="utf-8")
    monkeypatch.setenv("RESTRAT_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("RESTRAT_JIRA_TOKEN", raising=False)
    settings = load_settings()
    assert settings.jira_token is not None
    assert settings.jira_token.get_secret_value() == "from-file"


def test_secrets_never_print() -> None:
    """A token's value appears in neither str() nor repr() of the settings."""
    settings = load_settings({"RESTRAT_JIRA_TOKEN": "hunter2"})
    assert "hunter2" not in str(settings)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in repr(confluence_credentials(settings))


def test_confluence_borrows_jira_credentials_when_unset() -> None:
    """One Atlassian account usually serves both products."""
    settings = load_settings({"RESTRAT_JIRA_USER": "a@x", "RESTRAT_JIRA_TOKEN": "t"})
    credentials = confluence_credentials(settings)
    assert credentials.user == "a@x"
    assert credentials.token is not None


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_a_blank_token_or_user_is_unset(blank: str) -> None:
    """An empty variable sets nothing, so a refusal can say the token is not set."""
    settings = load_settings({"RESTRAT_JIRA_USER": blank, "RESTRAT_JIRA_TOKEN": blank})
    assert (settings.jira_user, settings.jira_token) == (None, None)
    assert jira_credentials(settings).unset_token("Jira") is not None


def test_missing_secrets_dir_is_a_config_error() -> None:
    """A secrets directory that does not exist is named."""
    with pytest.raises(ConfigError, match="RESTRAT_SECRETS_DIR"):
        load_settings({"RESTRAT_SECRETS_DIR": "/nonexistent/dir"})
