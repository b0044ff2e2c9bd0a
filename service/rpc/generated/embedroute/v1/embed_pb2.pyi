from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[Encoding]
    ENCODING_FLOAT32: _ClassVar[Encoding]
    ENCODING_INT8: _ClassVar[Encoding]
    ENCODING_UBINARY: _ClassVar[Encoding]

class ChunkingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHUNKING_MODE_UNSPECIFIED: _ClassVar[ChunkingMode]
    CHUNKING_MODE_NONE: _ClassVar[ChunkingMode]
    CHUNKING_MODE_MEAN: _ClassVar[ChunkingMode]
    CHUNKING_MODE_CHUNKS: _ClassVar[ChunkingMode]
ENCODING_UNSPECIFIED: Encoding
ENCODING_FLOAT32: Encoding
ENCODING_INT8: Encoding
ENCODING_UBINARY: Encoding
CHUNKING_MODE_UNSPECIFIED: ChunkingMode
CHUNKING_MODE_NONE: ChunkingMode
CHUNKING_MODE_MEAN: ChunkingMode
CHUNKING_MODE_CHUNKS: ChunkingMode

class Chunking(_message.Message):
    __slots__ = ("mode", "size", "overlap")
    MODE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    mode: ChunkingMode
    size: int
    overlap: int
    def __init__(self, mode: _Optional[_Union[ChunkingMode, str]] = ..., size: _Optional[int] = ..., overlap: _Optional[int] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("start", "end", "embedding")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    embedding: Embedding
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., embedding: _Optional[_Union[Embedding, _Mapping]] = ...) -> None: ...

class EmbedOptions(_message.Message):
    __slots__ = ("input_type", "instruction", "dimensions", "normalize", "truncate", "encoding", "chunking")
    INPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_FIELD_NUMBER: _ClassVar[int]
    input_type: _common_pb2.InputType
    instruction: str
    dimensions: int
    normalize: bool
    truncate: bool
    encoding: Encoding
    chunking: Chunking
    def __init__(self, input_type: _Optional[_Union[_common_pb2.InputType, str]] = ..., instruction: _Optional[str] = ..., dimensions: _Optional[int] = ..., normalize: _Optional[bool] = ..., truncate: _Optional[bool] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., chunking: _Optional[_Union[Chunking, _Mapping]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("model", "inputs", "options")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    options: EmbedOptions
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[EmbedOptions, _Mapping]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("index", "dimensions", "float_values", "int8_values", "binary_values", "prompt_tokens", "truncated", "int8_scale", "chunks")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUES_FIELD_NUMBER: _ClassVar[int]
    INT8_VALUES_FIELD_NUMBER: _ClassVar[int]
    BINARY_VALUES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    INT8_SCALE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    index: int
    dimensions: int
    float_values: _containers.RepeatedScalarFieldContainer[float]
    int8_values: bytes
    binary_values: bytes
    prompt_tokens: int
    truncated: bool
    int8_scale: float
    chunks: _containers.RepeatedCompositeFieldContainer[Chunk]
    def __init__(self, index: _Optional[int] = ..., dimensions: _Optional[int] = ..., float_values: _Optional[_Iterable[float]] = ..., int8_values: _Optional[bytes] = ..., binary_values: _Optional[bytes] = ..., prompt_tokens: _Optional[int] = ..., truncated: _Optional[bool] = ..., int8_scale: _Optional[float] = ..., chunks: _Optional[_Iterable[_Union[Chunk, _Mapping]]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("model", "embeddings", "usage", "vector_space_id", "dimensions")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    usage: _common_pb2.Usage
    vector_space_id: str
    dimensions: int
    def __init__(self, model: _Optional[str] = ..., embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., vector_space_id: _Optional[str] = ..., dimensions: _Optional[int] = ...) -> None: ...

class EmbedStreamRequest(_message.Message):
    __slots__ = ("id", "model", "input", "options")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    input: str
    options: EmbedOptions
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., input: _Optional[str] = ..., options: _Optional[_Union[EmbedOptions, _Mapping]] = ...) -> None: ...

class EmbedStreamResponse(_message.Message):
    __slots__ = ("id", "model", "embedding", "usage", "vector_space_id", "dimensions")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    embedding: Embedding
    usage: _common_pb2.Usage
    vector_space_id: str
    dimensions: int
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., embedding: _Optional[_Union[Embedding, _Mapping]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., vector_space_id: _Optional[str] = ..., dimensions: _Optional[int] = ...) -> None: ...

class EmbedTokensRequest(_message.Message):
    __slots__ = ("model", "inputs", "options")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    options: EmbedOptions
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[EmbedOptions, _Mapping]] = ...) -> None: ...

class TokenVectors(_message.Message):
    __slots__ = ("index", "token_ids", "vectors", "truncated")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    index: int
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    vectors: _containers.RepeatedCompositeFieldContainer[Embedding]
    truncated: bool
    def __init__(self, index: _Optional[int] = ..., token_ids: _Optional[_Iterable[int]] = ..., vectors: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class EmbedTokensResponse(_message.Message):
    __slots__ = ("model", "inputs", "usage", "vector_space_id", "dimensions")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedCompositeFieldContainer[TokenVectors]
    usage: _common_pb2.Usage
    vector_space_id: str
    dimensions: int
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[TokenVectors, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., vector_space_id: _Optional[str] = ..., dimensions: _Optional[int] = ...) -> None: ...

class EmbedSparseRequest(_message.Message):
    __slots__ = ("model", "inputs", "options", "return_tokens")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RETURN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    options: EmbedOptions
    return_tokens: bool
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[EmbedOptions, _Mapping]] = ..., return_tokens: _Optional[bool] = ...) -> None: ...

class SparseVector(_message.Message):
    __slots__ = ("index", "token_ids", "weights", "tokens", "prompt_tokens", "truncated")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    index: int
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    weights: _containers.RepeatedScalarFieldContainer[float]
    tokens: _containers.RepeatedScalarFieldContainer[str]
    prompt_tokens: int
    truncated: bool
    def __init__(self, index: _Optional[int] = ..., token_ids: _Optional[_Iterable[int]] = ..., weights: _Optional[_Iterable[float]] = ..., tokens: _Optional[_Iterable[str]] = ..., prompt_tokens: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class EmbedSparseResponse(_message.Message):
    __slots__ = ("model", "inputs", "usage", "vector_space_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedCompositeFieldContainer[SparseVector]
    usage: _common_pb2.Usage
    vector_space_id: str
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[SparseVector, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., vector_space_id: _Optional[str] = ...) -> None: ...
