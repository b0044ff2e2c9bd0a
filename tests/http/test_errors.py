"""The gRPC bad-input table, sent through every HTTP route that takes the same input: each case gets its
status and its API's error body, naming the JSON parameters; the server keeps serving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest

from service.rpc.generated.embedroute.v1 import embed_pb2
from tests.hardening.conftest import MAX_MESSAGE_BYTES
from tests.hardening.test_bad_input import CASES, Case

HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404}
OPENAI = {
    "inputs": "input",
    "options.dimensions": "dimensions",
    "options.encoding": "encoding_format",
    "options.instruction": "instruction",
}
TEI_EMBED = {"options.dimensions": "dimensions"}
TEI_RERANK = {"documents": "texts"}
TEI_TYPES = {404: "Validation", 413: "PayloadTooLarge", 422: "Validation"}


@dataclass(frozen=True)
class Sent:
    path: str
    body: dict[str, Any]
    dialect: str
    params: list[str]
    status: int
    reason: str


def renamed(fields: list[str], names: dict[str, str]) -> list[str]:
    out = []
    for field in fields:
        base, bracket, index = field.partition("[")
        out.append(names.get(field) or (names[base] + bracket + index if base in names else field))
    return out


def openai_body(request: embed_pb2.EmbedRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "input": list(request.inputs)}
    if request.options.dimensions:
        body["dimensions"] = request.options.dimensions
    if request.options.encoding:
        body["encoding_format"] = f"encoding-{request.options.encoding}"
    if request.options.instruction:
        body["instruction"] = request.options.instruction
    return body


def sent(case: Case) -> list[Sent]:
    """The case's request as each HTTP route takes it; routes whose API has no such field are left out."""
    status = HTTP_STATUS[case.code]
    request = case.request
    if case.rpc == "Embed":
        out = [Sent("/v1/embeddings", openai_body(request), "openai", renamed(case.fields, OPENAI), status, case.reason)]
        tei_has_it = not request.model and not request.options.encoding and not request.options.instruction
        if tei_has_it:  # TEI names no model and has no encodings or instructions
            body = {k: v for k, v in openai_body(request).items() if k != "model"}
            body["inputs"] = body.pop("input")
            out.append(Sent("/embed", body, "tei", renamed(case.fields, TEI_EMBED), 422 if status == 400 else status, case.reason))
        return out
    if case.rpc == "Rerank":
        if request.top_n > len(request.documents):  # Cohere's API answers every document then, not an error
            return []
        body = {"query": request.query, "documents": list(request.documents)}
        if request.top_n:
            body["top_n"] = request.top_n
        if request.instruction:
            body["instruction"] = request.instruction
        if request.truncate:
            body["truncate"] = "END"
        out = [Sent(p, body, "cohere", case.fields, status, case.reason) for p in ("/v1/rerank", "/v2/rerank", "/rerank")]
        if not request.top_n and not request.instruction:  # TEI's rerank has no top_n or instruction
            tei = {"query": request.query, "texts": list(request.documents)}
            out.append(Sent("/rerank", tei, "tei", renamed(case.fields, TEI_RERANK), 422, case.reason))
        return out
    if case.rpc == "Tokenize" and not request.instruction:  # TEI's tokenize has no instruction
        return [Sent("/tokenize", {"inputs": list(request.inputs)}, "tei", case.fields, 422, case.reason)]
    return []  # the stream cases: HTTP has no streams


SENT = [(f"{name} -> {s.dialect} {s.path}", s) for name, case in CASES.items() for s in sent(case)]


def error_of(answer: httpx.Response, dialect: str) -> tuple[str, str | None, list[str]]:
    """(message, reason, violation params) from an API's error body."""
    body = answer.json()
    if dialect == "openai":
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code", "violations"}
        assert error["param"] == (error["violations"][0]["param"] if error["violations"] else None)
        return error["message"], error["code"].upper(), [v["param"] for v in error["violations"]]
    if dialect == "cohere":
        return body["message"], body["code"], [v["param"] for v in body["violations"]]
    assert body["error_type"] == TEI_TYPES[answer.status_code]
    return body["error"], None, [v["param"] for v in body["violations"]]


@pytest.mark.parametrize("case", [s for _, s in SENT], ids=[name for name, _ in SENT])
def test_bad_input_over_http(http: httpx.Client, case: Sent) -> None:
    answer = http.post(case.path, json=case.body)
    assert answer.status_code == case.status, answer.text
    message, reason, params = error_of(answer, case.dialect)
    assert message
    if reason is not None:
        assert reason == case.reason
    assert params == case.params
    assert answer.headers["x-request-id"]
    assert http.post("/v1/embeddings", json={"input": "still here"}).status_code == 200


def test_every_case_of_the_grpc_table_is_sent() -> None:
    """Only the stream cases (HTTP has no streams) are left out."""
    covered = {name.split(" -> ")[0] for name, _ in SENT}
    unsendable = {"too long a tokenize instruction"}  # TEI's /tokenize, the only HTTP one, has no instruction
    unsendable.add("top_n larger than the documents")  # Cohere returns all documents; TEI's rerank has no top_n
    assert set(CASES) - covered == {n for n, c in CASES.items() if c.rpc.endswith("Stream")} | unsendable


@pytest.mark.parametrize(
    ("path", "dialect"),
    [("/v1/embeddings", "openai"), ("/v1/rerank", "cohere"), ("/embed", "tei"), ("/rerank", "cohere")],
)
def test_body_too_large_is_413(http: httpx.Client, path: str, dialect: str) -> None:
    answer = http.post(path, json={"input": "z" * MAX_MESSAGE_BYTES, "inputs": "z", "query": "q", "documents": ["a"]})
    assert answer.status_code == 413
    message, reason, _ = error_of(answer, dialect)
    assert message == f"the body is {len(answer.request.content)} bytes; at most {MAX_MESSAGE_BYTES}"
    assert reason in (None, "REQUEST_TOO_LARGE")


def test_not_json_and_wrong_types(http: httpx.Client) -> None:
    broken = http.post("/v1/embeddings", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    wrong = http.post("/v1/embeddings", json={"input": 5})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "input"
    assert wrong.json()["error"]["message"] == "input must be a string or a list of strings"
    ids = http.post("/v1/embeddings", json={"input": [[1, 2], [10**9]]})
    assert ids.status_code == 400 and ids.json()["error"]["param"] == "input[1]"
    start = http.post("/v1/embeddings", json={"input": "x", "truncate": "START"})
    assert start.status_code == 400 and start.json()["error"]["param"] == "truncate"
    docs = http.post("/v2/rerank", json={"query": "q", "documents": ["a", {"title": "b"}]})
    assert docs.status_code == 400 and [v["param"] for v in docs.json()["violations"]] == ["documents[1]"]
    left = http.post("/embed", json={"inputs": "x", "truncation_direction": "Left"})
    assert left.status_code == 422 and left.json()["violations"][0]["param"] == "truncation_direction"


def test_single_input_is_named_without_index(http: httpx.Client) -> None:
    """`input` sent as one string is `input` in the error, not `input[0]`."""
    assert http.post("/v1/embeddings", json={"input": " "}).json()["error"]["param"] == "input"
    assert http.post("/embed", json={"inputs": " "}).json()["violations"][0]["param"] == "inputs"
