"""The router's public surface, pinned: the server and the CLI code against these names."""

from __future__ import annotations

import inspect

import router


def test_public_names() -> None:
    assert sorted(router.__all__) == [
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
    assert all(hasattr(router, name) for name in router.__all__)


def test_plan_models_signature() -> None:
    params = list(inspect.signature(router.plan_models).parameters)
    assert params == ["models_dirs", "prefs", "hardware"]


def test_pin_parsing() -> None:
    assert router.Pin.parse("q8_0@CPU") == router.Pin(quant="Q8_0", device="cpu")
    assert router.Pin.parse("@gpu") == router.Pin(quant=None, device="gpu")
    assert router.Pin.parse("IQ4_XS") == router.Pin(quant="IQ4_XS", device=None)
    assert str(router.Pin.parse("Q4_K_M@gpu")) == "Q4_K_M@gpu"
