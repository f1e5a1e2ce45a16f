"""Every Jira endpoint the sandbox implements answers what Atlassian's v3 OpenAPI document allows.

Responses are validated against the official response schema of the ``/rest/api/3`` operation,
for both flavours (Data Center's ``/rest/api/2/search`` against v3's ``SearchResults``, the
closest documented shape). Where the official schema contradicts real Jira (and the document's
own examples), the sandbox keeps Jira's behaviour: those few places are listed in ``GAPS``, each
validated against a minimally corrected schema, and ``test_official_schema_rejects_...`` proves
that each gap is real, so the list cannot outlive a fixed spec.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from restrat_sandbox.server import SandboxServer
from tests.contract.openapi import load_spec, validate_response
from tests.sandbox.jira_fixtures import LONG_KEY, running_sandbox, session

SPEC = "jira-subset.json"
Schemas = dict[str, Any]


# --- where the official schema disagrees with real Jira ----------------------------------------


def _nullable_change_values(schemas: Schemas) -> None:
    # Jira sends null from/to/fromString/toString (a field set for the first time, a
    # resolution cleared); the spec's own changelog example does too, yet types them as
    # non-nullable strings.
    for name in ("from", "fromString", "to", "toString"):
        schemas["ChangeDetails"]["properties"][name]["nullable"] = True


def _epoch_created(schemas: Schemas) -> None:
    # Bulk fetch's own example sends `created` as a number; the schema says date-time string.
    created = schemas["Changelog"]["properties"]["created"]
    schemas["Changelog"]["properties"]["created"] = {
        "anyOf": [{k: v for k, v in created.items() if k != "readOnly"}, {"type": "integer"}]
    }


def _open_clauses(schemas: Schemas) -> None:
    # JqlQueryClause is an anyOf of clause shapes but also says additionalProperties: false
    # without listing any property, which forbids every clause, the spec's own example included.
    del schemas["JqlQueryClause"]["additionalProperties"]


@dataclass(frozen=True)
class Gap:
    name: str
    patch: Callable[[Schemas], None]
    rejected_at: str  # a fragment of the error location the unpatched schema reports


NULL_VALUES = Gap("null change values", _nullable_change_values, "items/0/from")
EPOCH_CREATED = Gap("epoch-ms created in bulk fetch", _epoch_created, "created")
CLAUSES = Gap("clause properties in jql/parse", _open_clauses, "structure/where")
GAPS = (NULL_VALUES, EPOCH_CREATED, CLAUSES)


def validate_with_gaps(
    method: str, path: str, status: int, body: Any, gaps: tuple[Gap, ...]
) -> None:
    """``validate_response``, against the official schema minimally corrected for ``gaps``."""
    if not gaps:
        validate_response(SPEC, method, path, status, body)
        return
    spec = copy.deepcopy(load_spec(SPEC))
    for gap in gaps:
        gap.patch(spec["components"]["schemas"])
    answer = spec["paths"][path][method.lower()]["responses"][str(status)]
    schema = answer["content"]["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource(
        "", Resource.from_contents(spec, default_specification=DRAFT4)
    )
    validator = OAS30Validator({**schema, "components": spec["components"]}, registry=registry)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(body)]
    assert not errors, f"{method} {path} {status}:\n" + "\n".join(errors[:10])


# --- the scene ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    cloud: str  # Cloud's /rest/api/3 root
    dc: str  # Data Center's /rest/api/2 root
    http: requests.Session


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with running_sandbox("cloud") as cloud, running_sandbox("datacenter") as dc:
        yield Site(_root(cloud, "3"), _root(dc, "2"), session())


def _root(server: SandboxServer, version: str) -> str:
    return f"{server.url}/rest/api/{version}"


@dataclass(frozen=True)
class Case:
    """One call: which documented operation it answers, with which status, and known gaps."""

    method: str
    path: str  # the spec's /rest/api/3 path
    status: int
    call: Callable[[Site], requests.Response]
    gaps: tuple[Gap, ...] = ()


def _transition_id(site: Site, api: str, key: str) -> str:
    listed = site.http.get(f"{api}/issue/{key}/transitions").json()["transitions"]
    return str(listed[0]["id"])


ISSUE = "/rest/api/3/issue/{issueIdOrKey}"
SEARCH_JQL = "/rest/api/3/search/jql"
CHANGELOG_Q = {"expand": "changelog"}
EVERY_FIELD = {"fields": "*all", "expand": "changelog"}
NEW_ISSUE = {"fields": {"project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "c"}}
HIERARCHY = "key in (PORT-1, PAY-1, PAY-2, PAY-3, PAY-4, PAY-5) ORDER BY key"

CASES: dict[str, Case] = {
    "cloud serverInfo": Case("GET", "/rest/api/3/serverInfo", 200,
                             lambda s: s.http.get(f"{s.cloud}/serverInfo")),
    "dc serverInfo": Case("GET", "/rest/api/3/serverInfo", 200,
                          lambda s: s.http.get(f"{s.dc}/serverInfo")),
    "cloud myself": Case("GET", "/rest/api/3/myself", 200,
                         lambda s: s.http.get(f"{s.cloud}/myself")),
    "dc myself": Case("GET", "/rest/api/3/myself", 200, lambda s: s.http.get(f"{s.dc}/myself")),
    "cloud field": Case("GET", "/rest/api/3/field", 200, lambda s: s.http.get(f"{s.cloud}/field")),
    "dc field": Case("GET", "/rest/api/3/field", 200, lambda s: s.http.get(f"{s.dc}/field")),
    "cloud status": Case("GET", "/rest/api/3/status", 200,
                         lambda s: s.http.get(f"{s.cloud}/status")),
    "dc status": Case("GET", "/rest/api/3/status", 200, lambda s: s.http.get(f"{s.dc}/status")),
    "cloud link types": Case("GET", "/rest/api/3/issueLinkType", 200,
                             lambda s: s.http.get(f"{s.cloud}/issueLinkType")),
    "dc link types": Case("GET", "/rest/api/3/issueLinkType", 200,
                          lambda s: s.http.get(f"{s.dc}/issueLinkType")),
    "cloud issuetype": Case("GET", "/rest/api/3/issuetype", 200,
                            lambda s: s.http.get(f"{s.cloud}/issuetype")),
    "dc issuetype": Case("GET", "/rest/api/3/issuetype", 200,
                         lambda s: s.http.get(f"{s.dc}/issuetype")),
    "search/jql ids only": Case("GET", SEARCH_JQL, 200, lambda s: s.http.get(
        f"{s.cloud}/search/jql", params={"jql": "project = PAY", "maxResults": "3"})),
    "search/jql every field": Case("GET", SEARCH_JQL, 200, lambda s: s.http.get(
        f"{s.cloud}/search/jql", params={"jql": HIERARCHY, **EVERY_FIELD}), (NULL_VALUES,)),
    "search/jql POST": Case("POST", SEARCH_JQL, 200, lambda s: s.http.post(
        f"{s.cloud}/search/jql", json={"jql": HIERARCHY, "fields": ["*navigable"],
                                       "maxResults": 2})),
    "search/jql unbounded": Case("GET", SEARCH_JQL, 400, lambda s: s.http.get(
        f"{s.cloud}/search/jql", params={"jql": "ORDER BY key"})),
    "approximate-count": Case("POST", "/rest/api/3/search/approximate-count", 200,
                              lambda s: s.http.post(f"{s.cloud}/search/approximate-count",
                                                    json={"jql": "project = PAY"})),
    "dc search": Case("GET", "/rest/api/3/search", 200, lambda s: s.http.get(
        f"{s.dc}/search", params={"jql": HIERARCHY, **CHANGELOG_Q}), (NULL_VALUES,)),
    "dc search POST": Case("POST", "/rest/api/3/search", 200, lambda s: s.http.post(
        f"{s.dc}/search", json={"jql": "project = PAY", "maxResults": 0})),
    "dc search bad jql": Case("GET", "/rest/api/3/search", 400, lambda s: s.http.get(
        f"{s.dc}/search", params={"jql": "project = NOPE"})),
    "cloud issue": Case("GET", ISSUE, 200, lambda s: s.http.get(
        f"{s.cloud}/issue/PAY-1", params=CHANGELOG_Q), (NULL_VALUES,)),
    "dc issue": Case("GET", ISSUE, 200, lambda s: s.http.get(
        f"{s.dc}/issue/PAY-1", params=CHANGELOG_Q), (NULL_VALUES,)),
    "issue missing": Case("GET", ISSUE, 404, lambda s: s.http.get(f"{s.cloud}/issue/NOPE-1")),
    "cloud edit": Case("PUT", ISSUE, 204, lambda s: s.http.put(
        f"{s.cloud}/issue/PAY-7", json={"fields": {"labels": ["c"]}})),
    "dc edit": Case("PUT", ISSUE, 204, lambda s: s.http.put(
        f"{s.dc}/issue/PAY-7", json={"fields": {"customfield_10100": "PAY-1"}})),
    "edit unknown field": Case("PUT", ISSUE, 400, lambda s: s.http.put(
        f"{s.cloud}/issue/PAY-7", json={"fields": {"universe": 1}})),
    # Filler stories nothing else here reads: the site is shared by every case.
    "cloud delete": Case("DELETE", ISSUE, 204, lambda s: s.http.delete(f"{s.cloud}/issue/PAY-200")),
    "dc delete": Case("DELETE", ISSUE, 204, lambda s: s.http.delete(f"{s.dc}/issue/PAY-201")),
    "delete with subtasks": Case("DELETE", ISSUE, 400,
                                 lambda s: s.http.delete(f"{s.cloud}/issue/PAY-2")),
    "delete missing": Case("DELETE", ISSUE, 404,
                           lambda s: s.http.delete(f"{s.cloud}/issue/NOPE-1")),
    "cloud create": Case("POST", "/rest/api/3/issue", 201,
                         lambda s: s.http.post(f"{s.cloud}/issue", json=NEW_ISSUE)),
    "dc create": Case("POST", "/rest/api/3/issue", 201,
                      lambda s: s.http.post(f"{s.dc}/issue", json=NEW_ISSUE)),
    "create invalid": Case("POST", "/rest/api/3/issue", 400,
                           lambda s: s.http.post(f"{s.cloud}/issue", json={"fields": {}})),
    "issue changelog": Case("GET", f"{ISSUE}/changelog", 200, lambda s: s.http.get(
        f"{s.cloud}/issue/PAY-1/changelog"), (NULL_VALUES,)),
    "issue changelog page": Case("GET", f"{ISSUE}/changelog", 200, lambda s: s.http.get(
        f"{s.cloud}/issue/{LONG_KEY}/changelog", params={"startAt": 100, "maxResults": 50})),
    "issue changelog missing": Case("GET", f"{ISSUE}/changelog", 404,
                                    lambda s: s.http.get(f"{s.cloud}/issue/NOPE-1/changelog")),
    "bulkfetch": Case("POST", "/rest/api/3/changelog/bulkfetch", 200, lambda s: s.http.post(
        f"{s.cloud}/changelog/bulkfetch",
        json={"issueIdsOrKeys": ["PAY-1", LONG_KEY], "maxResults": 50},
    ), (NULL_VALUES, EPOCH_CREATED)),
    "bulkfetch too many": Case("POST", "/rest/api/3/changelog/bulkfetch", 400,
                               lambda s: s.http.post(f"{s.cloud}/changelog/bulkfetch",
                                                     json={"issueIdsOrKeys": ["x"] * 1001})),
    "jql/parse": Case("POST", "/rest/api/3/jql/parse", 200, lambda s: s.http.post(
        f"{s.cloud}/jql/parse", params={"validation": "strict"}, json={"queries": [
            'project = PAY AND (status in (Done, "In Progress") OR NOT labels is EMPTY) '
            "AND updated >= startOfDay(-7d) ORDER BY key DESC, created",
            "project = NOPE", "invalid query",
        ]}), (CLAUSES,)),
    "jql/parse warn": Case("POST", "/rest/api/3/jql/parse", 200, lambda s: s.http.post(
        f"{s.cloud}/jql/parse", params={"validation": "warn"},
        json={"queries": ["project = NOPE"]}), (CLAUSES,)),
    "jql/parse no queries": Case("POST", "/rest/api/3/jql/parse", 400,
                                 lambda s: s.http.post(f"{s.cloud}/jql/parse", json={})),
    "cloud transitions": Case("GET", f"{ISSUE}/transitions", 200,
                              lambda s: s.http.get(f"{s.cloud}/issue/PAY-8/transitions")),
    "dc transitions": Case("GET", f"{ISSUE}/transitions", 200,
                           lambda s: s.http.get(f"{s.dc}/issue/PAY-8/transitions")),
    "cloud transition": Case("POST", f"{ISSUE}/transitions", 204, lambda s: s.http.post(
        f"{s.cloud}/issue/PAY-8/transitions",
        json={"transition": {"id": _transition_id(s, s.cloud, "PAY-8")}})),
    "transition unknown": Case("POST", f"{ISSUE}/transitions", 400, lambda s: s.http.post(
        f"{s.cloud}/issue/PAY-8/transitions", json={"transition": {"id": "1"}})),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_response_matches_the_official_schema(site: Site, name: str) -> None:
    """The sandbox's answer has the documented status and validates against its schema."""
    case = CASES[name]
    answer = case.call(site)
    assert answer.status_code == case.status, answer.text
    body = answer.json() if answer.content else None
    validate_with_gaps(case.method, case.path, case.status, body, case.gaps)


