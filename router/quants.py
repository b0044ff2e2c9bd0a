"""The fidelity ladder of GGUF quantisations, and where a given file sits on it.

The order is the issue's (BF16 > F16 > Q8_0 > Q6_K > Q5_K > Q4_K > IQ4 > IQ3, then the
degraded 2- and 1-bit types), refined by three rules:

* A file is placed by its file type (general.file_type), not by its average bits per
  weight: a K-quant "mix" such as Q4_K_M keeps some tensors at Q6_K, and in a small model
  the tied embedding alone can lift the average above the next rung up.
* A hybrid file whose real average is well *below* what its file type promises (a
  "BF16" file with most tensors at Q8_0) is placed by that real average between the
  rungs, as is a file whose type this table does not know.
* On ARM, Q4_0 moves up next to Q4_K: llama.cpp repacks it at load time for
  NEON/i8mm/SVE, which makes it the fast 4-bit type there; elsewhere it sits below IQ4.
"""

from __future__ import annotations

from dataclasses import dataclass

DEGRADED_FAMILIES = frozenset({"Q2_K", "IQ2", "IQ1", "TQ"})
"""Usable only when nothing else fits; a plan that picks one is flagged degraded."""

FLOAT_FAMILIES = frozenset({"F32", "BF16", "F16"})


@dataclass(frozen=True)
class Rung:
    family: str
    nominal_bpw: float


LADDER: tuple[Rung, ...] = (
    Rung("F32", 32.0),
    Rung("BF16", 16.0),
    Rung("F16", 16.0),
    Rung("Q8_0", 8.5),
    Rung("Q6_K", 6.5625),
    Rung("Q5_K", 5.5),
    Rung("Q5_0", 5.5),
    Rung("Q4_K", 4.5),
    Rung("IQ4", 4.25),
    Rung("Q4_0", 4.5),
    Rung("Q3_K", 3.4375),
    Rung("IQ3", 3.4375),
    Rung("Q2_K", 2.625),
    Rung("IQ2", 2.3125),
    Rung("TQ", 1.6875),
    Rung("IQ1", 1.5625),
)

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("Q4_0_", "Q4_0"),  # old pre-repacked ARM layouts (Q4_0_4_4 ...)
    ("Q4_K", "Q4_K"),
    ("Q5_K", "Q5_K"),
    ("Q3_K", "Q3_K"),
    ("Q2_K", "Q2_K"),
    ("IQ4", "IQ4"),
    ("IQ3", "IQ3"),
    ("IQ2", "IQ2"),
    ("IQ1", "IQ1"),
    ("TQ", "TQ"),
    ("MXFP4", "IQ4"),
)
_ALIASES = {
    "Q4_0": "Q4_0",
    "Q4_1": "Q4_0",
    "Q5_0": "Q5_0",
    "Q5_1": "Q5_0",
    "Q6_K": "Q6_K",
    "Q8_0": "Q8_0",
    "F32": "F32",
    "BF16": "BF16",
    "F16": "F16",
}

DEGRADED_BELOW_BPW = 3.0
"""Hybrid or unknown files under 3 bits per weight are as lossy as the 2-bit types."""

HYBRID_TOLERANCE = 0.9
"""A file is "hybrid" when its real bits per weight fall below 90% of its type's nominal."""


def family(quant: str) -> str | None:
    """The rung a file type belongs to ("Q4_K_M" -> "Q4_K"), or None when unknown."""
    name = quant.upper().removeprefix("MOSTLY_")
    if name in _ALIASES:
        return _ALIASES[name]
    for prefix, fam in _PREFIXES:
        if name.startswith(prefix):
            return fam
    return None


def ladder(arm: bool) -> tuple[Rung, ...]:
    if not arm:
        return LADDER
    rungs = [r for r in LADDER if r.family != "Q4_0"]
    q4k = next(i for i, r in enumerate(rungs) if r.family == "Q4_K")
    rungs.insert(q4k + 1, Rung("Q4_0", 4.5))
    return tuple(rungs)


@dataclass(frozen=True)
class Placement:
    """Where a file sits on the ladder: lower `rank` = higher fidelity."""

    rank: float
    family: str
    hybrid: bool
    degraded: bool


def place(quant: str, bits_per_weight: float, arm: bool) -> Placement:
    """Rank a file; hybrids and unknown types go between rungs by their real bits per weight."""
    rungs = ladder(arm)
    fam = family(quant)
    index = next((i for i, r in enumerate(rungs) if r.family == fam), None)
    if index is not None and bits_per_weight >= HYBRID_TOLERANCE * rungs[index].nominal_bpw:
        return Placement(float(index), fam or quant, hybrid=False, degraded=fam in DEGRADED_FAMILIES)
    below = next((i for i, r in enumerate(rungs) if r.nominal_bpw <= bits_per_weight), len(rungs))
    return Placement(
        below - 0.5,
        fam or quant,
        hybrid=index is not None,
        degraded=bits_per_weight < DEGRADED_BELOW_BPW,
    )
