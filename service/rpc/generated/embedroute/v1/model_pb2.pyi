from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_KIND_UNSPECIFIED: _ClassVar[ModelKind]
    MODEL_KIND_EMBEDDING: _ClassVar[ModelKind]
    MODEL_KIND_RERANKER: _ClassVar[ModelKind]

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_LOADING: _ClassVar[ModelState]
    MODEL_STATE_READY: _ClassVar[ModelState]
    MODEL_STATE_FAILED: _ClassVar[ModelState]

class Device(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_UNSPECIFIED: _ClassVar[Device]
    DEVICE_CPU: _ClassVar[Device]
    DEVICE_GPU: _ClassVar[Device]
MODEL_KIND_UNSPECIFIED: ModelKind
MODEL_KIND_EMBEDDING: ModelKind
MODEL_KIND_RERANKER: ModelKind
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_LOADING: ModelState
MODEL_STATE_READY: ModelState
MODEL_STATE_FAILED: ModelState
DEVICE_UNSPECIFIED: Device
DEVICE_CPU: Device
DEVICE_GPU: Device

class GgufFile(_message.Message):
    __slots__ = ("file_name", "quant", "size_bytes", "bits_per_weight", "parameters")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    QUANT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BITS_PER_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    quant: str
    size_bytes: int
    bits_per_weight: float
    parameters: int
    def __init__(self, file_name: _Optional[str] = ..., quant: _Optional[str] = ..., size_bytes: _Optional[int] = ..., bits_per_weight: _Optional[float] = ..., parameters: _Optional[int] = ...) -> None: ...

class Placement(_message.Message):
    __slots__ = ("device", "gpu_layers", "total_layers", "threads", "step_tokens", "query_step_tokens", "max_sequences", "flash_attention", "kv_layout", "load_mode")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GPU_LAYERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LAYERS_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    STEP_TOKENS_FIELD_NUMBER: _ClassVar[int]
    QUERY_STEP_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    FLASH_ATTENTION_FIELD_NUMBER: _ClassVar[int]
    KV_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    LOAD_MODE_FIELD_NUMBER: _ClassVar[int]
    device: Device
    gpu_layers: int
    total_layers: int
    threads: int
    step_tokens: int
    query_step_tokens: int
    max_sequences: int
    flash_attention: bool
    kv_layout: str
    load_mode: str
    def __init__(self, device: _Optional[_Union[Device, str]] = ..., gpu_layers: _Optional[int] = ..., total_layers: _Optional[int] = ..., threads: _Optional[int] = ..., step_tokens: _Optional[int] = ..., query_step_tokens: _Optional[int] = ..., max_sequences: _Optional[int] = ..., flash_attention: _Optional[bool] = ..., kv_layout: _Optional[str] = ..., load_mode: _Optional[str] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("file", "placement", "estimated_bytes", "fits", "reason", "chosen")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    file: GgufFile
    placement: Placement
    estimated_bytes: int
    fits: bool
    reason: str
    chosen: bool
    def __init__(self, file: _Optional[_Union[GgufFile, _Mapping]] = ..., placement: _Optional[_Union[Placement, _Mapping]] = ..., estimated_bytes: _Optional[int] = ..., fits: _Optional[bool] = ..., reason: _Optional[str] = ..., chosen: _Optional[bool] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "kind", "state", "dimensions", "context_length", "trained_context_length", "pooling", "architecture", "file", "placement", "reason", "candidates", "degraded", "error", "hardware", "serves_rerank_by_cosine", "vector_space_id", "pooling_source", "outputs", "token_vector_space_id", "sparse_vector_space_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TRAINED_CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    POOLING_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    SERVES_RERANK_BY_COSINE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    POOLING_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPARSE_VECTOR_SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: ModelKind
    state: ModelState
    dimensions: int
    context_length: int
    trained_context_length: int
    pooling: str
    architecture: str
    file: GgufFile
    placement: Placement
    reason: str
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    degraded: bool
    error: str
    hardware: str
    serves_rerank_by_cosine: bool
    vector_space_id: str
    pooling_source: str
    outputs: _containers.RepeatedScalarFieldContainer[str]
    token_vector_space_id: str
    sparse_vector_space_id: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., state: _Optional[_Union[ModelState, str]] = ..., dimensions: _Optional[int] = ..., context_length: _Optional[int] = ..., trained_context_length: _Optional[int] = ..., pooling: _Optional[str] = ..., architecture: _Optional[str] = ..., file: _Optional[_Union[GgufFile, _Mapping]] = ..., placement: _Optional[_Union[Placement, _Mapping]] = ..., reason: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., degraded: _Optional[bool] = ..., error: _Optional[str] = ..., hardware: _Optional[str] = ..., serves_rerank_by_cosine: _Optional[bool] = ..., vector_space_id: _Optional[str] = ..., pooling_source: _Optional[str] = ..., outputs: _Optional[_Iterable[str]] = ..., token_vector_space_id: _Optional[str] = ..., sparse_vector_space_id: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: Model
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ...) -> None: ...
