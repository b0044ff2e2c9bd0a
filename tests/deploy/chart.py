"""Renders the Helm chart for the deploy tests: one `helm template` per values combination.

The tests assert on what Kubernetes would receive, so they run the real helm binary (CI installs
it with scripts/install-deploy-tools.sh) and skip only when it is absent.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifest_validation import load_documents

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "embedroute"
CI_VALUES = tuple(sorted((CHART / "ci").glob("*-values.yaml")))
# helm built with `go install` reports Kubernetes v1.20 unless told otherwise; the chart needs >= 1.27.
KUBE_VERSION = "1.30.0"
RELEASE = "er"
NAMESPACE = "embedroute-ci"

# grpc.health.v1 service names the server registers (service/server.py builds them from the proto
# descriptors; common.md fixes them). Kept literal here so a renamed proto service fails these tests.
HEALTH_SERVICES = frozenset(
    {
        "",
        "embedroute.v1.EmbedService",
        "embedroute.v1.RerankService",
        "embedroute.v1.TokenizeService",
        "embedroute.v1.ModelService",
    }
)


def find_helm() -> str | None:
    """helm on PATH, else where `go install` puts it."""
    candidates = [os.environ.get("HELM", ""), shutil.which("helm") or ""]
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidates.append(str(Path(gopath) / "bin" / "helm"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_helm() -> str:
    helm = find_helm()
    if helm is None:
        pytest.skip("helm is not installed (scripts/install-deploy-tools.sh installs it)")
    return helm


class RenderError(Exception):
    """`helm template` refused the values; the message is helm's."""


@dataclass(frozen=True)
class Rendered:
    documents: tuple[dict[str, Any], ...]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in found]}"
        document: dict[str, Any] = found[0]
        return document

    @property
    def deployment(self) -> dict[str, Any]:
        return self.one("Deployment")

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def server(self) -> dict[str, Any]:
        containers = [c for c in self.pod_spec["containers"] if c["name"] == "server"]
        assert len(containers) == 1
        container: dict[str, Any] = containers[0]
        return container

    @property
    def env(self) -> dict[str, str]:
        """The EMBEDROUTE_* variables the server container gets (envFrom its ConfigMap)."""
        refs = [e["configMapRef"]["name"] for e in self.server.get("envFrom", [])]
        assert len(refs) == 1, refs
        data: dict[str, str] = self.one("ConfigMap", refs[0])["data"]
        return data


def render(*values: Path | str, sets: dict[str, str] | None = None) -> Rendered:
    """Renders the chart with values files (paths, or names under ci/) and --set overrides."""
    files = tuple(str(v if isinstance(v, Path) else CHART / "ci" / v) for v in values)
    set_args = tuple(sorted((sets or {}).items()))
    return _render(files, set_args)


@functools.lru_cache(maxsize=None)
def _render(files: tuple[str, ...], set_args: tuple[tuple[str, str], ...]) -> Rendered:
    helm = require_helm()
    command = [helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for name in files:
        command += ["--values", name]
    for key, value in set_args:
        command += ["--set", f"{key}={value}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return Rendered(tuple(load_documents(result.stdout)))
