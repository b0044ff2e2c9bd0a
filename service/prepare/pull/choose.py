"""Which of a repository's files this machine should run: the router's own decision, made before download.

The remote files are planned exactly like local ones (router.policy.plan over a
catalog of their descriptions), so the server, once the files are here, picks the
same one. The runner-up candidates are not fetched: the server falls back to them
only when the first fails to load, and a pull for a 16 GB GPU should not fill the disk
with every rung. `--all` takes the whole ladder, for images built once and run on
several kinds of machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from router.catalog import Catalog, group
from router.hardware import Hardware
from router.plan import ModelPlan, RouterPrefs
from router.policy import plan
from router.types import ModelKind
from service.prepare.pull.errors import PullError
from service.prepare.pull.remote import RemoteDescription


@dataclass(frozen=True)
class Selection:
    plan: ModelPlan
    files: tuple[RemoteDescription, ...]
    """What to download: the router's choice, or with take_all every variant of the model."""


def select(
    described: Sequence[RemoteDescription],
    hardware: Hardware,
    prefs: RouterPrefs,
    kind: ModelKind | None = None,
    take_all: bool = False,
) -> list[Selection]:
    by_name = {r.description.path.name: r for r in described}
    catalog = Catalog(models=group(r.description for r in described), unreadable=())
    plans = [p for p in plan(catalog, hardware, prefs) if kind is None or p.kind == kind]
    if not plans:
        found = ", ".join(sorted({f"{r.description.model_id} ({r.description.kind})" for r in described})) or "none"
        raise PullError(f"no {kind or 'usable'} model among the repository's files; found: {found}")
    selections = []
    for p in plans:
        names = [c.description.path.name for c in p.candidates] if take_all else [p.chosen.description.path.name]
        selections.append(Selection(p, tuple(by_name[n] for n in dict.fromkeys(names))))
    return selections
