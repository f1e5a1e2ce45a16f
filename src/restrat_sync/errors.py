"""restrat-sync's exceptions, each mapped to one CLI exit code.

::

    RestratError                 exit 1: anything else that restrat-sync understands
    ├── ConfigError              exit 2: config/, jql/ or environment settings are invalid
    │   └── JqlRejected          exit 2: Jira refused a JQL file
    └── ConnectionProblem        exit 3: Jira or Confluence unreachable, or not at that URL
        └── CredentialsRejected  exit 3: 401/403 from Jira or Confluence, or no token set

A user never sees a traceback for these: ``cli.main`` prints ``str(error)`` and exits with
``error.exit_code``.
"""

from __future__ import annotations


class RestratError(Exception):
    exit_code = 1


class ConfigError(RestratError):
    """Invalid configuration. The message names the file, the field path and, where known, the
    line."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class JqlRejected(ConfigError):
    """Jira answered that a JQL file is invalid."""


class ConnectionProblem(RestratError):
    exit_code = 3


class CredentialsRejected(ConnectionProblem):
    pass
