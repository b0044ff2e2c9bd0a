"""tei.v1 Embed/EmbedAll: TEI's per-token embeddings (raw hidden states), the EmbedTokens RPC's values."""

from __future__ import annotations

import grpc
import numpy as np

from service.rpc.generated.embedroute.v1 import embed_pb2, embed_pb2_grpc
from service.rpc.generated.tei.v1 import tei_pb2, tei_pb2_grpc

TEXT = "What is the capital of China?"


def test_embed_all_equals_embed_tokens(channel: grpc.Channel) -> None:
    reply = tei_pb2_grpc.EmbedStub(channel).EmbedAll(tei_pb2.EmbedAllRequest(inputs=TEXT))
    want = embed_pb2_grpc.EmbedServiceStub(channel).EmbedTokens(
        embed_pb2.EmbedTokensRequest(inputs=[TEXT], options=embed_pb2.EmbedOptions(normalize=False))
    ).inputs[0]
    got = np.array([t.embeddings for t in reply.token_embeddings], dtype=np.float32)
    assert got.shape == (len(want.token_ids), 256)
    np.testing.assert_allclose(got, np.array([v.float_values for v in want.vectors], dtype=np.float32), atol=1e-5)
    assert reply.metadata.compute_tokens == len(want.token_ids)

