"""The machine as the router sees it, and its file form (a hardware profile).

A `Hardware` value is what `probe_hardware` measured, or what a profile file says:
the policy never knows which, so that "what would it pick on an A10?" is answered
by the very code that decides on the real machine. The profile format is documented
in docs/hardware-profiles.md; sizes may be written as integers (bytes) or with a
unit ("24GiB", "16 GB").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GIB = 1024**3
MIB = 1024**2

ARM_ARCHES = frozenset({"aarch64", "arm64"})


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device (or one MIG slice of one), with the memory it has free now."""

    index: int
    name: str
    memory_total_bytes: int
    memory_free_bytes: int
    compute_capability: tuple[int, int]
    mig: bool = False
    """True for a MIG slice: memory is the slice's, compute capability the parent's."""
    uuid: str = ""

    @property
    def native_bf16(self) -> bool:
        """BF16 tensor cores arrived with Ampere (sm_80); older cards emulate it slowly."""
        return self.compute_capability >= (8, 0)

    def summary(self) -> str:
        cc = f"{self.compute_capability[0]}.{self.compute_capability[1]}"
        kind = "MIG slice" if self.mig else "GPU"
        return (
            f"{kind} {self.index} {self.name}: {format_bytes(self.memory_free_bytes)} free of "
            f"{format_bytes(self.memory_total_bytes)}, compute capability {cc}"
        )


@dataclass(frozen=True)
class CpuInfo:
    arch: str
    model_name: str
    physical_cores: int
    logical_cpus: int
    flags: frozenset[str]
    """Only the features the policy cares about, normalised (see probe.CPU_FEATURES)."""

    @property
    def is_arm(self) -> bool:
        return self.arch in ARM_ARCHES

    @property
    def native_bf16(self) -> bool:
        """ggml's fast CPU BF16 paths need AVX512_BF16 (x86) or the ARMv8.6 BF16 extension."""
        return "avx512_bf16" in self.flags if not self.is_arm else "bf16" in self.flags


@dataclass(frozen=True)
class Hardware:
    cpu: CpuInfo
    memory_total_bytes: int
    """The host's RAM as the kernel reports it (psutil); a container may get far less."""
    memory_available_bytes: int
    cgroup_memory_limit_bytes: int | None = None
    """The tightest memory limit of this process's cgroup and its ancestors; None = unlimited."""
    cgroup_memory_used_bytes: int = 0
    cgroup_cpu_quota: float | None = None
    """CPUs the cgroup may use (cpu.max quota / period); None = unlimited."""
    cpu_affinity: int | None = None
    """CPUs in this process's affinity mask (cpuset); None = all logical CPUs."""
    gpus: tuple[GpuInfo, ...] = ()
    llama_gpu_offload: bool = False
    """Whether the installed llama.cpp build can offload to a GPU at all."""
    notes: tuple[str, ...] = ()
    """What could not be measured and why (no NVML, no cgroup files, ...)."""
    source: str = "probe"

    @property
    def ram_bytes(self) -> int:
        """RAM this process may really use: the host's available memory, capped by the cgroup."""
        if self.cgroup_memory_limit_bytes is None:
            return self.memory_available_bytes
        in_cgroup = max(0, self.cgroup_memory_limit_bytes - self.cgroup_memory_used_bytes)
        return min(self.memory_available_bytes, in_cgroup)

    @property
    def cpu_threads(self) -> int:
        """Threads worth running: physical cores, capped by affinity and the CFS quota.

        llama.cpp gains nothing from SMT siblings, and a thread beyond the quota only
        gets throttled, so the smallest of the three wins.
        """
        limits = [self.cpu.physical_cores, self.cpu.logical_cpus]
        if self.cpu_affinity is not None:
            limits.append(self.cpu_affinity)
        if self.cgroup_cpu_quota is not None:
            limits.append(math.floor(self.cgroup_cpu_quota))
        return max(1, min(limits))

    @property
    def usable_gpus(self) -> tuple[GpuInfo, ...]:
        return self.gpus if self.llama_gpu_offload else ()

    def summary(self) -> str:
        """One line for logs, metrics labels and ModelService."""
        cpu = self.cpu
        parts = [
            f"{cpu.arch} {cpu.model_name} ({cpu.physical_cores} cores, {self.cpu_threads} threads usable)",
            f"RAM {format_bytes(self.ram_bytes)} usable",
        ]
        if self.cgroup_memory_limit_bytes is not None:
            parts.append(f"cgroup limit {format_bytes(self.cgroup_memory_limit_bytes)}")
        if self.gpus:
            gpu_text = "; ".join(g.summary() for g in self.gpus)
            parts.append(gpu_text if self.llama_gpu_offload else f"{gpu_text} (unused: CPU-only llama.cpp build)")
        else:
            parts.append("no GPU")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The profile form; `hardware_from_dict(hw.to_dict()) == hw`."""
        return {
            "source": self.source,
            "cpu": {
                "arch": self.cpu.arch,
                "model": self.cpu.model_name,
                "physical_cores": self.cpu.physical_cores,
                "logical_cpus": self.cpu.logical_cpus,
                "flags": sorted(self.cpu.flags),
            },
            "memory": {
                "total_bytes": self.memory_total_bytes,
                "available_bytes": self.memory_available_bytes,
            },
            "cgroup": {
                "memory_limit_bytes": self.cgroup_memory_limit_bytes,
                "memory_used_bytes": self.cgroup_memory_used_bytes,
                "cpu_quota": self.cgroup_cpu_quota,
            },
            "cpu_affinity": self.cpu_affinity,
            "gpus": [
                {
                    "index": g.index,
                    "name": g.name,
                    "uuid": g.uuid,
                    "memory_total_bytes": g.memory_total_bytes,
                    "memory_free_bytes": g.memory_free_bytes,
                    "compute_capability": f"{g.compute_capability[0]}.{g.compute_capability[1]}",
                    "mig": g.mig,
                }
                for g in self.gpus
            ],
            "llama_gpu_offload": self.llama_gpu_offload,
            "notes": list(self.notes),
            "derived": {
                "ram_bytes": self.ram_bytes,
                "cpu_threads": self.cpu_threads,
                "summary": self.summary(),
            },
        }


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?)(B?)\s*$", re.IGNORECASE)
_POWER = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}


def parse_size(value: object, what: str) -> int:
    """Bytes from an int or a string with a unit.

    "24GiB" and "24G" are binary (what nvidia-smi and free mean), "24GB" is decimal
    (what a datasheet means): both spellings occur in hand-written profiles.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value)
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{what}: expected a size such as 24GiB or 25769803776, got {value!r}")
    number, prefix, binary, byte = match.groups()
    decimal = bool(prefix) and not binary and bool(byte)
    base = 1000 if decimal else 1024
    return int(float(number) * base ** _POWER[prefix.upper()])


