"""The models this server serves: the router's plans, their load state and their workers.

Loading follows the router's order: the best candidate first, the next one when a
file fails to load (corrupt, out of memory), and the failure is kept for
ModelService to report. State changes happen on the event loop only; the blocking
`load_model` runs in a thread so health checks keep answering while big files load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from service.engine import load_model
from service.core.space import VectorSpace, weights_sha256
from router.types import GgufDescription, ModelKind
from service.core.errors import InvalidArgumentError, NotFoundError, UnavailableError
from service.scheduler import ModelWorker
from router.errors import ConfigError

if TYPE_CHECKING:
    from router import Candidate, ModelPlan
    from service.core.config import Settings

log = logging.getLogger(__name__)

LoadState = Literal["loading", "ready", "failed"]


@dataclass
class ServedModel:
    plan: ModelPlan
    state: LoadState = "loading"
    chosen: Candidate | None = None
    worker: ModelWorker | None = None
    errors: list[str] = field(default_factory=list)
    """One line per candidate that failed to load, in the order tried."""
    space: VectorSpace | None = None
    """What decides the loaded file's vectors; None while loading, for rerankers, or with ids off."""
    cache_space: VectorSpace | None = None
    """The same for the vector cache's keys, rerankers' too: known whenever the cache is on."""

    def vector_space_id(self, normalize: bool = True, *, tokens: bool = False, sparse: bool = False) -> str:
        """The id of the vectors this model answers with ("" when none is known); `tokens`: of its
        token vectors (a ColBERT head's, where the model has one), `sparse`: of its lexical weights.
        Each output kind is a space of its own, never to be mixed with another's."""
        if self.space is None:
            return ""
        if sparse:
            return replace(self.space, pooling="sparse").id(False)
        if tokens:
            colbert = "colbert" in self.description.outputs
            return replace(self.space, pooling="colbert" if colbert else "tokens").id(normalize)
        return self.space.id(normalize)

    @property
    def model_id(self) -> str:
        return self.plan.model_id

    @property
    def shown(self) -> Candidate:
        """The file a front describes: the one loaded, else the router's first choice."""
        return self.chosen or self.plan.candidates[0]

    @property
    def description(self) -> GgufDescription:
        """The model as served: the loaded model's own description (pooling as in use), else the file's."""
        return self.worker.description if self.worker is not None else self.shown.description

    @property
    def context_length(self) -> int:
        """The context the loaded model accepts (0 while it is not loaded)."""
        return self.worker.n_ctx if self.worker is not None else 0

    @property
    def kind(self) -> ModelKind:
        return "reranker" if self.plan.kind == "reranker" else "embedding"