@pytest.mark.parametrize("gap", GAPS, ids=[gap.name for gap in GAPS])
def test_official_schema_rejects_what_real_jira_sends(site: Site, gap: Gap) -> None:
    """Each listed gap is real: the unpatched schema rejects the Jira-faithful answer."""
    name = next(n for n, case in CASES.items() if gap in case.gaps)
    case = CASES[name]
    answer = case.call(site)
    with pytest.raises(AssertionError, match=gap.rejected_at):
        validate_response(SPEC, case.method, case.path, case.status, answer.json())


EXAMPLES = {
    NULL_VALUES.name: ("GET", f"{ISSUE}/changelog"),
    EPOCH_CREATED.name: ("POST", "/rest/api/3/changelog/bulkfetch"),
    CLAUSES.name: ("POST", "/rest/api/3/jql/parse"),
}


@pytest.mark.parametrize("gap", GAPS, ids=[gap.name for gap in GAPS])
def test_official_examples_share_each_gap(gap: Gap) -> None:
    """The document's own example breaks its schema at the gap and passes once it is patched."""
    method, path = EXAMPLES[gap.name]
    answer = load_spec(SPEC)["paths"][path][method.lower()]["responses"]["200"]
    example = json.loads(answer["content"]["application/json"]["example"])
    with pytest.raises(AssertionError, match=gap.rejected_at.split("/")[-1]):
        validate_response(SPEC, method, path, 200, example)
    validate_with_gaps(method, path, 200, example, (gap,))
