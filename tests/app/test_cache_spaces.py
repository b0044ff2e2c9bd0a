"""A hit is never served across vector spaces: two servers of the same model in different quants,
sharing one real redis-server, each answer their own vectors, and each hits only its own entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.app.cache_support import cosine, embed, metric, model_folder, redis_server, start
from tests.conftest import SynthModels

TEXTS = ["shared store, two quants", "the same text in both spaces", "a third one"]


def test_two_quants_sharing_one_store_keep_their_own_vectors(synth_models: SynthModels, tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        q8 = model_folder(synth_models.embedding["Q8_0"], tmp_path)
        f16 = model_folder(synth_models.embedding["F16"], tmp_path)
        servers = {
            "q8": start(q8, cache="shared", cache_url=redis.url),
            "f16": start(f16, cache="shared", cache_url=redis.url),
            "q8 fleet peer": start(q8, cache="shared", cache_url=redis.url),
        }
        fresh = {"q8": start(q8, cache="off"), "f16": start(f16, cache="off")}
        try:
            own = {name: embed(server, TEXTS)[0] for name, server in fresh.items()}
            assert any(not np.array_equal(a, b) for a, b in zip(own["q8"], own["f16"], strict=True))

            q8_vectors, q8_usage = embed(servers["q8"], TEXTS)
            f16_vectors, f16_usage = embed(servers["f16"], TEXTS)  # q8's entries are in the store: no hit
            assert q8_usage.cached_tokens == f16_usage.cached_tokens == 0
            assert metric(servers["f16"], "embedroute_cache_inputs_total", result="hit") == 0
            for name, vectors in (("q8", q8_vectors), ("f16", f16_vectors)):
                for got, want in zip(vectors, own[name], strict=True):
                    assert cosine(got, want) >= 0.99999
            peer_vectors, peer_usage = embed(servers["q8 fleet peer"], TEXTS)  # same space: q8's entries
            assert peer_usage.cached_tokens == peer_usage.prompt_tokens
            assert [v.tobytes() for v in peer_vectors] == [v.tobytes() for v in q8_vectors]
            again, again_usage = embed(servers["f16"], TEXTS)
            assert again_usage.cached_tokens == again_usage.prompt_tokens
            assert [v.tobytes() for v in again] == [v.tobytes() for v in f16_vectors]
        finally:
            for server in [*servers.values(), *fresh.values()]:
                server.stop()
