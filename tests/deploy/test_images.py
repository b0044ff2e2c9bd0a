"""The container files: hadolint-clean, pinned, multi-stage, non-root, health-checked, no baked models.

`make e2e` builds and runs them for real (scripts/build-image.sh, scripts/e2e-container.sh); these
offline checks keep what those runs proved, and the health-check script is run against a stand-in
grpc_health_probe that records its arguments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.chart import CHART, REPO

DOCKER = REPO / "docker"
DOCKERFILES = (DOCKER / "cpu.Dockerfile", DOCKER / "cuda.Dockerfile")
HEALTHCHECK = DOCKER / "healthcheck.sh"
PINNED = re.compile(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[a-f0-9]{64}$")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/install-deploy-tools.sh installs it)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_healthcheck_script() -> None:
    command = [tool("shellcheck"), str(HEALTHCHECK)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def global_args(path: Path) -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults: the only ones FROM can use."""
    found: dict[str, str] = {}
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            found[name] = default
    return found


def base_images(path: Path) -> list[str]:
    """Each stage's FROM image, ${ARG} references resolved to the ARG's default."""
    args = global_args(path)
    images = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            image = rest.split()[0]
            ref = re.fullmatch(r"\$\{?([A-Z_]+)\}?", image)
            images.append(args[ref.group(1)] if ref else image)
    return images


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_pinned_by_digest(dockerfile: Path) -> None:
    images = base_images(dockerfile)
    assert len(images) == 3
    for image in images:
        assert PINNED.match(image), image


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_build_arguments(dockerfile: Path) -> None:
    """No registry here: scripts/build-image.sh swaps in local Debian bases through these ARGs."""
    froms = [rest.split()[0] for keyword, rest in instructions(dockerfile) if keyword == "FROM"]
    assert all(re.fullmatch(r"\$\{[A-Z_]+\}", image) for image in froms), froms
    assert froms[0] == "${GO_IMAGE}"
    if dockerfile.name == "cpu.Dockerfile":
        # The venv copied into the runtime links to the build stage's python3: same base for both.
        assert froms[1] == froms[2] == "${PYTHON_IMAGE}"
        # Debian's own python3 (the local base) has no `python` command before the venv exists.
        venv = [rest for k, rest in instructions(dockerfile) if k == "RUN" and "-m venv" in rest]
        assert venv == ["python3 -m venv /opt/venv"]
    assert set(global_args(dockerfile)) >= {"GO_IMAGE"}


