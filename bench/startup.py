"""`python -m bench.startup FILE [--rounds N]`: start-up time with vector-space ids off and on.

Each round starts a real server (plan -> fronts -> load) on the file three ways, in turn so
that drift in the machine's load hits all three alike: ids off; ids on with no sidecar (the
file is hashed beside loading the model); ids on with the `<file>.sha256` sidecar a previous
start recorded. The file is read once first, so every run starts with it in the page cache
(as a restart finds it); the time is from planning to every model ready. Prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from service.core.config import Settings
from service.core.space import file_sha256, sidecar_path
from service.serve import EmbedrouteServer, plan

MODES = ("ids off", "ids on, hashed at start", "ids on, sidecar recorded")


async def _start(settings: Settings) -> tuple[float, str]:
    began = time.perf_counter()
    server = EmbedrouteServer(settings, plan(settings))
    await server.start()
    await server.load_models()
    took = time.perf_counter() - began
    space = next(m.vector_space_id() for m in server.registry.models())
    await server.shutdown(5.0)
    return took, space


def measure(path: Path, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as folder:
        link = Path(folder) / path.name
        link.symlink_to(path.resolve())
        base = Settings(host="127.0.0.1", port=0, models=[Path(folder)], metrics_port=0, ctx=512, log_level="WARNING")
        file_sha256(path)  # warm the page cache
        for _ in range(rounds):
            for mode in MODES:
                if mode != MODES[2]:
                    sidecar_path(link).unlink(missing_ok=True)
                settings = replace(base, vector_space_ids=mode != MODES[0])
                took, space = asyncio.run(_start(settings))
                assert bool(space) == (mode != MODES[0]), (mode, space)
                times[mode].append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = measure(args.file, args.rounds)
    size = args.file.stat().st_size / 1e9
    print(f"{args.file.name} ({size:.2f} GB), {args.rounds} rounds, median seconds from planning to ready:")
    off = statistics.median(times[MODES[0]])
    for mode in MODES:
        median = statistics.median(times[mode])
        print(f"  {mode:28s} {median:7.3f} s  ({median / off:.2f}x of ids off)  runs {', '.join(f'{t:.3f}' for t in times[mode])}")


if __name__ == "__main__":
    main()
