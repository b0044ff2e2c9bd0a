"""langchain-openai's OpenAIEmbeddings, pointed at embedroute, embeds documents and queries as the gRPC API does."""

from __future__ import annotations

import grpc
import numpy as np
from langchain_openai import OpenAIEmbeddings

from service.rpc.generated.embedroute.v1 import common_pb2
from tests.http.conftest import EMBED_MODEL, grpc_vectors
from tests.rpc.harness import RunningServer

DOCUMENTS = ["Paris is the capital of France.", "Water boils at 100 degrees Celsius.", "Cats sleep a lot."]


def embeddings(server: RunningServer, **kw: object) -> OpenAIEmbeddings:
    # check_embedding_ctx_length=False: send the texts, not tiktoken's token ids (tiktoken would download
    # OpenAI's vocabulary, and it is not this model's).
    return OpenAIEmbeddings(
        model=EMBED_MODEL, base_url=f"{server.http_url}/v1", api_key="unused",  # type: ignore[arg-type]
        check_embedding_ctx_length=False, max_retries=0, **kw,
    )


def test_embed_documents_and_query(http_served: RunningServer, http_channel: grpc.Channel) -> None:
    client = embeddings(http_served)
    documents = client.embed_documents(DOCUMENTS)
    for got, want in zip(documents, grpc_vectors(http_channel, DOCUMENTS), strict=True):
        np.testing.assert_array_equal(np.array(got, dtype=np.float32), want)
    query = client.embed_query("What is the capital of France?")
    np.testing.assert_array_equal(
        np.array(query, dtype=np.float32), grpc_vectors(http_channel, ["What is the capital of France?"])[0]
    )


def test_dimensions_and_query_input_type(http_served: RunningServer, http_channel: grpc.Channel) -> None:
    """NIM's input_type goes through model_kwargs, as LangChain users of NIM set it."""
    client = embeddings(http_served, dimensions=128, model_kwargs={"extra_body": {"input_type": "query"}})
    got = client.embed_documents(DOCUMENTS[:1])
    want = grpc_vectors(http_channel, DOCUMENTS[:1], dimensions=128, input_type=common_pb2.INPUT_TYPE_QUERY)
    assert len(got[0]) == 128
    np.testing.assert_array_equal(np.array(got[0], dtype=np.float32), want[0])
