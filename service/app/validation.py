"""Every check of a request, in one place, before anything is queued.

Every violation in a request is reported at once (one error with all field
violations), named by the core's field names (`inputs[3]`, `dimensions`), which each
front maps to its own paths, so a client fixes its request in one round trip. The one
check that needs the tokenizer (too many tokens) happens on the model's worker, where
the text is tokenised anyway; the engine raises it with the numbers and the
application's work names the input (service.app.work).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.core.errors import FieldViolation, InvalidArgumentError
from service.core.requests import DecodeCall, EmbedCall, RerankCall, TokenizeCall
from router.types import GgufDescription
from service.core.values import MIN_DIMENSIONS, Chunking


@dataclass(frozen=True)
class Limits:
    max_inputs: int
    max_chars: int
    """Characters per text (input, query, document or instruction)."""
    max_request_chars: int
    """Characters of all the texts of one message together."""
    max_response_bytes: int
    """The largest answer the front can send; a request whose answer would be larger is refused."""


FLOAT_BYTES = 4
EMBEDDING_OVERHEAD_BYTES = 32
"""Index, dimensions, token count and field tags of one embedding in an answer."""
TOKEN_BYTES = 8
"""A token id (a varint of up to 5 bytes) and its piece's tag and length, per token returned;
the piece's own bytes come on top."""


MIN_CHUNK_TOKENS = 16
"""The smallest chunk asked for: one character may take several byte tokens, and a chunk holds at least one."""


def validate_embed(call: EmbedCall, limits: Limits, description: GgufDescription) -> None:
    violations = _texts("inputs", call.inputs, limits) + _instruction(call.options.instruction, limits)
    violations += _chunking(call.chunking)
    violations += _request_size("inputs", call.inputs, call.options.instruction, limits)
    dims = call.options.dimensions
    if dims is not None and dims > description.hidden_size:
        violations.append(
            FieldViolation(
                "dimensions", f"{dims} is more than the {description.hidden_size} dimensions of {description.model_id}"
            )
        )
    elif dims is not None and dims < MIN_DIMENSIONS:
        violations.append(
            FieldViolation(
                "dimensions", f"{dims} is fewer than {MIN_DIMENSIONS}, the smallest Matryoshka cut; leave dimensions out "
                f"for all {description.hidden_size}"
            )
        )
    elif call.encoding == "float32":
        answer = len(call.inputs) * ((dims or description.hidden_size) * FLOAT_BYTES + EMBEDDING_OVERHEAD_BYTES)
        violations += _answer_size("inputs", answer, limits, "send fewer inputs per call, or ask for fewer dimensions")
    _raise_if_any(violations)


def _chunking(chunking: Chunking) -> list[FieldViolation]:
    """What can be said of the chunking options before the model's vocabulary splits anything
    (whether a size fits the context is the model's to say: service.app.work.ChunkWork)."""
    violations = []
    if chunking.mode == "none" and (chunking.size or chunking.overlap):
        violations.append(FieldViolation("chunking.mode", "a chunk size or overlap needs chunking mean or chunks"))
    if chunking.size and chunking.size < MIN_CHUNK_TOKENS:
        violations.append(FieldViolation("chunking.size", f"{chunking.size} tokens; at least {MIN_CHUNK_TOKENS}"))
    elif chunking.size and chunking.overlap >= chunking.size:
        violations.append(
            FieldViolation("chunking.overlap", f"{chunking.overlap} tokens; it must be less than the chunk size, {chunking.size}")
        )
    return violations


def validate_embed_tokens(call: EmbedCall, limits: Limits, description: GgufDescription) -> None:
    """Embed's rules but the answer's size, which depends on the token counts (`validate_token_answer`);
    chunking has no meaning for token vectors."""
    if call.chunking.mode != "none":
        raise InvalidArgumentError.for_field("chunking.mode", "token vectors take no chunking: every token has its vector")
    validate_embed(replace(call, encoding="int8"), limits, description)


def validate_embed_sparse(call: EmbedCall, limits: Limits, description: GgufDescription) -> None:
    """Token vectors' rules, on a model that has BGE-M3's sparse head."""
    if "sparse" not in description.outputs:
        raise InvalidArgumentError.for_field(
            "model",
            f"{description.model_id} has no sparse head: sparse (lexical) weights need a model converted with "
            "BGE-M3's sparse_linear.pt (service.prepare.hf2gguf.convert_xlm_roberta)",
        )
    validate_embed_tokens(call, limits, description)


def validate_token_answer(call: EmbedCall, n_vectors: int, limits: Limits, description: GgufDescription) -> None:
    """The answer with a vector per token within the message limit; checked once the inputs are
    tokenised, before they are decoded (service.app.work.EmbedTokensWork)."""
    if call.encoding != "float32":
        return
    answer = n_vectors * ((call.options.dimensions or description.hidden_size) * FLOAT_BYTES + EMBEDDING_OVERHEAD_BYTES)
    _raise_if_any(_answer_size("inputs", answer, limits, "send fewer or shorter inputs, or ask for fewer dimensions"))


def validate_chunks(call: EmbedCall, n_chunks: int, limits: Limits, description: GgufDescription) -> None:
    """The answer with every chunk's vector (chunking `chunks`) within the message limit."""
    if call.chunking.mode != "chunks" or call.encoding != "float32":
        return
    vectors = len(call.inputs) + n_chunks
    answer = vectors * ((call.options.dimensions or description.hidden_size) * FLOAT_BYTES + EMBEDDING_OVERHEAD_BYTES)
    _raise_if_any(_answer_size("inputs", answer, limits, "ask for larger chunks, fewer dimensions or chunking mean"))


