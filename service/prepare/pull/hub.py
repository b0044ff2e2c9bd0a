"""The GGUF files of one model repository on a Hugging Face hub, with what a download is checked against.

The listing is pinned to the commit the hub reports, and every download URL names
that commit, so the files fetched are the ones whose sizes and hashes were listed,
even when the repository changes during a long pull. The hub's address, token and
offline switch are huggingface_hub's own settings (HF_ENDPOINT, HF_TOKEN,
HF_HUB_OFFLINE), so they work the same as for every other hub client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from httpx2 import HTTPError

from service.prepare.pull.errors import HubUnreachableError, PullError

HashKind = Literal["sha256", "git-sha1"]
LIST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RemoteFile:
    name: str
    """Path inside the repository."""
    size: int
    digest: str
    digest_kind: HashKind
    """sha256 from the LFS pointer; a file stored in git itself only has its blob id (sha1)."""
    url: str


@dataclass(frozen=True)
class RepoListing:
    repo: str
    commit: str
    files: tuple[RemoteFile, ...]
    """The repository's *.gguf files, in name order."""


def list_gguf(repo: str, *, endpoint: str | None = None, revision: str | None = None) -> RepoListing:
    """Raises HubUnreachableError when the hub cannot be reached, PullError when it answers no."""
    api = HfApi(endpoint=endpoint)
    try:
        info = api.model_info(repo, revision=revision, files_metadata=True, timeout=LIST_TIMEOUT_S)
    except OfflineModeIsEnabled as exc:
        raise HubUnreachableError(f"{repo}: HF_HUB_OFFLINE is set") from exc
    except HfHubHTTPError as exc:
        raise PullError(f"{repo}: the hub answered {exc}") from exc
    except (HTTPError, OSError) as exc:
        raise HubUnreachableError(f"{repo}: cannot reach {api.endpoint} ({exc})") from exc
    commit = info.sha or revision or "main"
    files = []
    for sibling in sorted(info.siblings or [], key=lambda s: s.rfilename):
        if not sibling.rfilename.endswith(".gguf"):
            continue
        url = f"{api.endpoint}/{repo}/resolve/{commit}/{quote(sibling.rfilename)}"
        if sibling.lfs is not None:
            files.append(RemoteFile(sibling.rfilename, sibling.lfs.size, sibling.lfs.sha256, "sha256", url))
        elif sibling.size is not None and sibling.blob_id:
            files.append(RemoteFile(sibling.rfilename, sibling.size, sibling.blob_id, "git-sha1", url))
        else:
            raise PullError(f"{repo}: the hub gave no size and hash for {sibling.rfilename}")
    if not files:
        raise PullError(f"{repo}@{commit[:12]} holds no .gguf file")
    return RepoListing(repo, commit, tuple(files))
