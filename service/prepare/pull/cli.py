"""`embedroute pull REPO`: download the one GGUF variant of a hub repository that this machine should run.

    embedroute pull Qwen/Qwen3-Embedding-0.6B-GGUF --models ./models
    embedroute pull Qwen/Qwen3-Reranker-0.6B-GGUF --hardware-profile router/profiles/t4-16gb.yaml
    embedroute pull Qwen/Qwen3-Embedding-0.6B-GGUF --all

The hub is huggingface_hub's: HF_ENDPOINT, HF_TOKEN (gated or private repositories)
and HF_HUB_OFFLINE apply. Exit codes: 0 done, 1 the pull failed (run again: a cut
download resumes), 2 bad arguments, 3 the hub is unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from httpx2 import HTTPError

from router.hardware import load_profile
from router.plan import RouterPrefs
from router.probe import probe_hardware
from service.prepare.pull.errors import HubUnreachableError, PullError
from service.prepare.pull.pull import pull


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="embedroute pull", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("repo", metavar="REPO", help="hub repository, e.g. Qwen/Qwen3-Embedding-0.6B-GGUF")
    p.add_argument("--kind", choices=("embedding", "reranker"), help="only models of this kind (repositories with both)")
    p.add_argument("--models", type=Path, default=Path("models"), metavar="DIR", help="where to put the file(s)")
    p.add_argument("--all", action="store_true", help="every variant (the whole ladder), not only the router's choice")
    p.add_argument("--revision", help="branch, tag or commit (default: the main branch)")
    p.add_argument("--hardware-profile", type=Path, metavar="FILE", help="choose for the machine this profile describes")
    p.add_argument("--ctx", type=int, default=0, metavar="N", help="tokens per sequence the server will load with")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.hardware_profile is not None:
            hardware = load_profile(args.hardware_profile)
        else:
            hardware = probe_hardware(cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
        result = pull(
            args.repo,
            args.models,
            hardware,
            RouterPrefs(n_ctx=args.ctx),
            kind=args.kind,
            take_all=args.all,
            revision=args.revision,
            progress=not args.quiet,
            say=_say,
        )
    except HubUnreachableError as exc:
        print(f"embedroute pull: {exc}", file=sys.stderr)
        return 3
    except PullError as exc:
        print(f"embedroute pull: {exc}", file=sys.stderr)
        return 1
    except HTTPError as exc:  # the hub went away mid-download: what arrived is kept
        print(f"embedroute pull: {exc}; run again to resume", file=sys.stderr)
        return 1
    except (OSError, ValueError, yaml.YAMLError) as exc:  # RouterConfigError is a ValueError
        print(f"embedroute pull: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for path in result.paths:
        print(path)
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
