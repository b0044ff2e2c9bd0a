"""The context each model is loaded with: its file's trained length, where memory allows.

The KV cache is one pool of cells shared by every sequence in flight (unified KV,
service/engine/stepper.py): a context of N tokens lets one sequence of N tokens run, or many
shorter ones side by side. It is never N cells per sequence, so a long context costs its cells
once, plus an attention buffer that grows with it (router/estimate.py), whatever the number of
sequences a step holds.

Order of the decision:
1. Files and placements are chosen at the *base* context, min(trained, `RouterPrefs.max_ctx`),
   as the router always planned: fidelity and speed never give way to a long context.
2. Each chosen model's context then grows, up a ladder from the base to the trained length
   (doubling), as far as the memory the chosen models leave allows. Models take turns one rung
   at a time, so an embedding model does not take all the memory a reranker beside it could use.

An operator's `ctx` is taken as it is (serve.plan refuses one that fits no file). The reason
of each choice is kept on the plan, for `embedroute route` and the start-up log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from router.estimate import estimate
from router.hardware import format_bytes
from router.plan import Budget, Candidate, ContextChoice, MemoryEstimate, ModelPlan, RouterPrefs


def ladder(base: int, trained: int) -> list[int]:
    """Contexts to try, shortest first: the base, doubled while below the trained length, then the
    trained length itself (32,768 from 8,192: 8,192, 16,384, 32,768)."""
    rungs = [base]
    while rungs[-1] * 2 < trained:
        rungs.append(rungs[-1] * 2)
    if trained > rungs[-1]:
        rungs.append(trained)
    return rungs


def at_context(candidate: Candidate, prefs: RouterPrefs, tokens: int) -> Candidate:
    """The same file and placement loaded with `tokens` per sequence, and its estimate there."""
    sized = replace(prefs, n_ctx=tokens, n_batch=candidate.settings.n_batch)
    est = estimate(candidate.description, sized, candidate.n_gpu_layers)
    return replace(
        candidate,
        estimate=est,
        estimated_bytes=est.total_bytes,
        settings=replace(candidate.settings, n_ctx=tokens),
    )


def fitting(candidate: Candidate, prefs: RouterPrefs, budget: Budget) -> int | None:
    """The longest context, halving from the candidate's own down to 256 tokens, at which it alone
    fits the budget: what a refusal of an operator's `ctx` offers instead. None: not even 256."""
    tokens = candidate.settings.n_ctx
    while tokens >= 256:
        if budget.holds([at_context(candidate, prefs, tokens).estimate]):
            return tokens
        tokens //= 2
    return None


@dataclass
class _Growing:
    index: int
    candidate: Candidate
    rungs: list[int]
    step: int = 0
    blocked: str = ""
    """Why the next rung does not fit, once it does not."""


def _left(estimates: Sequence[MemoryEstimate], budget: Budget) -> str:
    ram = budget.ram_bytes - sum(e.ram_bytes for e in estimates)
    text = f"{format_bytes(max(ram, 0))} RAM"
    if budget.gpu_bytes:
        gpu = budget.gpu_bytes - sum(e.gpu_bytes for e in estimates)
        text += f", {format_bytes(max(gpu, 0))} GPU"
    return text


def _needs(bigger: MemoryEstimate, now: MemoryEstimate) -> str:
    text = f"{format_bytes(bigger.ram_bytes - now.ram_bytes)} more RAM"
    if bigger.gpu_bytes > now.gpu_bytes:
        text += f", {format_bytes(bigger.gpu_bytes - now.gpu_bytes)} more GPU"
    return text


def _reason(g: _Growing, prefs: RouterPrefs) -> str:
    d = g.candidate.description
    tokens = g.rungs[g.step]
    trained = d.context_length
    kv = format_bytes(g.candidate.estimate.kv_bytes)
    if prefs.n_ctx:
        return f"{tokens} tokens: set by the operator (ctx; the file is trained for {trained or 'an unknown length'})"
    if not trained:
        return f"{tokens} tokens: the file names no trained context"
    pool = f"one KV pool of {kv} shared by every sequence" if g.candidate.estimate.kv_bytes else "no KV cache (encoder)"
    if tokens >= trained:
        grown = ", where memory allows" if len(g.rungs) > 1 else ""
        return f"{tokens} tokens: the file's trained context{grown} ({pool})"
    if g.blocked:
        return f"{tokens} of the file's {trained} tokens ({pool}): {g.blocked}"
    return f"{tokens} of the file's {trained} tokens"


def grow(plans: Sequence[ModelPlan], prefs: RouterPrefs) -> list[ModelPlan]:
    """Each plan with its chosen candidate at the longest context the shared budget allows, and
    `context` saying why. Plans refused (a consistency pin that does not fit) take no memory;
    while a chosen candidate does not fit even at the base context, nothing grows."""
    if not plans:
        return []
    budget = plans[0].budget
    growing = [
        _Growing(i, p.chosen, ladder(p.chosen.settings.n_ctx, p.chosen.description.context_length))
        for i, p in enumerate(plans)
        if not p.refusal
    ]
    if prefs.n_ctx == 0 and all(g.candidate.fits for g in growing):
        _climb(growing, prefs, budget)
    else:
        for g in growing:
            g.blocked = "the models do not fit even at this context"
    out = list(plans)
    for g in growing:
        p = plans[g.index]
        choice = ContextChoice(g.rungs[g.step], p.chosen.description.context_length, _reason(g, prefs))
        out[g.index] = replace(p, candidates=(g.candidate, *p.candidates[1:]), context=choice)
    for i, p in enumerate(plans):
        if p.refusal:
            n = p.chosen.settings.n_ctx
            out[i] = replace(p, context=ContextChoice(n, p.chosen.description.context_length, f"{n} tokens: not served"))
    return out


def _climb(growing: list[_Growing], prefs: RouterPrefs, budget: Budget) -> None:
    """Round after round, every model whose next rung fits beside the others takes it."""
    moved = True
    while moved:
        moved = False
        for g in growing:
            if g.blocked or g.step + 1 >= len(g.rungs):
                continue
            bigger = at_context(g.candidate, prefs, g.rungs[g.step + 1])
            others = [o.candidate.estimate for o in growing if o is not g]
            if budget.holds([*others, bigger.estimate]):
                g.candidate, g.step, moved = bigger, g.step + 1, True
            else:
                g.blocked = (
                    f"{g.rungs[g.step + 1]} would need {_needs(bigger.estimate, g.candidate.estimate)}, "
                    f"and {_left([*others, g.candidate.estimate], budget)} is left"
                )


__all__ = ["at_context", "fitting", "grow", "ladder"]