def format_bytes(n: int) -> str:
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / MIB:.0f} MiB"


def _optional_size(section: dict[str, Any], key: str, what: str) -> int | None:
    value = section.get(key)
    return None if value is None else parse_size(value, what)


def _compute_capability(value: object, what: str) -> tuple[int, int]:
    text = str(value)
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
    if not match:
        raise ValueError(f'{what}: expected a compute capability such as "8.6", got {value!r}')
    return int(match.group(1)), int(match.group(2))


def _gpu_from_dict(raw: dict[str, Any], position: int) -> GpuInfo:
    what = f"gpus[{position}]"
    total = parse_size(raw["memory_total_bytes"], f"{what}.memory_total_bytes")
    free = _optional_size(raw, "memory_free_bytes", f"{what}.memory_free_bytes")
    return GpuInfo(
        index=int(raw.get("index", position)),
        name=str(raw.get("name", "unknown GPU")),
        uuid=str(raw.get("uuid", "")),
        memory_total_bytes=total,
        memory_free_bytes=total if free is None else free,
        compute_capability=_compute_capability(raw["compute_capability"], f"{what}.compute_capability"),
        mig=bool(raw.get("mig", False)),
    )


def hardware_from_dict(raw: dict[str, Any], source: str = "profile") -> Hardware:
    """Build a Hardware from a profile; missing optional sections mean "not limited"/"none"."""
    cpu_raw = raw["cpu"]
    memory = raw["memory"]
    cgroup = raw.get("cgroup") or {}
    total = parse_size(memory["total_bytes"], "memory.total_bytes")
    available = _optional_size(memory, "available_bytes", "memory.available_bytes")
    quota = cgroup.get("cpu_quota")
    affinity = raw.get("cpu_affinity")
    physical = int(cpu_raw["physical_cores"])
    cpu = CpuInfo(
        arch=str(cpu_raw.get("arch", "x86_64")),
        model_name=str(cpu_raw.get("model", "unknown CPU")),
        physical_cores=physical,
        logical_cpus=int(cpu_raw.get("logical_cpus", physical)),
        flags=frozenset(str(f).lower() for f in cpu_raw.get("flags", [])),
    )
    return Hardware(
        cpu=cpu,
        memory_total_bytes=total,
        memory_available_bytes=total if available is None else available,
        cgroup_memory_limit_bytes=_optional_size(cgroup, "memory_limit_bytes", "cgroup.memory_limit_bytes"),
        cgroup_memory_used_bytes=_optional_size(cgroup, "memory_used_bytes", "cgroup.memory_used_bytes") or 0,
        cgroup_cpu_quota=None if quota is None else float(quota),
        cpu_affinity=None if affinity is None else int(affinity),
        gpus=tuple(_gpu_from_dict(g, i) for i, g in enumerate(raw.get("gpus") or [])),
        llama_gpu_offload=bool(raw.get("llama_gpu_offload", bool(raw.get("gpus")))),
        notes=tuple(str(n) for n in raw.get("notes") or []),
        source=source,
    )


def load_profile(path: Path) -> Hardware:
    """Read a YAML (or JSON, which YAML accepts) hardware profile."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a hardware profile is a mapping with cpu, memory, gpus, ...")
    try:
        return hardware_from_dict(raw, source=f"profile {path.name}")
    except KeyError as exc:
        raise ValueError(f"{path}: missing key {exc.args[0]!r}") from exc


def save_profile(hardware: Hardware, path: Path) -> None:
    """Write a profile that `load_profile` replays exactly (JSON if the name ends in .json)."""
    data = hardware.to_dict()
    data.pop("derived")
    data.pop("source")
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return
    header = (
        "# embedroute hardware profile (docs/hardware-profiles.md); replay: embedroute route --hardware-profile FILE\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


__all__ = [
    "CpuInfo",
    "GpuInfo",
    "Hardware",
    "format_bytes",
    "hardware_from_dict",
    "load_profile",
    "parse_size",
    "save_profile",
]
