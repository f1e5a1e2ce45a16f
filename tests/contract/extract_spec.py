"""Copy the parts of an Atlassian OpenAPI document that the contract tests use.

The full documents are megabytes; the tests need a few operations and the schemas they
reference. Run from the project root, with ../shared beside it:

    python tests/contract/extract_spec.py ../shared/specs/jira-platform-v3.openapi.json \
        tests/contract/specs/jira-subset.json "get /rest/api/3/search/jql" ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def referenced_schemas(node: Any, found: set[str], schemas: dict[str, Any]) -> None:
    """Collect every ``#/components/schemas/X`` reachable from ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                referenced_schemas(schemas[name], found, schemas)
        for value in node.values():
            referenced_schemas(value, found, schemas)
    elif isinstance(node, list):
        for value in node:
            referenced_schemas(value, found, schemas)


def extract(spec: dict[str, Any], operations: list[tuple[str, str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in operations:
        operation = spec["paths"][path][method]
        paths.setdefault(path, {})[method] = {"responses": operation["responses"]}
    found: set[str] = set()
    schemas = spec.get("components", {}).get("schemas", {})
    referenced_schemas(paths, found, schemas)
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "x-subset-of": "Atlassian's official OpenAPI document"},
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(found)}},
    }


def main(argv: list[str]) -> None:
    source, target, *ops = argv
    spec = json.loads(Path(source).read_text(encoding="utf-8"))
    operations = [(op.split()[0].lower(), op.split()[1]) for op in ops]
    subset = extract(spec, operations)
    Path(target).write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{target}: {len(subset['paths'])} paths, {len(subset['components']['schemas'])} schemas")


if __name__ == "__main__":
    main(sys.argv[1:])
