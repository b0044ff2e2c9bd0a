"""Offline validation of rendered Kubernetes manifests.

`helm lint` checks the chart, not that every object it renders would be accepted by an API server.
kubernetes-validate ships the JSON schemas generated from the Kubernetes OpenAPI specs, so a
misspelt or misplaced field fails here (strict mode rejects unknown fields) instead of at
`kubectl apply`. Custom resources are not in those schemas: each CRD the chart renders is listed
in OWN_SCHEMAS and checked against a schema kept in schemas/; any other unknown kind is an error,
never silently skipped.

Run as a script (scripts/check-deploy.sh does): python manifest_validation.py FILE.yaml...
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

# Oldest version the chart supports (native gRPC probes are GA from 1.27) and the newest one the
# installed kubernetes-validate ships: a field removed or added in between shows up in one of them.
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.27.0", kubernetes_validate.utils.latest_version())

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
OWN_SCHEMAS: dict[tuple[str, str], str] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
}


def load_documents(text: str) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a multi-document stream, as a dict."""
    documents = []
    for document in yaml.safe_load_all(text):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ValueError(f"a manifest must be a mapping, got {type(document).__name__}")
        documents.append(document)
    return documents


def describe(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    return f"{document.get('kind')}/{metadata.get('name')}"


def validate_document(document: dict[str, Any], versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[str]:
    """The problems found in one manifest; empty when it is valid for every version."""
    key = (str(document.get("apiVersion")), str(document.get("kind")))
    if key in OWN_SCHEMAS:
        schema = json.loads((SCHEMA_DIR / OWN_SCHEMAS[key]).read_text())
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{describe(document)}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(document)
        ]
    problems = []
    for version in versions:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{describe(document)}: no schema ({error.message}) and none in OWN_SCHEMAS")
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{describe(document)} (Kubernetes {version}): {path}: {error.message}")
    return problems


def validate_documents(documents: Iterable[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for document in documents:
        problems.extend(validate_document(document))
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: manifest_validation.py FILE.yaml...", file=sys.stderr)
        return 2
    failed = False
    for name in argv:
        documents = load_documents(Path(name).read_text())
        if not documents:
            print(f"{name}: no manifests", file=sys.stderr)
            failed = True
            continue
        problems = validate_documents(documents)
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        kinds = ", ".join(describe(d) for d in documents)
        verdict = "INVALID" if problems else "valid"
        print(f"{name}: {verdict} for Kubernetes {' and '.join(KUBERNETES_VERSIONS)} ({kinds})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
