"""docs/metrics-json.md tells the truth about `metrics --json`: every scope's metrics are listed
for its kind of scope, and every field of every metric object has a row in the metric's
section. A field or metric added without its documentation fails here."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from restrat_sync.config import Config
from restrat_sync.metrics.compute import compute_current, compute_periods, prepare
from restrat_sync.metrics.report import JSON_SCHEMA, metrics_json
from restrat_sync.model.periods import parse_period
from tests.metrics.test_history_attribution import NOW, config
from tests.metrics.test_initiatives import initiatives_portfolio

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics-json.md").read_text("utf-8")
TICKED = re.compile(r"`([^`]+)`")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The JSON of November on the hand-worked portfolio of ``test_initiatives``, with a key
    result: every kind of scope (overall, themes, unaligned, initiatives) and every metric."""
    settings = config().model_dump()
    settings["themes"][0]["key_results"] = [{"name": "Done", "jql": "kr.jql", "target": 2}]
    cached = initiatives_portfolio()
    cached = replace(cached, members={**cached.members, "kr:GROWTH:0": {"S-1", "S-2"}})
    prepared = prepare(cached, Config.model_validate(settings))
    (november,) = compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW)
    return metrics_json(prepared, november, compute_current(prepared, NOW), NOW)


def kind_of(scope: str) -> str:
    """``theme:GROWTH`` -> ``theme:<KEY>``, as the scopes table names it."""
    prefix, found, _ = scope.partition(":")
    return f"{prefix}:<KEY>" if found else scope


def documented_scopes() -> dict[str, set[str]]:
    """The scopes table: kind of scope -> the metrics it lists."""
    section = DOC.split("## `scopes`", 1)[1].split("\n## ", 1)[0]
    found: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            found[TICKED.findall(cells[0])[0]] = set(TICKED.findall(cells[1]))
    return found


def documented_fields(metric: str) -> set[str]:
    """The names in the first column of every table in ``metric``'s section (and the names of
    its subsections, ``flow.velocity`` say)."""
    heading = re.search(rf"^## `{metric}`.*$", DOC, re.MULTILINE)
    assert heading, f"docs/metrics-json.md has no section for {metric}"
    section = DOC[heading.end() :].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("### "):
            names.update(TICKED.findall(line))
        elif line.startswith("| `"):
            names.update(TICKED.findall(line.split("|")[1]))
    return names


def test_the_schema_named_is_the_one_written(document: dict[str, Any]) -> None:
    assert document["schema"] == JSON_SCHEMA
    assert f"The document's `schema` field is `{JSON_SCHEMA}`." in DOC


def test_every_kind_of_scope_lists_the_metrics_it_holds(document: dict[str, Any]) -> None:
    listed = documented_scopes()
    kinds = {kind_of(scope) for scope in document["scopes"]}
    assert kinds == {"overall", "theme:<KEY>", "unaligned", "initiative:<KEY>"}
    for scope, metrics in document["scopes"].items():
        assert set(metrics) == listed[kind_of(scope)], scope


def test_every_field_of_every_metric_is_documented(document: dict[str, Any]) -> None:
    objects: list[tuple[str, dict[str, Any]]] = []
    for values in document["scopes"].values():
        for metric, value in values.items():
            # key_results is a list: one object per key result
            objects += [
                (metric, entry) for entry in (value if isinstance(value, list) else [value])
            ]
    assert "key_results" in {metric for metric, _ in objects}
    for metric, value in objects:
        names = documented_fields(metric)
        for field, inner in value.items():
            assert field in names or f"{metric}.{field}" in names, f"{metric}.{field}"
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                for sub in inner[0]:
                    assert f"{field}[].{sub}" in names, f"{metric}.{field}[].{sub}"
