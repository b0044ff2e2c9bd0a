"""Measure the machine: GPUs (NVML), CPU features, memory, the container's real limits.

I/O only, no decisions. Every source may be missing (no NVIDIA driver, no cgroup
files, an ARM /proc/cpuinfo without "flags", a CPU-only llama.cpp build): each gap
becomes a note on the returned Hardware instead of an exception, because a router
that crashes at start-up is worse than one that plans for a CPU it half understands.
The file roots are parameters so tests can hand in a fake /proc and /sys.
"""

from __future__ import annotations

import importlib
import logging
import math
import platform
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from types import ModuleType

import psutil

from router.hardware import CpuInfo, GpuInfo, Hardware

log = logging.getLogger(__name__)

CPU_FEATURES: dict[str, str] = {
    # x86: what ggml's CPU kernels dispatch on
    "avx": "avx",
    "avx2": "avx2",
    "fma": "fma",
    "f16c": "f16c",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "avx_vnni": "avx_vnni",
    "amx_tile": "amx",
    "amx_int8": "amx_int8",
    "amx_bf16": "amx_bf16",
    # ARM (/proc/cpuinfo "Features"): asimddp is the dot-product extension
    "asimd": "asimd",
    "asimddp": "dotprod",
    "asimdhp": "fp16",
    "i8mm": "i8mm",
    "sve": "sve",
    "sve2": "sve2",
    "bf16": "bf16",
}
"""Raw /proc/cpuinfo flag -> the name the router uses; all other flags are dropped."""

ARM_PARTS: dict[tuple[str, str], str] = {
    ("0x41", "0xd0c"): "Arm Neoverse-N1",
    ("0x41", "0xd40"): "Arm Neoverse-V1",
    ("0x41", "0xd49"): "Arm Neoverse-N2",
    ("0x41", "0xd4f"): "Arm Neoverse-V2",
    ("0x41", "0xd8e"): "Arm Neoverse-N3",
    ("0x61", "0x022"): "Apple M1",
}
"""ARM kernels print no model name; implementer/part ids name the common server cores."""

