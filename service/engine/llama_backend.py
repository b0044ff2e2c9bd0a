"""A thin, owned wrapper over llama.cpp's low-level C API for batched pooled outputs.

`Llama.embed()` is unfit for a service (it parses special tokens in user text, its
truncation cuts the final EOS, and it packs every sequence into one attention block),
so this talks to llama.cpp directly: it fills a `llama_batch` with pieces of several
sequences, decodes once, and reads the pooled vector, last hidden state or logits of each
sequence that ended in that decode. Which pieces go together is the Stepper's business
(service/engine/stepper.py).

Causal models (Qwen3) are read through a *hidden-state tap*: an embedding context makes
llama.cpp output every token and run the vocabulary head over each (0.3 GFLOP a token
and a vocab-sized output row per token for Qwen3-0.6B), although last-token pooling
needs one row per sequence. With embeddings off and only each sequence's last token
marked as output, the final layers run on those rows alone, and a graph callback copies
the final-norm activations (`result_norm`) out as they are computed.

Token vectors (every token's final hidden state, TEI's `/embed_all`) come from the same
context, not a second one: a second context would hold a second KV cache and compute buffers
for a rarely used output. A piece marked `every` has all its tokens marked as outputs; a causal
model's tap then copies `result_norm` for each of them, and an encoder's tap, armed only for a
decode that has such a piece, copies `result_embd` (the last layer's output, what pooling
averages) beside the pooled vectors llama.cpp computes anyway.

Not thread-safe: one thread at a time per instance (the scheduler guarantees it).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import llama_cpp
import numpy as np
import numpy.typing as npt

from service.core.errors import EngineError

_init_lock = threading.Lock()
_initialised = False


def _ignore_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """llama.cpp logs every tensor at load; the service reports what matters itself."""


_quiet_log = llama_cpp.llama_log_callback(_ignore_log)


def ensure_backend() -> None:
    global _initialised
    with _init_lock:
        if not _initialised:
            llama_cpp.llama_backend_init()
            if not os.environ.get("EMBEDROUTE_LLAMA_LOG"):
                llama_cpp.llama_log_set(_quiet_log, ctypes.c_void_p())
            _initialised = True


class ModelLoadError(EngineError):
    reason = "MODEL_LOAD_FAILED"


def library_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder llama-cpp-python loads libllama from: `LLAMA_CPP_LIB_PATH` when set (how a user
    brings a build of their own, e.g. with CUDA), else the `lib` folder it installed. libggml-base,
    which the tap needs, is built beside libllama, and must come from the same build."""
    override = environ.get("LLAMA_CPP_LIB_PATH")
    return Path(override) if override else Path(llama_cpp.__file__).parent / "lib"


def _ggml_base() -> ctypes.CDLL:
    folder = library_folder()
    found = sorted(folder.glob("libggml-base.*"))
    if not found:
        raise ModelLoadError(f"no libggml-base library in {folder}, where llama-cpp-python loads libllama from")
    lib = ctypes.CDLL(str(found[0]))
    lib.ggml_get_name.restype = ctypes.c_char_p
    lib.ggml_get_name.argtypes = [ctypes.c_void_p]
    lib.ggml_nbytes.restype = ctypes.c_size_t
    lib.ggml_nbytes.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_tensor_get.restype = None
    lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return lib


