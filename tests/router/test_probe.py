"""The probe: the real machine (no GPU here), and fake /proc + /sys trees for cgroups and ARM."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import psutil
import pynvml
import pytest

from router.hardware import hardware_from_dict, load_profile, save_profile
from router.probe import probe_hardware, read_gpus

X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse2 avx f16c avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_tile amx_int8

processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse2 avx f16c avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_tile amx_int8
"""

ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc \
dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm \
svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd40
CPU revision\t: 1
"""


def fake_root(tmp_path: Path, cpuinfo: str, cgroup_line: str, files: dict[str, str]) -> tuple[Path, Path]:
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    (proc / "self").mkdir(parents=True)
    (proc / "cpuinfo").write_text(cpuinfo)
    (proc / "self" / "cgroup").write_text(cgroup_line)
    for rel, text in files.items():
        path = sys_root / "fs" / "cgroup" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return proc, sys_root


def test_real_probe_is_a_clean_cpu_only_description() -> None:
    hw = probe_hardware()
    assert hw.gpus == ()
    assert hw.llama_gpu_offload is False
    assert any("NVML" in n for n in hw.notes)
    assert hw.cpu.physical_cores == psutil.cpu_count(logical=False)
    assert hw.memory_total_bytes == psutil.virtual_memory().total
    assert 0 < hw.ram_bytes <= hw.memory_total_bytes
    assert 1 <= hw.cpu_threads <= hw.cpu.logical_cpus
    flags = set(Path("/proc/cpuinfo").read_text().split())
    for raw in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16"):
        assert (raw in hw.cpu.flags) == (raw in flags)
    assert hw.cpu.native_bf16 == ("avx512_bf16" in flags)


def test_cgroup_v2_limits_are_the_tightest_along_the_path(tmp_path: Path) -> None:
    proc, sys_root = fake_root(
        tmp_path,
        X86_CPUINFO,
        "0::/kubepods/pod1/ctr\n",
        {
            "cgroup.controllers": "cpuset cpu io memory pids\n",
            "kubepods/memory.max": "8589934592\n",
            "kubepods/pod1/memory.max": "4294967296\n",
            "kubepods/pod1/ctr/memory.max": "max\n",
            "kubepods/pod1/ctr/memory.current": "1073741824\n",
            "kubepods/pod1/ctr/memory.stat": "anon 536870912\ninactive_file 268435456\n",
            "kubepods/pod1/ctr/cpu.max": "250000 100000\n",
            "kubepods/cpu.max": "max 100000\n",
        },
    )
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cgroup_memory_limit_bytes == 4 * 1024**3
    assert hw.cgroup_memory_used_bytes == 1024**3 - 256 * 1024**2
    assert hw.cgroup_cpu_quota == 2.5
    assert hw.ram_bytes == min(hw.memory_available_bytes, 4 * 1024**3 - (1024**3 - 256 * 1024**2))
    assert hw.cpu_threads == min(2, hw.cpu.physical_cores)
    assert hw.cpu.model_name == "AMD EPYC 9R14 96-Core Processor"
    assert hw.cpu.flags >= {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx"}
    assert "fpu" not in hw.cpu.flags


def test_cgroup_v2_in_a_namespace_reads_the_mount_root(tmp_path: Path) -> None:
    proc, sys_root = fake_root(
        tmp_path,
        X86_CPUINFO,
        "0::/\n",
        {"cgroup.controllers": "cpu memory\n", "memory.max": "2147483648\n", "cpu.max": "100000 100000\n"},
    )
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cgroup_memory_limit_bytes == 2 * 1024**3
    assert hw.cgroup_cpu_quota == 1.0
    assert hw.cpu_threads == 1


def test_cgroup_v1_limits_and_unlimited_markers(tmp_path: Path) -> None:
    proc, sys_root = fake_root(
        tmp_path,
        X86_CPUINFO,
        "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/\n",
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "memory/docker/abc/memory.limit_in_bytes": "3221225472\n",
            "memory/docker/abc/memory.usage_in_bytes": "536870912\n",
            "memory/docker/abc/memory.stat": "total_inactive_file 134217728\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
            "unified/cgroup.controllers": "\n",
        },
    )
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cgroup_memory_limit_bytes == 3 * 1024**3
    assert hw.cgroup_memory_used_bytes == 512 * 1024**2 - 128 * 1024**2
    assert hw.cgroup_cpu_quota == 3.0


def test_cgroup_v1_without_limits(tmp_path: Path) -> None:
    proc, sys_root = fake_root(
        tmp_path,
        X86_CPUINFO,
        "4:memory:/\n1:cpu:/\n",
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "cpu/cpu.cfs_quota_us": "-1\n",
            "cpu/cpu.cfs_period_us": "100000\n",
        },
    )
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cgroup_memory_limit_bytes is None
    assert hw.cgroup_cpu_quota is None


def test_arm_features_and_model(tmp_path: Path) -> None:
    proc, sys_root = fake_root(tmp_path, ARM_CPUINFO, "0::/\n", {})
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cpu.arch == "aarch64"
    assert hw.cpu.is_arm
    assert hw.cpu.model_name == "Arm Neoverse-V1"
    assert hw.cpu.flags == {"asimd", "dotprod", "fp16", "i8mm", "sve", "bf16"}
    assert hw.cpu.native_bf16
    assert any("no cgroup files" in n for n in hw.notes)


def test_missing_files_degrade_to_notes(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    hw = probe_hardware(proc_root=empty, sys_root=empty, use_nvml=False, use_llama=False)
    assert hw.cpu.flags == frozenset()
    assert hw.cgroup_memory_limit_bytes is None
    assert any("cpuinfo" in n and "unreadable" in n for n in hw.notes)
    assert hw.cpu_threads >= 1


def test_unreadable_cgroup_value_is_ignored(tmp_path: Path) -> None:
    proc, sys_root = fake_root(
        tmp_path, X86_CPUINFO, "0::/\n", {"cgroup.controllers": "memory\n", "memory.max": "garbage\n"}
    )
    hw = probe_hardware(proc_root=proc, sys_root=sys_root, use_nvml=False, use_llama=False)
    assert hw.cgroup_memory_limit_bytes is None


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_record_and_replay_round_trip(tmp_path: Path, suffix: str) -> None:
    hw = probe_hardware()
    path = tmp_path / f"me{suffix}"
    save_profile(hw, path)
    replayed = load_profile(path)
    assert replayed.to_dict()["derived"] == hw.to_dict()["derived"]
    assert replayed.cpu == hw.cpu
    assert replayed.notes == hw.notes
    assert replayed.source == f"profile {path.name}"


def test_profile_sizes_accept_units() -> None:
    hw = hardware_from_dict(
        {
            "cpu": {"physical_cores": 4, "flags": ["AVX2"]},
            "memory": {"total_bytes": "16GiB", "available_bytes": "12 GB"},
            "gpus": [{"name": "x", "memory_total_bytes": "24G", "compute_capability": "8.6"}],
        }
    )
    assert hw.memory_total_bytes == 16 * 1024**3
    assert hw.memory_available_bytes == 12 * 1000**3
    assert hw.gpus[0].memory_total_bytes == hw.gpus[0].memory_free_bytes == 24 * 1024**3
    assert hw.gpus[0].compute_capability == (8, 6)
    assert hw.llama_gpu_offload is True
    assert hw.cpu.flags == {"avx2"}


def test_profile_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cpu: {physical_cores: 2}\nmemory: {total_bytes: lots}\n")
    with pytest.raises(ValueError, match="memory.total_bytes"):
        load_profile(path)
    path.write_text("cpu: {physical_cores: 2}\n")
    with pytest.raises(ValueError, match="missing key 'memory'"):
        load_profile(path)


class FakeNvml:
    """NVML's Python surface as read_gpus uses it: one plain card and one in MIG mode.

    There is no GPU on the test machine; scripts/gpu-check.sh runs the real thing."""

    NVMLError = pynvml.NVMLError
    NVML_DEVICE_MIG_ENABLE = pynvml.NVML_DEVICE_MIG_ENABLE

    def __init__(self) -> None:
        self.shut_down = False

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, i: int) -> str:
        return f"dev{i}"

    def nvmlDeviceGetUUID(self, h: str) -> str:
        return {"dev0": "GPU-aaaa", "dev1": "GPU-bbbb", "mig0": "MIG-cccc", "mig1": "MIG-dddd"}[h]

    def nvmlDeviceGetName(self, h: str) -> bytes:
        return {"dev0": b"NVIDIA A10", "dev1": b"NVIDIA A100-SXM4-80GB"}.get(h, b"NVIDIA A100-SXM4-80GB MIG 1g.10gb")

    def nvmlDeviceGetCudaComputeCapability(self, h: str) -> tuple[int, int]:
        return (8, 6) if h == "dev0" else (8, 0)

    def nvmlDeviceGetMigMode(self, h: str) -> tuple[int, int]:
        if h == "dev0":
            raise pynvml.NVMLError_NotSupported()
        return (1, 1)

    def nvmlDeviceGetMaxMigDeviceCount(self, h: str) -> int:
        return 3

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: str, i: int) -> str:
        if i == 2:
            raise pynvml.NVMLError_NotFound()
        return f"mig{i}"

    def nvmlDeviceGetMemoryInfo(self, h: str) -> SimpleNamespace:
        total = {"dev0": 24 * 1024**3}.get(h, 10 * 1024**3)
        return SimpleNamespace(total=total, free=total - 1024**3, used=1024**3)


def test_nvml_devices_and_mig_slices() -> None:
    notes: list[str] = []
    nvml = FakeNvml()
    gpus = read_gpus(None, notes, nvml=nvml)  # type: ignore[arg-type]
    assert [(g.index, g.name, g.mig, g.compute_capability) for g in gpus] == [
        (0, "NVIDIA A10", False, (8, 6)),
        (1, "NVIDIA A100-SXM4-80GB MIG 1g.10gb", True, (8, 0)),
        (2, "NVIDIA A100-SXM4-80GB MIG 1g.10gb", True, (8, 0)),
    ]
    assert gpus[0].memory_free_bytes == 23 * 1024**3
    assert nvml.shut_down and notes == []


@pytest.mark.parametrize(
    ("visible", "uuids"),
    [("1", []), ("MIG-dddd,0", ["MIG-dddd", "GPU-aaaa"]), ("", []), ("GPU-aaaa", ["GPU-aaaa"])],
)
def test_cuda_visible_devices_filters_and_renumbers(visible: str, uuids: list[str]) -> None:
    gpus = read_gpus(visible, [], nvml=FakeNvml())  # type: ignore[arg-type]
    assert [g.uuid for g in gpus] == uuids
    assert [g.index for g in gpus] == list(range(len(uuids)))
