"""The sandbox's JQL engine: a real lexer, parser and evaluator for the JQL Jira clients send.

``parse_jql`` turns text into a ``JqlQuery`` (syntax errors raise ``JqlError``). A query is
compiled per ``JqlContext`` into closures over pre-resolved values, so ``matches`` costs a few
set lookups per issue. ``validate_fields`` lists semantic errors; ``search`` does it all.
``JqlQuery.structure()`` renders the tree as Cloud's ``/jql/parse`` does, and
``referenced_fields()`` names the fields a query uses.

Decisions worth knowing:

- Dates are read in the caller's time zone (``ctx.user.time_zone``), like Jira: see ``_dates``.
- ``~`` is all-words-must-appear, casefolded, with trailing ``*`` prefixes: see ``_text``.
- Without ORDER BY, results come ``created DESC, key DESC``; any sort ends on issue id.
- EMPTY sorts after every value (last in ASC, first in DESC).
- Keys and ids named in a query must exist, as Jira insists ("An issue with key ...").
- Unbounded queries (no WHERE) are accepted here; ``is_bounded`` lets the Cloud API refuse them.

Modules: ``_lexer`` -> ``_parser`` (``_ast``) -> ``_compile`` (``_fields``, ``_resolve``,
``_dates``, ``_text``) -> ``_query``; ``_errors`` holds ``JqlError`` and Jira's wording.
"""

from __future__ import annotations

from restrat_sandbox.jql._env import JqlContext
from restrat_sandbox.jql._errors import JqlError
from restrat_sandbox.jql._query import JqlQuery, parse_jql, search, validate_fields

__all__ = ["JqlContext", "JqlError", "JqlQuery", "parse_jql", "search", "validate_fields"]