class HiddenStateTap:
    """Collects the rows of one named graph tensor from every micro-batch: `result_norm` (a causal
    model's final RMSNorm output) or `result_embd` (an encoder's last layer, before pooling).

    `armed` off, it asks for nothing and the graph runs in one piece, as with no callback."""

    def __init__(self, width: int, tensor: bytes = b"result_norm", *, armed: bool = True) -> None:
        self._lib = _ggml_base()
        self._width = width
        self._tensor = tensor
        self.armed = armed
        self._rows: list[npt.NDArray[np.float32]] = []
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._on_tensor)

    def _on_tensor(self, tensor: int, ask: bool, user_data: int) -> bool:
        is_ours = self.armed and self._lib.ggml_get_name(tensor) == self._tensor
        if ask or not is_ours:
            return is_ours if ask else True
        size = int(self._lib.ggml_nbytes(tensor))
        if size:
            rows = np.empty(size // 4, dtype=np.float32)
            self._lib.ggml_backend_tensor_get(tensor, rows.ctypes.data, 0, size)
            self._rows.append(rows.reshape(-1, self._width))
        return True

    def start(self) -> None:
        self._rows.clear()

    def take(self, n_rows: int) -> npt.NDArray[np.float32]:
        rows = np.concatenate(self._rows) if self._rows else np.empty((0, self._width), np.float32)
        self._rows.clear()
        if rows.shape[0] != n_rows:
            raise EngineError(f"expected {n_rows} hidden states from llama.cpp, got {rows.shape[0]}")
        return rows


Output = Literal["pooled", "hidden", "logits"]


@dataclass(frozen=True)
class Piece:
    """Consecutive tokens of one sequence for one decode, at positions `start`, `start + 1`, ...

    A causal sequence may be split over several decodes: its KV cells (in `slot`) carry
    the earlier pieces until the sequence is released.
    """

    slot: int
    tokens: Sequence[int]
    start: int
    last: bool
    """The sequence ends with this piece: its last token is an output."""
    shared_with: tuple[int, ...] = ()
    """Other slots whose sequences start with these same tokens: the cells are theirs as well."""
    every: bool = False
    """Every token is an output: the piece's hidden states come back (token vectors)."""


@dataclass(frozen=True)
class Decoded:
    """What one decode gave: a row per piece that ended its sequence and, per piece, its tokens'
    hidden states where it asked for them (`Piece.every`; None elsewhere)."""

    rows: npt.NDArray[np.float32]
    states: list[npt.NDArray[np.float32] | None]


class LlamaRuntime:
    """One loaded model and one context sized for `n_ctx` tokens per decode."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_seq_max: int,
        n_batch: int,
        n_threads: int,
        n_gpu_layers: int,
        pooling: int,
        embeddings: bool,
        tap_hidden: bool,
        flash_attn: bool,
        mmap: bool,
    ) -> None:
        ensure_backend()
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        # On a CPU, read, not mmap: on x86 llama.cpp repacks K-quant weights into its own buffers at
        # load, and a mapping it read them through stayed resident beside the copy (Q4_K_M 0.6B:
        # 203 MiB more RSS, none of it used again). With layers on a GPU, reading crashed llama.cpp
        # (SIGSEGV in llama_model_load_from_file on an H200) where mmap loads and serves.
        mparams.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP if mmap else llama_cpp.LLAMA_LOAD_MODE_NONE
        self.load_mode = "mmap" if mmap else "read"
        self._model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not self._model:
            raise ModelLoadError(f"llama.cpp could not load {path.name}")
        width = int(llama_cpp.llama_model_n_embd(self._model))
        # An encoder's tap stays disarmed but for decodes with token vectors.
        self._tap = (
            HiddenStateTap(width)
            if tap_hidden
            else HiddenStateTap(width, b"result_embd", armed=False)
            if embeddings
            else None
        )
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        # One micro-batch per decode: the Stepper sizes decodes, so llama.cpp never splits one.
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_seq_max
        cparams.n_threads = n_threads
        cparams.n_threads_batch = n_threads
        cparams.embeddings = embeddings
        cparams.pooling_type = pooling
        cparams.kv_unified = True
        cparams.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        if self._tap is not None:
            cparams.cb_eval = self._tap.callback
        self._ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            llama_cpp.llama_model_free(self._model)
            raise ModelLoadError(f"llama.cpp could not create a context for {path.name} (n_ctx={n_ctx})")
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self.n_ctx = int(llama_cpp.llama_n_ctx(self._ctx))
        self.n_batch = int(llama_cpp.llama_n_batch(self._ctx))
        self.n_seq_max = int(llama_cpp.llama_n_seq_max(self._ctx))
        self.flash_attn = flash_attn
        self.n_embd = int(llama_cpp.llama_model_n_embd(self._model))
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._encoder_only = bool(
            llama_cpp.llama_model_has_encoder(self._model) and not llama_cpp.llama_model_has_decoder(self._model)
        )
        self.output: Output = "pooled" if embeddings else "hidden" if tap_hidden else "logits"
        self._batch = _Batch(self.n_batch, self.n_seq_max)

    @property
    def splits_sequences(self) -> bool:
        """Whether a sequence may be decoded in several pieces (causal attention over its KV cells)."""
        return self.output != "pooled"

    @property
    def eos_id(self) -> int:
        return int(llama_cpp.llama_vocab_eos(self._vocab))

    def tokenize(self, text: str, *, special: bool, add_special: bool = False) -> list[int]:
        raw = text.encode("utf-8")
        capacity = len(raw) + 8
        buf = (llama_cpp.llama_token * capacity)()
        n = llama_cpp.llama_tokenize(self._vocab, raw, len(raw), buf, capacity, add_special, special)
        if n < 0:
            capacity = -n
            buf = (llama_cpp.llama_token * capacity)()
            n = llama_cpp.llama_tokenize(self._vocab, raw, len(raw), buf, capacity, add_special, special)
        return list(buf[:n])

    def is_control(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_control(self._vocab, token))

    def is_special(self, token: int) -> bool:
        """A control token (`<s>`, `</s>`, `<pad>`) or the unknown token: what lexical weights leave out."""
        attr = int(llama_cpp.llama_vocab_get_attr(self._vocab, token))
        return bool(attr & (llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN))

    def detokenize(self, tokens: Sequence[int], special: bool = True) -> str:
        """`special`: control tokens spelled out (`<|endoftext|>`); off, they spell nothing."""
        arr = (llama_cpp.llama_token * max(len(tokens), 1))(*tokens)
        capacity = 16 * len(tokens) + 16
        buf = ctypes.create_string_buffer(capacity)
        n = llama_cpp.llama_detokenize(self._vocab, arr, len(tokens), buf, capacity, False, special)
        if n < 0:
            capacity = -n
            buf = ctypes.create_string_buffer(capacity)
            n = llama_cpp.llama_detokenize(self._vocab, arr, len(tokens), buf, capacity, False, special)
        return buf.raw[:n].decode("utf-8", errors="replace")

    def decode(self, pieces: Sequence[Piece], logit_ids: Sequence[int] = ()) -> Decoded:
        """Runs one llama_decode over `pieces`; one output row per piece that ends its sequence.

        A row is the pooled vector (encoders), the final-norm hidden state at the last token
        (the tap) or, for a context without either, the logits of `logit_ids` there.
        """
        finals = [piece for piece in pieces if piece.last]
        every = any(piece.every for piece in pieces)
        if every and self._tap is None:
            raise EngineError("this context reads no hidden states: it has no token vectors")
        if self.output == "pooled":
            if any(piece.start or not piece.last for piece in pieces):
                raise EngineError("an encoder sees each sequence whole, in one decode")
            self.clear()
        if self._tap is not None:
            self._tap.start()
            if self.output == "pooled":
                self._tap.armed = every
        positions = self._fill(pieces, all_outputs=self.output == "pooled")
        run = llama_cpp.llama_encode if self._encoder_only else llama_cpp.llama_decode
        rc = run(self._ctx, self._batch.struct)
        if rc != 0:
            raise EngineError(f"llama.cpp decode failed with code {rc}")
        if self.output == "hidden":
            return self._split_tapped(pieces)
        states: list[npt.NDArray[np.float32] | None] = [None] * len(pieces)
        if every:
            assert self._tap is not None
            tapped = self._tap.take(sum(len(piece.tokens) for piece in pieces))
            at = 0
            for index, piece in enumerate(pieces):
                if piece.every:
                    states[index] = tapped[at : at + len(piece.tokens)]
                at += len(piece.tokens)
        if self.output == "pooled":
            rows = np.stack([self._pooled_row(piece.slot) for piece in finals]) if finals else self._no_rows(self.n_embd)
            return Decoded(rows, states)
        picks = list(logit_ids)
        logits = [self._logits_row(position)[picks] for position in positions]
        return Decoded(np.stack(logits) if logits else self._no_rows(len(picks)), states)

    def _split_tapped(self, pieces: Sequence[Piece]) -> Decoded:
        """The tap's rows, in batch order: all of an `every` piece's tokens, the last of a final one."""
        assert self._tap is not None
        counts = [len(piece.tokens) if piece.every else int(piece.last) for piece in pieces]
        tapped = self._tap.take(sum(counts))
        finals: list[npt.NDArray[np.float32]] = []
        states: list[npt.NDArray[np.float32] | None] = []
        at = 0
        for piece, n in zip(pieces, counts, strict=True):
            states.append(tapped[at : at + n] if piece.every else None)
            if piece.last:
                finals.append(tapped[at + n - 1])
            at += n
        return Decoded(np.stack(finals) if finals else self._no_rows(self.n_embd), states)

    def share(self, source: int, slot: int, start: int, end: int) -> None:
        """Gives `slot` the cells of `source` at positions [start, end): on the unified cache the
        cells gain one more owner, nothing is copied (llama_memory_seq_cp)."""
        llama_cpp.llama_memory_seq_cp(llama_cpp.llama_get_memory(self._ctx), source, slot, start, end)

    def trim(self, slot: int, start: int) -> None:
        """Frees the cells of `slot` from position `start` on; the sequence continues from there."""
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self._ctx), slot, start, -1)

    def release(self, slot: int) -> None:
        """Frees the KV cells of a finished sequence so that the slot and its cells can be reused."""
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self._ctx), slot, -1, -1)

    def clear(self) -> None:
        # Forget the cells, keep the bytes: zeroing an 8192-cell cache took 16 ms a call and
        # made all of it resident.
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), False)

    def close(self) -> None:
        if self._ctx:
            llama_cpp.llama_free(self._ctx)
            llama_cpp.llama_model_free(self._model)
            self._ctx = None
            self._model = None

    def _fill(self, pieces: Sequence[Piece], *, all_outputs: bool) -> list[int]:
        """Writes the pieces into the batch; returns the batch index of each final piece's last token."""
        n = sum(len(piece.tokens) for piece in pieces)
        if n > self.n_batch:
            raise EngineError(f"a decode of {n} tokens exceeds the context's batch of {self.n_batch}")
        return self._batch.fill(pieces, n, all_outputs=all_outputs)

    def _pooled_row(self, slot: int) -> npt.NDArray[np.float32]:
        ptr = llama_cpp.llama_get_embeddings_seq(self._ctx, slot)
        if not ptr:
            raise EngineError("llama.cpp returned no pooled output")
        return np.ctypeslib.as_array(ptr, shape=(self.n_embd,)).copy()

    def _logits_row(self, position: int) -> npt.NDArray[np.float32]:
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, position)
        if not ptr:
            raise EngineError("llama.cpp returned no logits")
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    @staticmethod
    def _no_rows(width: int) -> npt.NDArray[np.float32]:
        return np.empty((0, width), dtype=np.float32)


