"""A `multipart/form-data` body read as it arrives: one file part streamed out, small fields kept.

python-multipart's push parser is fed each piece of the request body; the file part's bytes are
handed on after every piece (`take`), so an upload of any size holds one piece in memory. Other
fields (OpenAI's `purpose`) are kept, each up to MAX_FIELD_BYTES.
"""

from __future__ import annotations

from python_multipart.multipart import MultipartParser, parse_options_header

from service.core.errors import InvalidArgumentError

MAX_FIELD_BYTES = 4096


def boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    found = options.get(b"boundary")
    if kind != b"multipart/form-data" or not found:
        raise InvalidArgumentError.for_field("file", "send the file as multipart/form-data (a `file` and a `purpose` field)")
    return found


class FormReader:
    def __init__(self, content_type: str, file_field: str = "file") -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        """Set once the file part's headers are read."""
        self._file_field = file_field.encode()
        self._pending: list[bytes] = []
        self._header = [b"", b""]
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._in_file = False
        self._value = bytearray()
        self._parser = MultipartParser(boundary(content_type), callbacks={
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add_header(0, d[s:e]),
            "on_header_value": lambda d, s, e: self._add_header(1, d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        })

    def feed(self, piece: bytes) -> None:
        try:
            self._parser.write(piece)
        except InvalidArgumentError:
            raise
        except Exception as exc:  # python-multipart's parse errors: the caller's body is malformed
            raise InvalidArgumentError.for_field("file", f"the multipart body is malformed: {str(exc)[:200]}") from None

    def take(self) -> list[bytes]:
        """The file's bytes parsed since the last call."""
        pieces, self._pending = self._pending, []
        return pieces

    def finish(self) -> None:
        self._parser.finalize()
        if self.filename is None:
            raise InvalidArgumentError.for_field("file", "the body has no `file` part")

    def _begin(self) -> None:
        self._headers = {}
        self._name = b""
        self._in_file = False
        self._value = bytearray()

    def _add_header(self, which: int, data: bytes) -> None:
        self._header[which] += data
        if len(self._header[which]) > MAX_FIELD_BYTES:
            raise InvalidArgumentError.for_field("file", "a multipart header is too long")

    def _header_end(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"")
        if self._name == self._file_field:
            self._in_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise InvalidArgumentError.for_field(self._name.decode("utf-8", "replace")[:40],
                                                 f"a form field is over {MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        if not self._in_file and self._name:
            self.fields[self._name.decode("utf-8", "replace")] = self._value.decode("utf-8", "replace")


__all__ = ["FormReader", "boundary"]
