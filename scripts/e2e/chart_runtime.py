"""Reads `helm template` output and says how the chart runs the server container, so that the
container e2e run uses the chart's own settings rather than a copy of them.

  chart_runtime.py podman-args MANIFESTS --models DIR --config-dir DIR --port P
      podman run arguments, one per line: the chart's user, groups (fsGroup as a supplementary
      group), read-only root filesystem with only /tmp writable, dropped capabilities,
      no-new-privileges, its EMBEDROUTE_* environment, its config file, the models volume
      read-only at the chart's mountPath, its CPU/memory limits, the grpc port published on
      127.0.0.1:P. Writes the rendered config file into --config-dir.
  chart_runtime.py get MANIFESTS FIELD
      grace | startup-budget | probe-service | port | prestop | image
  chart_runtime.py synth-values VALUES OUT
      VALUES with its server.pins renamed to the synthetic stand-ins (qwen3-embedding-0.6b ->
      qwen3-embedding-tiny), the pinned quant kept: a pin naming a model that is not served stops the
      server by design, and Helm cannot delete a key that a later values file sets to null (the
      chart's schema refuses the null).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml


def load(path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def find(docs: list[dict[str, Any]], kind: str, suffix: str = "") -> dict[str, Any]:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"].endswith(suffix):
            return d
    raise SystemExit(f"no {kind} *{suffix} in the manifests")


def server(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "server")
    return pod, container


def cpu_quota(value: str) -> str:
    return str(int(value[:-1]) / 1000) if value.endswith("m") else value


def podman_args(docs: list[dict[str, Any]], models: str, config_dir: str, port: int) -> list[str]:
    pod, c = server(docs)
    psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    args: list[str] = []
    user, group = sc.get("runAsUser", psc.get("runAsUser")), sc.get("runAsGroup", psc.get("runAsGroup"))
    if user is not None:
        args.append(f"--user={user}:{group if group is not None else user}")
    if psc.get("fsGroup") is not None:
        args.append(f"--group-add={psc['fsGroup']}")
    if sc.get("readOnlyRootFilesystem"):
        # podman's --read-only adds tmpfs on /run, /var/tmp too; Kubernetes does not, so neither here.
        args += ["--read-only", "--read-only-tmpfs=false"]
    for cap in sc.get("capabilities", {}).get("drop", []):
        args.append(f"--cap-drop={cap}")
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    limits = c.get("resources", {}).get("limits", {})
    if "cpu" in limits:
        args.append(f"--cpus={cpu_quota(str(limits['cpu']))}")
    if "memory" in limits:
        args.append(f"--memory={str(limits['memory']).replace('Gi', 'g').replace('Mi', 'm')}")
    # The image's HEALTHCHECK runs on demand (podman healthcheck run): its timer needs systemd.
    args.append("--health-interval=disable")
    env: dict[str, str] = {}
    for src in c.get("envFrom", []):
        cm = find(docs, "ConfigMap", src["configMapRef"]["name"])
        env.update({k: str(v) for k, v in cm.get("data", {}).items()})
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
    args += [f"--env={k}={v}" for k, v in sorted(env.items())]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        vol = volumes[m["name"]]
        ro = ",ro" if m.get("readOnly") else ""
        if m["name"] == "models":
            args.append(f"--volume={models}:{m['mountPath']}:Z{ro}")
        elif "emptyDir" in vol:
            size = str(vol["emptyDir"].get("sizeLimit", "1Gi")).replace("Gi", "g").replace("Mi", "m")
            # mode 1777 like an emptyDir's tmpfs seen by a non-root user (fsGroup-owned in Kubernetes).
            args.append(f"--tmpfs={m['mountPath']}:rw,exec,size={size},mode=1777")
        elif "configMap" in vol:
            cm = find(docs, "ConfigMap", vol["configMap"]["name"])
            out = Path(config_dir)
            out.mkdir(parents=True, exist_ok=True)
            for key, text in cm["data"].items():
                (out / key).write_text(text)
                (out / key).chmod(0o644)
            args.append(f"--volume={out}:{m['mountPath']}:Z{ro}")
        else:
            raise SystemExit(f"volume {m['name']}: only models, emptyDir and configMap are run here")
    grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
    args.append(f"--publish=127.0.0.1:{port}:{grpc_port}")
    args.append(f"--stop-timeout={pod.get('terminationGracePeriodSeconds', 30)}")
    return args


def get(docs: list[dict[str, Any]], field: str) -> str:
    pod, c = server(docs)
    if field == "grace":
        return str(pod.get("terminationGracePeriodSeconds", 30))
    if field == "startup-budget":
        p = c["startupProbe"]
        return str(p.get("periodSeconds", 10) * p.get("failureThreshold", 3))
    if field == "probe-service":
        return str(c["readinessProbe"].get("grpc", {}).get("service", ""))
    if field == "port":
        return str(next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc"))
    if field == "prestop":
        return str(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    if field == "image":
        return str(c["image"])
    raise SystemExit(f"unknown field {field}")


def synth_values(src: str, out: str) -> None:
    values = yaml.safe_load(Path(src).read_text())
    pins = values.get("server", {}).get("pins") or {}
    values.setdefault("server", {})["pins"] = {k.replace("-0.6b", "-tiny"): v for k, v in pins.items()}
    Path(out).write_text(yaml.safe_dump(values, sort_keys=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["podman-args", "get", "synth-values"])
    ap.add_argument("manifests")
    ap.add_argument("field", nargs="?")  # get: the field; synth-values: the output file
    ap.add_argument("--models")
    ap.add_argument("--config-dir")
    ap.add_argument("--port", type=int, default=50051)
    a = ap.parse_args()
    if a.mode == "synth-values":
        synth_values(a.manifests, a.field)
        return 0
    docs = load(a.manifests)
    if a.mode == "podman-args":
        print("\n".join(podman_args(docs, a.models, a.config_dir, a.port)))
    else:
        print(get(docs, a.field))
    return 0


if __name__ == "__main__":
    sys.exit(main())
