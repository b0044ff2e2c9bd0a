"""The router: probes the hardware, catalogs the GGUF files, picks one file per model.

    plans = plan_models([Path("models")], RouterPrefs())
    plans[0].chosen.settings        # EngineSettings for service.engine.load_model
    plans[0].load_order             # the choice, then the fallbacks that fit

`probe.py` measures (I/O only), `catalog.py` reads the files, `policy.py` decides
(a pure function), `explain.py` is `embedroute route`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from router.catalog import Catalog, build_catalog
from router.errors import RouterConfigError
from router.hardware import CpuInfo, GpuInfo, Hardware, load_profile, save_profile
from router.plan import (
    Budget,
    Candidate,
    Device,
    MemoryEstimate,
    ModelPlan,
    Pin,
    RouterPrefs,
    UnreadableFile,
    merge_consistent,
)
from router.context import fitting as fitting_context
from router.policy import plan
from router.probe import probe_hardware

log = logging.getLogger(__name__)


def plan_models(models_dirs: Sequence[Path], prefs: RouterPrefs, hardware: Hardware | None = None) -> list[ModelPlan]:
    """Plan every model found under `models_dirs` for `hardware` (probed when None).

    Raises RouterConfigError when a pin names an unknown model, a
    quant the model has no file for, or a GPU the machine cannot use.
    """
    hw = hardware if hardware is not None else probe_hardware()
    catalog = build_catalog(models_dirs)
    plans = plan(catalog, hw, prefs)
    for p in plans:
        log.info("router: %s (%s) -> %s; context %s", p.model_id, p.kind, p.reason, p.context and p.context.reason)
    if not plans:
        log.warning("router: no usable GGUF under %s", ", ".join(str(d) for d in models_dirs))
    return plans


__all__ = [
    "Budget",
    "Candidate",
    "Catalog",
    "CpuInfo",
    "Device",
    "GpuInfo",
    "Hardware",
    "MemoryEstimate",
    "ModelPlan",
    "Pin",
    "RouterConfigError",
    "RouterPrefs",
    "UnreadableFile",
    "build_catalog",
    "fitting_context",
    "load_profile",
    "merge_consistent",
    "plan_models",
    "probe_hardware",
    "save_profile",
]
