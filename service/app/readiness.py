"""Whether the server, or one model, is ready: one answer for gRPC health "" and HTTP /readyz.

Ready means every planned model serves, but for those the operator declared optional
(`optional_models`), and at least one serves: a server whose reranker failed must not tell its
load balancer it is ready while every rerank is refused. A model still loading makes it not ready
*yet*; a model that failed for good makes it not ready, with the reason and a long Retry-After,
for as long as it runs (a restart or an operator's change is what helps).
"""

from __future__ import annotations

from service.app.registry import ServedModel
from service.core.errors import UnavailableError

FAILED_RETRY_AFTER_S = 60.0


def unready(models: list[ServedModel], optional: frozenset[str], draining: bool) -> UnavailableError | None:
    """Why the server is not ready, or None when it is."""
    if draining:
        return UnavailableError("the server is shutting down", reason="DRAINING")
    required = [m for m in models if m.model_id not in optional]
    for served in required:
        if (reason := model_unready(served)) is not None:
            return reason
    if not any(m.state == "ready" for m in models):
        loading = [m.model_id for m in models if m.state == "loading"]
        if loading:
            return UnavailableError(f"no model is ready yet; loading: {', '.join(loading)}", reason="NOT_READY")
        return UnavailableError("no model could be loaded", reason="MODEL_FAILED", retry_after_s=FAILED_RETRY_AFTER_S)
    return None


def model_unready(served: ServedModel) -> UnavailableError | None:
    """Why this model does not serve, or None when it does."""
    if served.state == "loading":
        return UnavailableError(f"model {served.model_id!r} is still loading", reason="MODEL_LOADING")
    if served.state == "failed":
        return UnavailableError(
            f"model {served.model_id!r} failed to load and will not serve: {'; '.join(served.errors)}",
            reason="MODEL_FAILED",
            retry_after_s=FAILED_RETRY_AFTER_S,
        )
    return None


__all__ = ["model_unready", "unready"]
