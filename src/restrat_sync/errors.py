"""restrat-sync's exceptions, each mapped to one CLI exit code.

::

    RestratError                 exit 1: anything else that restrat-sync understands
    ├── ConfigError              exit 2: config/, jql/ or environment settings are invalid
    │   └── JqlRejected          exit 2: Jira refused a JQL file
    └── ConnectionProblem        exit 3: Jira or Confluence unreachable, or not at that URL
        ├── CredentialsRejected  exit 3: 401/403 from Jira or Confluence, or no token set
        └── ServiceDown          exit 3: not sent: the run found the service unreachable before

A user never sees a traceback for these: ``cli.main`` prints ``str(error)`` and exits with
``error.exit_code``.

``ShutdownRequested`` stands apart: it is no error but the worker stopping, raised at a point
where a job can stop cleanly (a page boundary, a retry wait).
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


class ServiceDown(ConnectionProblem):
    """A request not sent, because an earlier one of the same worker run found the service
    unreachable (connection errors or 5xx answers after retries): the run fails fast."""


class ShutdownRequested(Exception):
    """The worker is stopping: raised at the next page boundary of a sync or a publish, and
    out of a retry wait.

    Not a RestratError, so that neither the syncer nor the publisher takes it for one page's
    failure and carries on."""
