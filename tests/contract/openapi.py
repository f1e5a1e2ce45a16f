"""Validate a live response against the response schema of an OpenAPI subset."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"


@cache
def load_spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPECS / name).read_text(encoding="utf-8"))
    return data


def response_schema(spec_name: str, method: str, path: str, status: int) -> dict[str, Any]:
    operation = load_spec(spec_name)["paths"][path][method.lower()]
    responses = operation["responses"]
    answer = responses.get(str(status)) or responses.get("default")
    if answer is None:
        raise AssertionError(f"{method} {path} documents no {status} response")
    content = answer.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), {})
    schema: dict[str, Any] = media.get("schema", {})
    return schema


def validate_response(spec_name: str, method: str, path: str, status: int, body: Any) -> None:
    """Raise AssertionError naming every place where ``body`` breaks the documented schema."""
    spec = load_spec(spec_name)
    schema = response_schema(spec_name, method, path, status)
    root = Resource.from_contents(spec, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource("", root)
    validator = OAS30Validator({**schema, "components": spec["components"]}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise AssertionError(_describe(method, path, status, errors))


def _describe(method: str, path: str, status: int, errors: list[ValidationError]) -> str:
    lines = [f"{method.upper()} {path} {status} breaks the official schema:"]
    for error in errors[:10]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        lines.append(f"  at {where}: {error.message[:300]}")
    return "\n".join(lines)
