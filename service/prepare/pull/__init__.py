"""`embedroute pull`, and the models a server with none starts with.

    pull("Qwen/Qwen3-Embedding-0.6B-GGUF", Path("models"), probe_hardware(), RouterPrefs())

`hub` lists a repository, `remote` describes its files from their headers by range
requests, `choose` asks the router, `download` fetches and verifies, `startup`
decides between the hub and the embedded default.
"""

from __future__ import annotations

from service.prepare.pull.errors import ChecksumMismatchError, HubUnreachableError, PullError
from service.prepare.pull.pull import PullResult, pull
from service.prepare.pull.startup import DEFAULT_REPOS, prepare_models

__all__ = [
    "DEFAULT_REPOS",
    "ChecksumMismatchError",
    "HubUnreachableError",
    "PullError",
    "PullResult",
    "prepare_models",
    "pull",
]
