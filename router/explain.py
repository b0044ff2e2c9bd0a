"""`embedroute route`: show the hardware, every candidate with its estimate, and the choice.

    embedroute route --models ./models
    embedroute route --models ./models --hardware-profile router/profiles/a10-24gb.yaml --json
    embedroute route --record my-machine.yaml

The same plans reach the server; this only renders them for a person (or, with
--json, for a machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, cast

import yaml

from router.catalog import Catalog, build_catalog
from router.hardware import Hardware, format_bytes, load_profile, save_profile
from router.plan import Budget, ModelPlan, Pin, RouterPrefs, merge_consistent
from router.policy import make_budget, plan
from router.probe import probe_hardware
from router.types import GgufDescription, PoolingChoice


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="embedroute route",
        description="Show which GGUF file the router picks for each model on this (or a described) machine, and why.",
    )
    p.add_argument(
        "--models", action="append", type=Path, metavar="DIR", help="models folder (repeatable; default ./models)"
    )
    p.add_argument("--json", action="store_true", help="print the plans as JSON")
    p.add_argument(
        "--hardware-profile", type=Path, metavar="FILE", help="plan for the machine this YAML/JSON profile describes"
    )
    p.add_argument(
        "--record", type=Path, metavar="FILE", help="write the hardware as a profile (JSON if FILE ends in .json)"
    )
    p.add_argument(
        "--ctx", type=int, default=0, metavar="N", help="tokens per sequence (0 = the file's trained context where memory allows)"
    )
    p.add_argument(
        "--pin", action="append", default=[], metavar="MODEL=QUANT[@DEVICE]", help="force a quant and/or device"
    )
    p.add_argument(
        "--consistent", action="append", default=[], metavar="MODEL=QUANT",
        help="serve exactly this quant (one vector space across a fleet), or nothing",
    )
    p.add_argument(
        "--pooling", action="append", default=[], metavar="MODEL=last|mean|cls", help="override a model's pooling"
    )
    p.add_argument(
        "--headroom", type=float, default=RouterPrefs.headroom_fraction, metavar="FRACTION", help="memory kept free"
    )
    p.add_argument(
        "--threads", type=int, default=0, metavar="N", help="at most N threads per model (0 = the CPU quota)"
    )
    return p


def _pairs(flag: str, items: Sequence[str], shape: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        model, sep, choice = item.partition("=")
        if not sep or not model.strip():
            raise ValueError(f"{flag} {item!r}: expected MODEL={shape}")
        pairs[model.strip()] = choice.strip()
    return pairs


def _pins(items: Sequence[str], consistent: Sequence[str] = ()) -> dict[str, Pin]:
    pins = {model: Pin.parse(choice) for model, choice in _pairs("--pin", items, "QUANT[@DEVICE]").items()}
    return merge_consistent(pins, _pairs("--consistent", consistent, "QUANT"))


def _poolings(items: Sequence[str]) -> dict[str, PoolingChoice]:
    pooling: dict[str, PoolingChoice] = {}
    for model, choice in _pairs("--pooling", items, "last|mean|cls").items():
        if choice not in ("last", "mean", "cls"):
            raise ValueError(f"--pooling {model}={choice}: expected last, mean or cls")
        pooling[model] = cast(PoolingChoice, choice)
    return pooling


def _hardware_lines(hw: Hardware, budget: Budget) -> list[str]:
    cpu = hw.cpu
    limit = (
        "no cgroup limit"
        if hw.cgroup_memory_limit_bytes is None
        else f"cgroup limit {format_bytes(hw.cgroup_memory_limit_bytes)}"
    )
    quota = "none" if hw.cgroup_cpu_quota is None else f"{hw.cgroup_cpu_quota:g} CPUs"
    lines = [
        f"Hardware ({hw.source})",
        f"  CPU      {cpu.arch} {cpu.model_name}: {cpu.physical_cores} physical cores, {cpu.logical_cpus} logical; "
        f"features {' '.join(sorted(cpu.flags)) or 'none seen'}",
        f"  Memory   {format_bytes(hw.memory_available_bytes)} available of {format_bytes(hw.memory_total_bytes)}; "
        f"{limit}; CPU quota {quota}",
    ]
    lines += [f"  GPU      {g.summary()}" for g in hw.gpus] or ["  GPU      none"]
    lines.append(
        f"  llama.cpp GPU offload: {'yes' if hw.llama_gpu_offload else 'no (CPU-only build)' if hw.gpus else 'no'}"
    )
    lines += [f"  note     {n}" for n in hw.notes]
    lines.append(f"Budget     {budget.summary()}")
    return lines


def _outputs_note(d: GgufDescription) -> str:
    """What an embedding model serves beyond dense vectors (BGE-M3's heads), and their memory."""
    if len(d.outputs) <= 1:
        return ""
    size = f"{d.head_bytes / 1024:.1f} KiB" if d.head_bytes < 1024**2 else format_bytes(d.head_bytes)
    return f", outputs: {', '.join(d.outputs)} (heads {size})"


def _plan_lines(p: ModelPlan, prefs: RouterPrefs) -> list[str]:
    chosen = p.chosen
    tokens = p.context.tokens if p.context else prefs.context_for(chosen.description)
    lines = [
        "",
        f"{p.model_id} ({p.kind}): {tokens} tokens per sequence, pooling: {chosen.description.pooling_note}"
        + _outputs_note(chosen.description),
        f"  context: {p.context.reason if p.context else tokens}",
        f"  engine: {chosen.layout.summary()}",
        f"  {'#':>2}  {'file':40} {'quant':7} {'bits':>5}  {'device':6} {'layers':>6}  "
        f"{'GPU':>9} {'RAM':>9}  fits  note",
    ]
    for i, c in enumerate(p.candidates, 1):
        d = c.description
        layers = c.gpu_layers_text if c.device == "gpu" else "-"
        gpu = format_bytes(c.estimate.gpu_bytes) if c.estimate.gpu_bytes else "-"
        lines.append(
            f"  {i:>2}  {d.path.name:40} {d.quant:7} {d.bits_per_weight:5.2f}  {c.device:6} {layers:>6}  "
            f"{gpu:>9} {format_bytes(c.estimate.ram_bytes):>9}  {'yes' if c.fits else 'no ':4}  {c.reason}"
        )
    lines.append(f"  choice: {p.reason}")
    lines.append(f"  degraded: {'YES' if p.degraded else 'no'}")
    if p.refusal:
        lines.append(f"  NOT SERVED: {p.refusal}")
    return lines


def render_text(hw: Hardware, budget: Budget, plans: Sequence[ModelPlan], catalog: Catalog, prefs: RouterPrefs) -> str:
    lines = _hardware_lines(hw, budget)
    for p in plans:
        lines += _plan_lines(p, prefs)
    if catalog.unreadable:
        lines += ["", "Unreadable files (skipped)"]
        lines += [f"  {u.path}: {u.reason}" for u in catalog.unreadable]
    if not plans:
        lines += ["", "No usable GGUF files found."]
    return "\n".join(lines) + "\n"


def render_json(hw: Hardware, budget: Budget, plans: Sequence[ModelPlan], catalog: Catalog) -> str:
    data: dict[str, Any] = {
        "hardware": hw.to_dict(),
        "budget": budget.to_dict(),
        "models": [{k: v for k, v in p.to_dict().items() if k != "hardware"} for p in plans],
        "unreadable": [u.to_dict() for u in catalog.unreadable],
    }
    return json.dumps(data, indent=2) + "\n"


def main(argv: list[str], out: TextIO | None = None) -> int:
    stdout = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        prefs = RouterPrefs(
            n_ctx=args.ctx,
            pins=_pins(args.pin, args.consistent),
            headroom_fraction=args.headroom,
            max_threads=args.threads,
            pooling=_poolings(args.pooling),
        )
        if args.hardware_profile is not None:
            hw = load_profile(args.hardware_profile)
        else:
            hw = probe_hardware(cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
        if args.record is not None:
            save_profile(hw, args.record)
            print(f"recorded the hardware to {args.record}", file=sys.stderr)
        catalog = build_catalog(args.models or [Path("models")])
        plans = plan(catalog, hw, prefs)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # RouterConfigError is a ValueError
        print(f"embedroute route: {_one_line(exc)}", file=sys.stderr)
        return 2
    budget = make_budget(hw, prefs)
    text = render_json(hw, budget, plans, catalog) if args.json else render_text(hw, budget, plans, catalog, prefs)
    stdout.write(text)
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