class Registry:
    def __init__(self, plans: list[ModelPlan], default_model: str = "") -> None:
        self._models = {plan.model_id: ServedModel(plan) for plan in plans}
        if default_model and default_model not in self._models:
            known = ", ".join(sorted(self._models)) or "none"
            raise ConfigError("default_model", f"{default_model!r} is not among the models found ({known})")
        self._default = default_model
        """The model a call that names none means when several of its kind are served (the one rule)."""

    def models(self) -> list[ServedModel]:
        return list(self._models.values())

    def get(self, model_id: str) -> ServedModel:
        try:
            return self._models[model_id]
        except KeyError:
            known = ", ".join(sorted(self._models)) or "none"
            raise NotFoundError(f"model {model_id!r} is not served here; served: {known}") from None

    def worker_for(self, model_id: str, kind: ModelKind | None, field: str = "model") -> ModelWorker:
        """The worker of the named model, or of the only model of `kind` when the name is empty."""
        served = self.get(model_id) if model_id else self.unnamed(kind, field)
        if kind is not None and served.kind != kind:
            raise InvalidArgumentError.for_field(
                field,
                f"model {served.model_id!r} is a {served.kind} model, not a {kind} model",
                reason="WRONG_MODEL_KIND",
            )
        if served.worker is None:
            if served.state == "failed":
                raise UnavailableError(
                    f"model {served.model_id!r} failed to load: {'; '.join(served.errors)}",
                    reason="MODEL_FAILED",
                    retry_after_s=60.0,
                )
            raise UnavailableError(f"model {served.model_id!r} is still loading", reason="MODEL_LOADING")
        return served.worker

    @property
    def reranks_by_cosine(self) -> bool:
        """No reranker is planned: RerankService scores by cosine similarity over an embedding model."""
        kinds = {m.kind for m in self._models.values()}
        return "reranker" not in kinds and "embedding" in kinds

    def rerank_worker(self, model_id: str) -> ModelWorker:
        """The reranker to score with, or with none planned the embedding model (see service.app.cosine_rerank)."""
        return self.worker_for(model_id, "embedding" if self.reranks_by_cosine else "reranker")

    def serves_rerank_by_cosine(self, served: ServedModel) -> bool:
        """Whether RerankService falls back to this embedding model (ModelService marks it)."""
        return self.reranks_by_cosine and served.kind == "embedding"

    def unnamed(self, kind: ModelKind | None, field: str = "model") -> ServedModel:
        """The model a call that names none means: the default model when it is of `kind`, else the
        only model of `kind`; several and no default is the caller's choice to make (MODEL_REQUIRED)."""
        matching = [m for m in self._models.values() if kind is None or m.kind == kind]
        default = self._models.get(self._default)
        if default is not None and default in matching:
            return default
        if len(matching) == 1:
            return matching[0]
        what = f"{kind} models" if kind else "models"
        if not matching:
            raise UnavailableError(f"this server has no {what}", reason="NO_MODEL", retry_after_s=60.0)
        names = ", ".join(sorted(m.model_id for m in matching))
        raise InvalidArgumentError.for_field(
            field, f"several {what} are served ({names}); name one, or set default_model", reason="MODEL_REQUIRED"
        )

    async def load_all(self, settings: Settings, on_change: Callable[[ServedModel], Awaitable[None]]) -> None:
        """Loads each model in turn; `on_change` is awaited after each one is settled."""
        for served in self._models.values():
            if served.plan.refusal:
                log.error("model %s is not served: %s", served.model_id, served.plan.refusal)
                served.errors.append(served.plan.refusal)
                served.state = "failed"
                await on_change(served)
                continue
            for candidate in served.plan.load_order:
                if not candidate.fits:  # loading it would run the process out of memory
                    message = f"{candidate.description.path.name}: does not fit ({candidate.reason})"
                    log.error("not loading %s", message, extra={"model": served.model_id})
                    served.errors.append(message)
                    continue
                try:
                    worker, served.cache_space = await _load_with_space(candidate, settings)
                except Exception as exc:  # any load failure moves on to the next candidate
                    message = f"{candidate.description.path.name}: {exc}"
                    log.warning("could not load %s", message, extra={"model": served.model_id})
                    served.errors.append(message)
                    continue
                served.worker, served.chosen, served.state = worker, candidate, "ready"
                if settings.vector_space_ids and served.kind == "embedding":
                    served.space = served.cache_space
                log.info(
                    "loaded %s from %s (%s, %s); pooling: %s; vector space %s",
                    served.model_id,
                    candidate.description.path.name,
                    candidate.description.quant,
                    candidate.reason,
                    worker.description.pooling_note,
                    served.vector_space_id() or ("off" if not settings.vector_space_ids else "none (a reranker)"),
                )
                break
            else:
                served.state = "failed"
                log.error("model %s: no candidate could be loaded", served.model_id)
            await on_change(served)

    def close(self, timeout_s: float) -> None:
        """Stops every worker (failing queued work) and frees the models; call off the loop."""
        for served in self._models.values():
            if served.worker is not None:
                served.worker.close(timeout_s)
                served.worker = None


async def _load_with_space(candidate: Candidate, settings: Settings) -> tuple[ModelWorker, VectorSpace | None]:
    """Loads the model and, beside it on another thread, takes the file's sha256 (from its
    sidecar when recorded): the model is ready once both are, so every answer carries its id."""
    path = candidate.description.path
    wanted = settings.cache != "off" or (settings.vector_space_ids and candidate.description.kind == "embedding")
    digest = asyncio.ensure_future(asyncio.to_thread(weights_sha256, path)) if wanted else None
    try:
        worker = await asyncio.to_thread(_load, candidate, settings)
    except BaseException:
        if digest is not None:
            await asyncio.gather(digest, return_exceptions=True)
        raise
    if digest is None:
        return worker, None
    try:
        sha256 = await digest
    except BaseException:
        await asyncio.to_thread(worker.close, 0.0)
        raise
    return worker, VectorSpace.of(worker.description, sha256, worker.model.template_fingerprint)


def _load(candidate: Candidate, settings: Settings) -> ModelWorker:
    model = load_model(candidate.description.path, candidate.settings)
    try:
        model.self_check()
    except Exception:
        model.close()
        raise
    return ModelWorker(
        model,
        max_queued=settings.max_queued_requests,
        retry_after_s=settings.retry_after_seconds,
    )