def validate_rerank(call: RerankCall, limits: Limits, *, index_offset: int = 0, header: bool = False) -> None:
    """`index_offset`: the index of documents[0] in the whole request (a stream's later chunks);
    `header`: the first message of a stream, which may carry no documents."""
    violations = []
    if not call.query.strip():
        violations.append(FieldViolation("query", "the query is empty"))
    elif len(call.query) > limits.max_chars:
        violations.append(FieldViolation("query", _too_many_chars(len(call.query), limits)))
    violations += _instruction(call.instruction, limits)
    if call.documents or not header:
        violations += _texts("documents", call.documents, limits, index_offset)
        violations += _request_size("documents", [call.query, *call.documents], call.instruction, limits)
    _raise_if_any(violations)


def validate_top_n(call: RerankCall) -> None:
    """A unary Rerank's top_n beyond its documents is a client bug (a stream's top_n spans all chunks)."""
    if call.top_n > len(call.documents):
        raise InvalidArgumentError.for_field(
            "top_n", f"top_n is {call.top_n} but there are {len(call.documents)} documents; 0 returns all"
        )


def validate_tokenize(call: TokenizeCall, limits: Limits, description: GgufDescription) -> None:
    violations = _texts("inputs", call.inputs, limits) + _instruction(call.instruction, limits)
    if description.kind == "reranker" and not call.query.strip():
        violations.append(FieldViolation("query", "a reranker counts query+document pairs: set query"))
    elif len(call.query) > limits.max_chars:
        violations.append(FieldViolation("query", _too_many_chars(len(call.query), limits)))
    violations += _request_size("inputs", [call.query, *call.inputs], call.instruction, limits)
    if call.return_tokens:
        # Every byte of UTF-8 can be a token (byte-level BPE), each with its id and piece in the answer.
        answer = sum((TOKEN_BYTES + 1) * len(t.encode("utf-8", "surrogatepass")) for t in call.inputs)
        violations += _answer_size("return_tokens", answer, limits, "ask for fewer inputs, or for counts only")
    _raise_if_any(violations)


def _instruction(instruction: str | None, limits: Limits) -> list[FieldViolation]:
    if instruction is not None and len(instruction) > limits.max_chars:
        return [FieldViolation("instruction", _too_many_chars(len(instruction), limits))]
    return []


def _request_size(name: str, texts: list[str], instruction: str | None, limits: Limits) -> list[FieldViolation]:
    total = sum(len(t) for t in texts) + len(instruction or "")
    if total > limits.max_request_chars:
        return [FieldViolation(name, f"{total} characters in all; at most {limits.max_request_chars} per message")]
    return []


def _answer_size(name: str, answer_bytes: int, limits: Limits, advice: str) -> list[FieldViolation]:
    if answer_bytes > limits.max_response_bytes:
        return [
            FieldViolation(
                name,
                f"the answer would take up to {answer_bytes} bytes, more than the {limits.max_response_bytes}-byte "
                f"message limit; {advice}",
            )
        ]
    return []


def validate_decode(call: DecodeCall, limits: Limits, description: GgufDescription) -> None:
    """Token ids must be in the model's vocabulary; an id list counts like a text against the limits."""
    if not call.token_ids:
        _raise_if_any([FieldViolation("inputs", "at least one entry is required in inputs")])
    if len(call.token_ids) > limits.max_inputs:
        _raise_if_any([FieldViolation("inputs", f"{len(call.token_ids)} entries; at most {limits.max_inputs} per message")])
    violations = []
    for i, ids in enumerate(call.token_ids):
        bad = [t for t in ids if not 0 <= t < description.vocab_size]
        if not ids:
            violations.append(FieldViolation(f"inputs[{i}]", "empty token list"))
        elif len(ids) > limits.max_chars:
            violations.append(FieldViolation(f"inputs[{i}]", f"{len(ids)} tokens; at most {limits.max_chars} per input"))
        elif bad:
            violations.append(
                FieldViolation(
                    f"inputs[{i}]", f"token id {bad[0]} is outside the vocabulary of {description.model_id} (0..{description.vocab_size - 1})"
                )
            )
    _raise_if_any(violations)


def _texts(name: str, texts: list[str], limits: Limits, offset: int = 0) -> list[FieldViolation]:
    if not texts:
        return [FieldViolation(name, f"at least one entry is required in {name}")]
    if len(texts) > limits.max_inputs:
        return [FieldViolation(name, f"{len(texts)} entries; at most {limits.max_inputs} per message")]
    violations = []
    for i, text in enumerate(texts, start=offset):
        if not text.strip():
            violations.append(FieldViolation(f"{name}[{i}]", "empty text"))
        elif len(text) > limits.max_chars:
            violations.append(FieldViolation(f"{name}[{i}]", _too_many_chars(len(text), limits)))
    return violations


def _too_many_chars(n: int, limits: Limits) -> str:
    return f"{n} characters; at most {limits.max_chars} per text"


def _raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        summary = violations[0].description if len(violations) == 1 else f"{len(violations)} invalid fields"
        raise InvalidArgumentError(summary, violations)
