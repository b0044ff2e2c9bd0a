"""The fidelity ladder: named file types, hybrids, ARM's Q4_0, degraded types."""

from __future__ import annotations

import pytest

from router.quants import family, place


def order(quants: list[tuple[str, float]], arm: bool = False) -> list[str]:
    return [q for q, _ in sorted(quants, key=lambda item: place(item[0], item[1], arm).rank)]


NOMINAL = [
    ("IQ1_S", 1.56),
    ("IQ2_M", 2.7),
    ("IQ3_M", 3.9),
    ("Q4_0", 4.5),
    ("IQ4_XS", 4.25),
    ("Q4_K_M", 4.85),
    ("Q5_K_M", 5.7),
    ("Q6_K", 6.56),
    ("Q8_0", 8.5),
    ("F16", 16.0),
    ("BF16", 16.0),
    ("F32", 32.0),
]


def test_issue_order_on_x86() -> None:
    assert order(NOMINAL) == [
        "F32",
        "BF16",
        "F16",
        "Q8_0",
        "Q6_K",
        "Q5_K_M",
        "Q4_K_M",
        "IQ4_XS",
        "Q4_0",
        "IQ3_M",
        "IQ2_M",
        "IQ1_S",
    ]


def test_q4_0_moves_up_next_to_q4_k_on_arm() -> None:
    assert order(NOMINAL, arm=True)[6:9] == ["Q4_K_M", "Q4_0", "IQ4_XS"]


def test_mixes_rank_by_file_type_not_average_bits() -> None:
    # the tiny test model's Q4_K_M and IQ3_M carry a Q6_K embedding: 6.5 bits on average
    assert order([("Q6_K", 6.56), ("Q4_K_M", 6.49), ("IQ3_M", 6.45)]) == ["Q6_K", "Q4_K_M", "IQ3_M"]


def test_hybrid_bf16_q8_file_ranks_by_its_real_bits() -> None:
    hybrid = place("BF16", 10.5, arm=False)
    assert hybrid.hybrid and not hybrid.degraded
    assert place("F16", 16.0, False).rank < hybrid.rank < place("Q8_0", 8.5, False).rank


def test_unknown_type_ranks_by_bits() -> None:
    unknown = place("unknown", 5.0, arm=False)
    assert not unknown.hybrid
    assert place("Q5_K_M", 5.7, False).rank < unknown.rank < place("Q4_K_M", 4.85, False).rank
    assert place("unknown", 2.0, False).degraded


@pytest.mark.parametrize(
    ("quant", "fam", "degraded"),
    [
        ("Q4_K_M", "Q4_K", False),
        ("Q4_K_S", "Q4_K", False),
        ("Q5_K_S", "Q5_K", False),
        ("Q4_1", "Q4_0", False),
        ("IQ4_NL", "IQ4", False),
        ("IQ3_XXS", "IQ3", False),
        ("Q3_K_L", "Q3_K", False),
        ("Q2_K", "Q2_K", True),
        ("IQ2_XS", "IQ2", True),
        ("IQ1_M", "IQ1", True),
        ("TQ1_0", "TQ", True),
        ("MOSTLY_Q8_0", "Q8_0", False),
    ],
)
def test_families(quant: str, fam: str, degraded: bool) -> None:
    assert family(quant) == fam
    assert place(quant, 8.0 if not degraded else 2.0, arm=False).degraded == degraded