def test_build_script_passes_every_base_argument() -> None:
    script = (REPO / "scripts" / "build-image.sh").read_text()
    for name in global_args(DOCKER / "cpu.Dockerfile"):
        assert f"{name}=" in script, name
    for name in global_args(DOCKER / "cuda.Dockerfile"):
        assert f"{name}=" in script, name


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_grpc_health_probe_version_verifiable(dockerfile: Path) -> None:
    """v0.4.45 (the first pin) is unknown to sum.golang.org, so `go install` refused it in a real
    build; v0.4.57+ are the releases the module proxy lists. Same pin in both images."""
    versions = {
        m.group(1) for m in re.finditer(r"ARG GRPC_HEALTH_PROBE_VERSION=v0\.4\.(\d+)", dockerfile.read_text())
    }
    assert len(versions) == 1 and int(versions.pop()) >= 57


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_multi_stage_non_root_runtime(dockerfile: Path) -> None:
    *builders, runtime = stages(dockerfile)
    assert [s[0][1].split()[-1] for s in builders] == ["healthprobe", "build"]
    assert runtime[0][1].endswith("AS runtime")
    keywords = [k for k, _ in runtime]
    # No compiler in the runtime stage: everything built arrives through COPY --from.
    assert not any("build-essential" in rest or "pip install" in rest for k, rest in runtime if k == "RUN")
    copies = [rest for k, rest in runtime if k == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copies
    assert "--from=build /opt/ggml-backends /opt/ggml-backends" in copies
    users = [rest for k, rest in runtime if k == "USER"]
    assert users == ["10001:10001"]
    pod = yaml.safe_load((CHART / "values.yaml").read_text())["podSecurityContext"]
    assert users[0] == f"{pod['runAsUser']}:{pod['runAsGroup']}"
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert ("ENTRYPOINT", '["/usr/bin/tini", "--", "embedroute"]') in runtime and ("CMD", '["serve"]') in runtime


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_healthcheck_and_ports_match_the_chart(dockerfile: Path) -> None:
    runtime = stages(dockerfile)[-1]
    healthchecks = [rest for k, rest in runtime if k == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and healthchecks[0].endswith('CMD ["embedroute-healthcheck"]')
    assert "COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/embedroute-healthcheck" in [
        f"{k} {rest}" for k, rest in runtime
    ]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    expose = [rest for k, rest in runtime if k == "EXPOSE"]
    assert expose == [f"{values['server']['port']} {values['server']['metricsPort']} {values['server']['httpPort']}"]
    env = " ".join(rest for k, rest in runtime if k == "ENV")
    assert f"EMBEDROUTE_MODELS={values['models']['mountPath']}" in env
    assert "HOME=/tmp" in env  # the only writable path under a read-only root filesystem


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_no_remote_add_and_no_baked_models(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    assert not [rest for k, rest in steps if k == "ADD"]
    sources = [
        source.removeprefix("./")
        for k, rest in steps
        if k == "COPY" and "--from=" not in rest
        for source in [t for t in rest.split() if not t.startswith("--")][:-1]
    ]
    assert sources == ["pyproject.toml", "README.md", "service", "router", "docker/healthcheck.sh"]
    ignore = (DOCKER / f"{dockerfile.name}.dockerignore").read_text().splitlines()
    assert ignore[[i for i, line in enumerate(ignore) if not line.startswith("#")][0]] == "*"
    assert "**/*.gguf" in ignore
    for needed in ("pyproject.toml", "README.md", "service/", "router/", "docker/healthcheck.sh"):
        assert f"!{needed}" in ignore


def test_copied_sources_exist() -> None:
    for needed in ("pyproject.toml", "README.md", "service", "router", "docker/healthcheck.sh"):
        assert (REPO / needed).exists(), needed


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_llama_cpp_build(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("llama-cpp-python==")]
    assert f"ARG LLAMA_CPP_PYTHON_VERSION={pins[0].split('==')[1]}" in text
    # Every x86-64 variant as a loadable backend, found at run time in a fixed directory.
    for flag in (
        "-DGGML_BACKEND_DL=ON",
        "-DGGML_CPU_ALL_VARIANTS=ON",
        "-DGGML_NATIVE=OFF",
        "-DGGML_BACKEND_DIR=/opt/ggml-backends",
    ):
        assert flag in text
    assert ("-DGGML_CUDA=ON" in text) == (dockerfile.name == "cuda.Dockerfile")


def run_healthcheck(tmp_path: Path, env: dict[str, str], *args: str) -> list[str]:
    """Runs healthcheck.sh with a grpc_health_probe stand-in that records its arguments."""
    record = tmp_path / "args"
    fake = tmp_path / "grpc_health_probe"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    environ = {"PATH": f"{tmp_path}:/usr/bin:/bin", **env}
    subprocess.run(["sh", str(HEALTHCHECK), *args], env=environ, check=True, timeout=30)
    return record.read_text().splitlines()


def test_healthcheck_plaintext(tmp_path: Path) -> None:
    expected = ["-addr=127.0.0.1:50051", "-service=", "-connect-timeout=2s", "-rpc-timeout=3s"]
    assert run_healthcheck(tmp_path, {}) == expected
    assert run_healthcheck(tmp_path, {"EMBEDROUTE_PORT": "6000"}, "embedroute.v1.EmbedService")[:2] == [
        "-addr=127.0.0.1:6000",
        "-service=embedroute.v1.EmbedService",
    ]


def test_healthcheck_tls_and_mtls(tmp_path: Path) -> None:
    tls = {"EMBEDROUTE_TLS_CERT": "/etc/embedroute/tls/tls.crt", "EMBEDROUTE_TLS_KEY": "/etc/embedroute/tls/tls.key"}
    assert run_healthcheck(tmp_path, tls)[4:] == ["-tls", "-tls-no-verify"]
    mtls = {**tls, "EMBEDROUTE_TLS_CLIENT_CA": "/etc/embedroute/client-ca/ca.crt"}
    assert run_healthcheck(tmp_path, mtls)[4:] == [
        "-tls",
        "-tls-no-verify",
        "-tls-client-cert=/etc/embedroute/tls/tls.crt",
        "-tls-client-key=/etc/embedroute/tls/tls.key",
    ]


def test_build_script_keeps_the_healthcheck() -> None:
    """podman/buildah write OCI images by default, and the OCI format has no HEALTHCHECK: the first
    real build dropped it with only a warning. The docker format keeps it."""
    script = (REPO / "scripts" / "build-image.sh").read_text()
    build = next(line for line in script.splitlines() if "podman build" in line and not line.lstrip().startswith("#"))
    assert "--format docker" in build


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_pid_1_forwards_sigterm(dockerfile: Path) -> None:
    """The first container run stopped the server while it built its default model: as PID 1 with no
    SIGTERM handler yet, it ignored the signal and was SIGKILLed after the full grace period (exit 137).
    An init that forwards signals is PID 1, installed in the runtime stage."""
    runtime = stages(dockerfile)[-1]
    entrypoint = next(rest for k, rest in runtime if k == "ENTRYPOINT")
    assert entrypoint.startswith('["/usr/bin/tini", "--"')
    assert any(" tini" in rest for k, rest in runtime if k == "RUN" and "apt-get install" in rest)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_runtime_apt_caches_removed(dockerfile: Path) -> None:
    """Built on the debootstrap base, the runtime kept apt's pkgcache.bin and srcpkgcache.bin (75 MB):
    only Docker's own Debian images configure apt not to write them."""
    runtime = stages(dockerfile)[-1]
    for k, rest in runtime:
        if k == "RUN" and "apt-get update" in rest:
            assert "/var/lib/apt/lists/*" in rest and "/var/cache/apt/*.bin" in rest
