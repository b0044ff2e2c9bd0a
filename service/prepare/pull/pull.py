"""One repository, end to end: list -> describe headers remotely -> router chooses -> download and verify."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import get_session
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # public; re-exported lazily

from router.hardware import Hardware
from router.plan import RouterPrefs
from router.types import ModelKind
from service.prepare.pull.choose import Selection, select
from service.prepare.pull.download import download
from service.prepare.pull.hub import list_gguf
from service.prepare.pull.remote import describe_remote


@dataclass(frozen=True)
class PullResult:
    repo: str
    commit: str
    selections: tuple[Selection, ...]
    paths: tuple[Path, ...]
    """The files now in the models folder, in download order."""


def pull(
    repo: str,
    models_dir: Path,
    hardware: Hardware,
    prefs: RouterPrefs,
    *,
    kind: ModelKind | None = None,
    take_all: bool = False,
    endpoint: str | None = None,
    revision: str | None = None,
    progress: bool = True,
    say: Callable[[str], None] = lambda _: None,
) -> PullResult:
    """Raises service.prepare.pull.errors.PullError (or its HubUnreachableError, ChecksumMismatchError)."""
    listing = list_gguf(repo, endpoint=endpoint, revision=revision)
    say(f"{repo}@{listing.commit[:12]}: {len(listing.files)} GGUF files")
    session = get_session()
    headers = build_hf_headers()
    described = describe_remote(listing.files, session, headers)
    for r in described:
        if r.inferred_from is not None:
            say(f"  {r.file.name}: header unreadable; described from {r.inferred_from} and its file name")
    selections = select(described, hardware, prefs, kind, take_all)
    paths: list[Path] = []
    for s in selections:
        say(f"{s.plan.model_id} ({s.plan.kind}): {s.plan.reason}")
        for r in s.files:
            say(f"  fetching {r.file.name} ({r.description.quant}, {r.file.size} bytes)")
            paths.append(download(r.file, models_dir, session, headers, progress))
    return PullResult(repo, listing.commit, tuple(selections), tuple(paths))