UNLIMITED_V1 = 1 << 62
"""cgroup v1 writes "no limit" as a page-rounded LONG_MAX; anything this big is no limit."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_limit_bytes: int | None
    memory_used_bytes: int
    cpu_quota: float | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def read_cpu(proc_root: Path, notes: list[str]) -> CpuInfo:
    """Architecture, model and the features from /proc/cpuinfo; cores from psutil."""
    text = _read(proc_root / "cpuinfo")
    fields: dict[str, str] = {}
    if text is None:
        notes.append(f"cpu: {proc_root / 'cpuinfo'} unreadable; no CPU features assumed")
    else:
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() not in fields:
                fields[key.strip()] = value.strip()
    raw_flags = (fields.get("flags") or fields.get("Features") or "").split()
    if "flags" in fields:
        arch = "x86_64"
    elif "Features" in fields or "CPU implementer" in fields:
        arch = "aarch64"
    else:
        arch = platform.machine() or "unknown"
    name = fields.get("model name") or ARM_PARTS.get(
        (fields.get("CPU implementer", ""), fields.get("CPU part", "")),
        f"{arch} CPU",
    )
    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False)
    if physical is None:
        notes.append("cpu: physical core count unknown; using the logical CPU count")
        physical = logical
    flags = frozenset(CPU_FEATURES[f] for f in raw_flags if f in CPU_FEATURES)
    return CpuInfo(arch=arch, model_name=name, physical_cores=physical, logical_cpus=logical, flags=flags)


def _cgroup_paths(proc_root: Path) -> tuple[str | None, dict[str, str]]:
    """(v2 path, {v1 controller: path}) of this process, from /proc/self/cgroup."""
    v2: str | None = None
    v1: dict[str, str] = {}
    for line in (_read(proc_root / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        for controller in controllers.split(","):
            if controller:
                v1[controller] = path
    return v2, v1


def _ancestors(mount: Path, cgroup_path: str) -> list[Path]:
    """The cgroup's directory and every parent up to the mount, deepest first.

    A limit set on a parent binds the child too, so the tightest one along the way
    counts. Without a cgroup namespace /proc/self/cgroup names a host path that is not
    under the container's mount; those directories simply do not exist and the walk
    ends at the mount root, which is then the container's own cgroup.
    """
    relative = PurePosixPath(cgroup_path or "/").relative_to("/")
    dirs = [mount / relative]
    dirs.extend(mount / parent for parent in relative.parents)
    return [d for d in dirs if d.is_dir()]


def _int_or_none(text: str | None) -> int | None:
    if text is None or text.strip() in ("", "max", "-1"):
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _inactive_file(stat_text: str | None, key: str) -> int:
    for line in (stat_text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _min_limit(values: list[int | None]) -> int | None:
    real = [v for v in values if v is not None and v < UNLIMITED_V1]
    return min(real) if real else None


def _v2_limits(mount: Path, path: str) -> CgroupLimits:
    dirs = _ancestors(mount, path)
    memory = _min_limit([_int_or_none(_read(d / "memory.max")) for d in dirs])
    used = 0
    if dirs:
        current = _int_or_none(_read(dirs[0] / "memory.current")) or 0
        used = max(0, current - _inactive_file(_read(dirs[0] / "memory.stat"), "inactive_file"))
    quotas: list[float] = []
    for d in dirs:
        quota, _, period = (_read(d / "cpu.max") or "max").strip().partition(" ")
        if quota != "max" and period:
            quotas.append(int(quota) / int(period))
    return CgroupLimits(memory, used, min(quotas) if quotas else None)


def _v1_limits(mount: Path, paths: dict[str, str]) -> CgroupLimits:
    memory_dirs = _ancestors(mount / "memory", paths.get("memory", "/"))
    memory = _min_limit([_int_or_none(_read(d / "memory.limit_in_bytes")) for d in memory_dirs])
    used = 0
    if memory_dirs:
        usage = _int_or_none(_read(memory_dirs[0] / "memory.usage_in_bytes")) or 0
        stat = _read(memory_dirs[0] / "memory.stat")
        used = max(0, usage - _inactive_file(stat, "total_inactive_file"))
    cpu_mount = next((mount / n for n in ("cpu", "cpu,cpuacct") if (mount / n).is_dir()), mount / "cpu")
    quotas: list[float] = []
    for d in _ancestors(cpu_mount, paths.get("cpu", "/")):
        quota = _int_or_none(_read(d / "cpu.cfs_quota_us"))
        period = _int_or_none(_read(d / "cpu.cfs_period_us"))
        if quota is not None and period:
            quotas.append(quota / period)
    return CgroupLimits(memory, used, min(quotas) if quotas else None)


def read_cgroup(proc_root: Path, cgroup_root: Path, notes: list[str]) -> CgroupLimits:
    """The container's memory and CPU limits (cgroup v2, else v1); none found = unlimited.

    On a hybrid host (v1 controllers plus an empty unified tree) the v1 files hold the
    limits, so v2 counts only where its root actually has the memory controller.
    """
    v2_path, v1_paths = _cgroup_paths(proc_root)
    controllers = _read(cgroup_root / "cgroup.controllers")
    try:
        if controllers is not None and "memory" in controllers.split():
            return _v2_limits(cgroup_root, v2_path or "/")
        if (cgroup_root / "memory").is_dir() or (cgroup_root / "cpu").is_dir():
            return _v1_limits(cgroup_root, v1_paths)
    except (OSError, ValueError) as exc:
        notes.append(f"cgroup: unreadable ({exc}); assuming no container limits")
        return CgroupLimits(None, 0, None)
    notes.append(f"cgroup: no cgroup files under {cgroup_root}; assuming no container limits")
    return CgroupLimits(None, 0, None)


def _text(value: str | bytes) -> str:
    """nvidia-ml-py returned bytes before 11.5 and str since."""
    return value.decode() if isinstance(value, bytes) else value


def _visible(uuid: str, ordinal: int | None, visible: list[str] | None) -> int | None:
    """Position of a device in CUDA_VISIBLE_DEVICES (how CUDA will number it), or None.

    A MIG slice (`ordinal` None) is selected only by its own MIG-... UUID: CUDA does
    not hand out the slices of a MIG-mode GPU by the parent's index.
    """
    if visible is None:
        return 0
    for position, entry in enumerate(visible):
        if (ordinal is not None and entry == str(ordinal)) or (entry and uuid.startswith(entry)):
            return position
    return None


def _nvml_devices(nvml: ModuleType, visible: list[str] | None, notes: list[str]) -> list[GpuInfo]:
    found: list[tuple[tuple[int, int, int], GpuInfo]] = []
    for ordinal in range(nvml.nvmlDeviceGetCount()):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(ordinal)
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            name = _text(nvml.nvmlDeviceGetName(handle))
            cc = tuple(nvml.nvmlDeviceGetCudaComputeCapability(handle))
            try:
                mig_on = nvml.nvmlDeviceGetMigMode(handle)[0] == nvml.NVML_DEVICE_MIG_ENABLE
            except nvml.NVMLError:
                mig_on = False
            slices = []
            if mig_on:
                for slot in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
                    try:
                        slices.append(nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot))
                    except nvml.NVMLError:
                        continue
            for slot, h in enumerate(slices or [handle]):
                h_uuid = _text(nvml.nvmlDeviceGetUUID(h)) if mig_on else uuid
                position = _visible(h_uuid, None if mig_on else ordinal, visible)
                if position is None:
                    continue
                memory = nvml.nvmlDeviceGetMemoryInfo(h)
                h_name = _text(nvml.nvmlDeviceGetName(h)) if mig_on else name
                gpu = GpuInfo(
                    index=0,
                    name=h_name,
                    uuid=h_uuid,
                    memory_total_bytes=int(memory.total),
                    memory_free_bytes=int(memory.free),
                    compute_capability=(int(cc[0]), int(cc[1])),
                    mig=mig_on,
                )
                found.append(((position, ordinal, slot), gpu))
        except nvml.NVMLError as exc:
            notes.append(f"gpu: device {ordinal} skipped: {exc}")
    found.sort(key=lambda item: item[0])
    return [replace(gpu, index=i) for i, (_, gpu) in enumerate(found)]


def read_gpus(
    cuda_visible_devices: str | None, notes: list[str], nvml: ModuleType | None = None
) -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs through NVML, numbered as CUDA (and so llama.cpp) will number them."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            notes.append("gpu: nvidia-ml-py not installed; no GPU assumed")
            return ()
    visible = None
    if cuda_visible_devices is not None:
        visible = [v.strip() for v in cuda_visible_devices.split(",") if v.strip() not in ("", "-1", "none")]
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        notes.append(f"gpu: NVML unavailable ({exc}); no GPU assumed")
        return ()
    try:
        return tuple(_nvml_devices(nvml, visible, notes))
    except nvml.NVMLError as exc:
        notes.append(f"gpu: NVML failed ({exc}); no GPU assumed")
        return ()
    finally:
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError:
            pass


def read_llama_gpu_offload(notes: list[str]) -> bool:
    """Whether this llama.cpp build has a GPU backend; a CPU-only wheel makes GPUs moot."""
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:
        notes.append(f"llama.cpp: not importable ({exc}); GPU offload assumed unavailable")
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def probe_hardware(
    *,
    proc_root: Path = Path("/proc"),
    sys_root: Path = Path("/sys"),
    cuda_visible_devices: str | None = None,
    use_nvml: bool = True,
    use_llama: bool = True,
) -> Hardware:
    """Measure this machine; `use_nvml`/`use_llama` False skip those sources (parser tests)."""
    notes: list[str] = []
    cpu = read_cpu(proc_root, notes)
    cgroup = read_cgroup(proc_root, sys_root / "fs" / "cgroup", notes)
    memory = psutil.virtual_memory()
    try:
        affinity: int | None = len(psutil.Process().cpu_affinity() or [])
    except (AttributeError, psutil.Error):
        affinity = None
    gpus = read_gpus(cuda_visible_devices, notes) if use_nvml else ()
    offload = read_llama_gpu_offload(notes) if use_llama else False
    if gpus and not offload:
        notes.append("gpu: this llama.cpp build is CPU-only; the GPUs will not be used")
    hardware = Hardware(
        cpu=cpu,
        memory_total_bytes=int(memory.total),
        memory_available_bytes=int(memory.available),
        cgroup_memory_limit_bytes=cgroup.memory_limit_bytes,
        cgroup_memory_used_bytes=cgroup.memory_used_bytes,
        cgroup_cpu_quota=None if cgroup.cpu_quota is None else math.floor(cgroup.cpu_quota * 100) / 100,
        cpu_affinity=affinity,
        gpus=gpus,
        llama_gpu_offload=offload,
        notes=tuple(notes),
        source="probe",
    )
    for note in notes:
        log.info("router probe: %s", note)
    return hardware
