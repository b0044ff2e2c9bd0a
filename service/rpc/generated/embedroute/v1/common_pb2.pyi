from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class InputType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INPUT_TYPE_UNSPECIFIED: _ClassVar[InputType]
    INPUT_TYPE_QUERY: _ClassVar[InputType]
    INPUT_TYPE_DOCUMENT: _ClassVar[InputType]
INPUT_TYPE_UNSPECIFIED: InputType
INPUT_TYPE_QUERY: InputType
INPUT_TYPE_DOCUMENT: InputType

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "queue_time_ns", "tokenization_time_ns", "inference_time_ns", "total_time_ns", "cached_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TOKENIZATION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    queue_time_ns: int
    tokenization_time_ns: int
    inference_time_ns: int
    total_time_ns: int
    cached_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., queue_time_ns: _Optional[int] = ..., tokenization_time_ns: _Optional[int] = ..., inference_time_ns: _Optional[int] = ..., total_time_ns: _Optional[int] = ..., cached_tokens: _Optional[int] = ...) -> None: ...
