"""`embedroute ladder FILE.gguf`: write a model's quantisation ladder next to it and rank the rungs.

Rungs are ranked by the bits per weight their tensors really take, read from each
file's tensor table, not by the quant name: a hub file labelled BF16 may hold Q8_0
tensors, and a K-quant of a 384-wide model is mostly 32-block fallbacks. llama.cpp
refuses to requantise a tensor that is already quantised, so rungs that would need it
are reported and skipped instead of failing half-way through a long run.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf

from router.gguf_header import read_header
from router.metadata import UnreadableGgufError, describe_gguf
from service.core.space import file_sha256, record_sha256
from service.engine.quantize import QUANT_TYPES, quantize
from router.types import GgufDescription

DEFAULT_QUANTS = ("Q8_0", "Q4_K_M", "IQ3_M")
_FLOAT_TYPES = frozenset({gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16})


@dataclass(frozen=True)
class Rung:
    description: GgufDescription
    status: str


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="embedroute ladder", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, metavar="FILE.gguf", help="an F32/F16/BF16 (or mixed) GGUF to quantise")
    parser.add_argument(
        "--quants", default=",".join(DEFAULT_QUANTS), help=f"comma-separated rungs (default {','.join(DEFAULT_QUANTS)})"
    )
    parser.add_argument("--out", type=Path, default=None, help="directory to write into (default: the source's)")
    parser.add_argument("--threads", type=int, default=0, help="quantiser threads (0 = llama.cpp's choice)")
    args = parser.parse_args(argv)
    quants = [q.strip().upper() for q in str(args.quants).split(",") if q.strip()]
    unknown = [q for q in quants if q not in QUANT_TYPES]
    if unknown:
        parser.error(f"unknown quant(s) {', '.join(unknown)}; choose from {', '.join(QUANT_TYPES)}")
    try:
        source = describe_gguf(args.source)
    except (UnreadableGgufError, OSError) as exc:
        print(f"embedroute ladder: {exc}", file=sys.stderr)
        return 2
    out_dir: Path = args.out or args.source.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    rungs, skipped = build_ladder(source, quants, out_dir, int(args.threads))
    print(format_table(rungs))
    for line in skipped:
        print(line, file=sys.stderr)
    return 1 if skipped else 0


def build_ladder(
    source: GgufDescription, quants: Sequence[str], out_dir: Path, n_threads: int = 0
) -> tuple[list[Rung], list[str]]:
    """Writes the missing rungs; returns every rung (source first) and one line per skipped quant."""
    quantised = quantised_tensor_types(source.path)
    rungs = [Rung(source, "source")]
    skipped: list[str] = []
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.name).strip("-") or source.path.stem
    for index, quant in enumerate(quants, start=1):
        target = out_dir / f"{stem}-{quant}.gguf"
        if target.resolve() == source.path.resolve():
            continue
        blocking = sorted(name for name in quantised if name != quant)
        if blocking:
            skipped.append(
                f"skipped {quant}: the source's {', '.join(blocking)} tensors would be requantised, "
                "which llama.cpp refuses; start from the F32/F16/BF16 original"
            )
            continue
        progress = f"[{index}/{len(quants)}] {quant}"
        if target.exists():
            _say(f"{progress}: {target.name} exists, kept")
            status = "kept"
        else:
            _say(f"{progress}: writing {target.name}")
            try:
                quantize(source.path, target, quant, n_threads)
            except RuntimeError as exc:
                skipped.append(f"skipped {quant}: {exc}")
                continue
            record_sha256(target, file_sha256(target))  # the server then need not hash it at start-up
            status = "new"
        rungs.append(Rung(describe_gguf(target), status))
    return rungs, skipped


def quantised_tensor_types(path: Path) -> Counter[str]:
    """How many tensors of each block-quantised type the file holds (none for a float source)."""
    counts: Counter[str] = Counter()
    for tensor in read_header(path).tensors:
        kind = gguf.GGMLQuantizationType(tensor.ggml_type)
        if kind not in _FLOAT_TYPES:
            counts[kind.name] += 1
    return counts


def tensor_type_summary(path: Path) -> str:
    counts = Counter(gguf.GGMLQuantizationType(t.ggml_type).name for t in read_header(path).tensors)
    return " ".join(f"{name}:{n}" for name, n in counts.most_common())


def format_table(rungs: Sequence[Rung]) -> str:
    """Best fidelity first: the more real bits per weight, the closer to the original."""
    ranked = sorted(rungs, key=lambda r: r.description.bits_per_weight, reverse=True)
    lines = [f"{'rank':>4}  {'bpw':>6}  {'MiB':>8}  {'declared':<8} {'status':<7} {'tensor types':<40} file"]
    for rank, rung in enumerate(ranked, start=1):
        d = rung.description
        lines.append(
            f"{rank:>4}  {d.bits_per_weight:>6.2f}  {d.file_size / 2**20:>8.1f}  {d.quant:<8} {rung.status:<7} "
            f"{tensor_type_summary(d.path):<40} {d.path}"
        )
    return "\n".join(lines)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
