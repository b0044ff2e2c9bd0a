from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Scoring(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORING_UNSPECIFIED: _ClassVar[Scoring]
    SCORING_RERANKER: _ClassVar[Scoring]
    SCORING_COSINE: _ClassVar[Scoring]
    SCORING_MAXSIM: _ClassVar[Scoring]
    SCORING_HYBRID: _ClassVar[Scoring]
SCORING_UNSPECIFIED: Scoring
SCORING_RERANKER: Scoring
SCORING_COSINE: Scoring
SCORING_MAXSIM: Scoring
SCORING_HYBRID: Scoring

class RerankRequest(_message.Message):
    __slots__ = ("model", "query", "documents", "top_n", "instruction", "return_documents", "truncate", "scoring", "best_chunk", "hybrid_weights")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    RETURN_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    BEST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    HYBRID_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    query: str
    documents: _containers.RepeatedScalarFieldContainer[str]
    top_n: int
    instruction: str
    return_documents: bool
    truncate: bool
    scoring: Scoring
    best_chunk: bool
    hybrid_weights: HybridWeights
    def __init__(self, model: _Optional[str] = ..., query: _Optional[str] = ..., documents: _Optional[_Iterable[str]] = ..., top_n: _Optional[int] = ..., instruction: _Optional[str] = ..., return_documents: _Optional[bool] = ..., truncate: _Optional[bool] = ..., scoring: _Optional[_Union[Scoring, str]] = ..., best_chunk: _Optional[bool] = ..., hybrid_weights: _Optional[_Union[HybridWeights, _Mapping]] = ...) -> None: ...

class HybridWeights(_message.Message):
    __slots__ = ("dense", "sparse", "colbert")
    DENSE_FIELD_NUMBER: _ClassVar[int]
    SPARSE_FIELD_NUMBER: _ClassVar[int]
    COLBERT_FIELD_NUMBER: _ClassVar[int]
    dense: float
    sparse: float
    colbert: float
    def __init__(self, dense: _Optional[float] = ..., sparse: _Optional[float] = ..., colbert: _Optional[float] = ...) -> None: ...

class RerankResult(_message.Message):
    __slots__ = ("index", "score", "document", "prompt_tokens", "truncated", "chunks", "best_start", "best_end")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    BEST_START_FIELD_NUMBER: _ClassVar[int]
    BEST_END_FIELD_NUMBER: _ClassVar[int]
    index: int
    score: float
    document: str
    prompt_tokens: int
    truncated: bool
    chunks: int
    best_start: int
    best_end: int
    def __init__(self, index: _Optional[int] = ..., score: _Optional[float] = ..., document: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., truncated: _Optional[bool] = ..., chunks: _Optional[int] = ..., best_start: _Optional[int] = ..., best_end: _Optional[int] = ...) -> None: ...

class RerankResponse(_message.Message):
    __slots__ = ("model", "results", "usage", "scoring")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    model: str
    results: _containers.RepeatedCompositeFieldContainer[RerankResult]
    usage: _common_pb2.Usage
    scoring: Scoring
    def __init__(self, model: _Optional[str] = ..., results: _Optional[_Iterable[_Union[RerankResult, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., scoring: _Optional[_Union[Scoring, str]] = ...) -> None: ...

class RerankStreamRequest(_message.Message):
    __slots__ = ("model", "query", "instruction", "top_n", "return_documents", "truncate", "documents", "scoring", "best_chunk", "hybrid_weights")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    RETURN_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    BEST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    HYBRID_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    query: str
    instruction: str
    top_n: int
    return_documents: bool
    truncate: bool
    documents: _containers.RepeatedScalarFieldContainer[str]
    scoring: Scoring
    best_chunk: bool
    hybrid_weights: HybridWeights
    def __init__(self, model: _Optional[str] = ..., query: _Optional[str] = ..., instruction: _Optional[str] = ..., top_n: _Optional[int] = ..., return_documents: _Optional[bool] = ..., truncate: _Optional[bool] = ..., documents: _Optional[_Iterable[str]] = ..., scoring: _Optional[_Union[Scoring, str]] = ..., best_chunk: _Optional[bool] = ..., hybrid_weights: _Optional[_Union[HybridWeights, _Mapping]] = ...) -> None: ...

class RerankStreamResponse(_message.Message):
    __slots__ = ("model", "chunk", "results", "usage", "final", "scoring")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    model: str
    chunk: int
    results: _containers.RepeatedCompositeFieldContainer[RerankResult]
    usage: _common_pb2.Usage
    final: bool
    scoring: Scoring
    def __init__(self, model: _Optional[str] = ..., chunk: _Optional[int] = ..., results: _Optional[_Iterable[_Union[RerankResult, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., final: _Optional[bool] = ..., scoring: _Optional[_Union[Scoring, str]] = ...) -> None: ...
