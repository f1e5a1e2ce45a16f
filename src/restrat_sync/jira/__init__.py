"""The Jira gateway: the only code that talks to Jira."""

from __future__ import annotations

from restrat_sync.jira.fields import FieldIds, discover_fields
from restrat_sync.jira.gateway import JiraAnswered, JiraGateway, connect_jira, flavor_of

__all__ = [
    "FieldIds",
    "JiraAnswered",
    "JiraGateway",
    "connect_jira",
    "discover_fields",
    "flavor_of",
]