class _Batch:
    """A llama_batch over numpy arrays, filled with a few array operations a step instead of a
    Python loop a token (4,096-token GPU steps spent milliseconds in that loop)."""

    def __init__(self, n_batch: int, n_seq_max: int) -> None:
        self.token = np.zeros(n_batch, np.int32)
        self.pos = np.zeros(n_batch, np.int32)
        self.n_seq_id = np.zeros(n_batch, np.int32)
        # Room for every slot on one token: a shared prefix's tokens belong to all its users.
        self.seq_id = np.zeros((n_batch, n_seq_max), np.int32)
        self.logits = np.zeros(n_batch, np.int8)
        seq_ptr = ctypes.POINTER(llama_cpp.llama_seq_id)
        row = self.seq_id.strides[0]
        base = self.seq_id.ctypes.data
        self._rows = (seq_ptr * (n_batch + 1))(*(ctypes.cast(base + i * row, seq_ptr) for i in range(n_batch)))
        self.struct = llama_cpp.llama_batch(
            n_tokens=0,
            token=self.token.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token)),
            embd=None,
            pos=self.pos.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_pos)),
            n_seq_id=self.n_seq_id.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            seq_id=self._rows,
            logits=self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
        )

    def fill(self, pieces: Sequence[Piece], n: int, *, all_outputs: bool) -> list[int]:
        lengths = np.fromiter((len(piece.tokens) for piece in pieces), np.int64, len(pieces))
        ends = np.cumsum(lengths)
        starts = ends - lengths
        self.token[:n] = np.fromiter((t for piece in pieces for t in piece.tokens), np.int32, n)
        first = np.fromiter((piece.start for piece in pieces), np.int64, len(pieces))
        self.pos[:n] = np.arange(n) + np.repeat(first - starts, lengths)
        self.seq_id[:n, 0] = np.repeat(np.fromiter((piece.slot for piece in pieces), np.int32, len(pieces)), lengths)
        self.n_seq_id[:n] = 1
        for index, piece in enumerate(pieces):
            if piece.shared_with:
                rows = slice(int(starts[index]), int(ends[index]))
                self.n_seq_id[rows] = 1 + len(piece.shared_with)
                self.seq_id[rows, 1 : 1 + len(piece.shared_with)] = piece.shared_with
        finals = [int(end) - 1 for end, piece in zip(ends, pieces) if piece.last]
        self.logits[:n] = all_outputs
        for index, piece in enumerate(pieces):
            if piece.every:
                self.logits[int(starts[index]) : int(ends[index])] = 1
        self.logits[finals] = 1
        self.struct.n_tokens = n
        return finals
