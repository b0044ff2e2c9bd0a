"""TEI's `/embed_all`: `[[[float]]]`, one list per input of one vector per token, equal to the EmbedTokens RPC."""

from __future__ import annotations

import grpc
import httpx
import numpy as np

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc

TEXTS = ["What is the capital of China?", "Beijing is the capital of China."]


def _rpc(channel: grpc.Channel, texts: list[str], **options: object) -> list[np.ndarray]:
    reply = embed_pb2_grpc.EmbedServiceStub(channel).EmbedTokens(
        embed_pb2.EmbedTokensRequest(inputs=texts, options=embed_pb2.EmbedOptions(**options))  # type: ignore[arg-type]
    )
    return [np.array([v.float_values for v in t.vectors], dtype=np.float32) for t in reply.inputs]


def test_embed_all_is_raw_hidden_states_per_token(http: httpx.Client, http_channel: grpc.Channel) -> None:
    answer = http.post("/embed_all", json={"inputs": TEXTS})
    assert answer.status_code == 200
    body = answer.json()
    assert len(body) == 2
    for got, want in zip(body, _rpc(http_channel, TEXTS, normalize=False), strict=True):
        assert len(got) == want.shape[0] and all(len(row) == 256 for row in got)
        np.testing.assert_allclose(np.array(got, dtype=np.float32), want, atol=1e-5)


def test_a_single_input_still_answers_a_list_of_inputs(http: httpx.Client, http_channel: grpc.Channel) -> None:
    body = http.post("/embed_all", json={"inputs": TEXTS[0], "prompt_name": "query", "normalize": True,
                                         "dimensions": 64}).json()
    want = _rpc(http_channel, TEXTS[:1], input_type=common_pb2.INPUT_TYPE_QUERY, dimensions=64)[0]
    assert len(body) == 1 and len(body[0]) == want.shape[0] and len(body[0][0]) == 64
    np.testing.assert_allclose(np.array(body[0], dtype=np.float32), want, atol=1e-5)


def test_embed_all_errors_in_tei_shape(http: httpx.Client) -> None:
    for body, field in (
        ({"inputs": []}, "inputs"),
        ({"inputs": TEXTS, "truncation_direction": "Left"}, "truncation_direction"),
        ({"inputs": TEXTS, "dimensions": 8}, "dimensions"),
    ):
        answer = http.post("/embed_all", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error_type"] == "Validation", answer.json()
        assert [v["param"] for v in answer.json()["violations"]] == [field], answer.json()
