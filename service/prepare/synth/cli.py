"""`embedroute synth`: write synthetic Qwen3 models to smoke-test a deployment or benchmark it.

The vectors are meaningless (random weights) but exact: the same architecture,
vocabulary, prompt handling and quantisation as the published Qwen3 models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.prepare.synth.ladder import DEFAULT_QUANTS, synth_ladder
from service.prepare.synth.qwen3 import SHAPES, SynthKind

KINDS: dict[str, tuple[SynthKind, ...]] = {
    "embedding": ("embedding",),
    "embedding-bare": ("embedding-bare",),
    "reranker": ("reranker-cls",),
    "reranker-lm": ("reranker-lm",),
    "all": ("embedding", "reranker-cls", "reranker-lm"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="embedroute synth", description=__doc__)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="tiny (2 layers) or 0.6b (Qwen3-0.6B shapes)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="all")
    parser.add_argument(
        "--quants", default=",".join(DEFAULT_QUANTS), help=f"comma-separated ladder (default {','.join(DEFAULT_QUANTS)})"
    )
    parser.add_argument("--out", type=Path, default=Path("models"), help="directory to write into (default ./models)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    quants = [q.strip().upper() for q in args.quants.split(",") if q.strip()]
    for kind in KINDS[args.kind]:
        paths = synth_ladder(args.out, args.shape, kind, quants, seed=args.seed, progress=_say)
        for quant, path in paths.items():
            print(f"{quant:7s} {path}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
