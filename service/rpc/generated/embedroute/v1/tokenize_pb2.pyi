from . import common_pb2 as _common_pb2
from . import embed_pb2 as _embed_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TokenizeRequest(_message.Message):
    __slots__ = ("model", "inputs", "input_type", "instruction", "query", "return_tokens", "chunking")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    RETURN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    input_type: _common_pb2.InputType
    instruction: str
    query: str
    return_tokens: bool
    chunking: _embed_pb2.Chunking
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., input_type: _Optional[_Union[_common_pb2.InputType, str]] = ..., instruction: _Optional[str] = ..., query: _Optional[str] = ..., return_tokens: _Optional[bool] = ..., chunking: _Optional[_Union[_embed_pb2.Chunking, _Mapping]] = ...) -> None: ...

class ChunkSpan(_message.Message):
    __slots__ = ("start", "end", "input_tokens")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    input_tokens: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., input_tokens: _Optional[int] = ...) -> None: ...

class TokenizedInput(_message.Message):
    __slots__ = ("index", "prompt_tokens", "input_tokens", "would_truncate", "kept_input_tokens", "kept_text", "token_ids", "pieces", "chunks")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WOULD_TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    KEPT_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    KEPT_TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    PIECES_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    index: int
    prompt_tokens: int
    input_tokens: int
    would_truncate: bool
    kept_input_tokens: int
    kept_text: str
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    pieces: _containers.RepeatedScalarFieldContainer[str]
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkSpan]
    def __init__(self, index: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., input_tokens: _Optional[int] = ..., would_truncate: _Optional[bool] = ..., kept_input_tokens: _Optional[int] = ..., kept_text: _Optional[str] = ..., token_ids: _Optional[_Iterable[int]] = ..., pieces: _Optional[_Iterable[str]] = ..., chunks: _Optional[_Iterable[_Union[ChunkSpan, _Mapping]]] = ...) -> None: ...

class TokenizeResponse(_message.Message):
    __slots__ = ("model", "context_length", "results", "usage")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    model: str
    context_length: int
    results: _containers.RepeatedCompositeFieldContainer[TokenizedInput]
    usage: _common_pb2.Usage
    def __init__(self, model: _Optional[str] = ..., context_length: _Optional[int] = ..., results: _Optional[_Iterable[_Union[TokenizedInput, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...
