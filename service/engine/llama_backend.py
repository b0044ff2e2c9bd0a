"""A thin, owned wrapper over llama.cpp's low-level C API for batched pooled outputs.

`Llama.embed()` is unfit for a service (it parses special tokens in user text, its
truncation cuts the final EOS, and it packs every sequence into one attention block),
so this talks to llama.cpp directly: it fills a `llama_batch` with several sequences,
decodes once, and reads each sequence's pooled vector, last hidden state or logits.

Causal models (Qwen3) are read through a *hidden-state tap*: an embedding context makes
llama.cpp output every token and run the vocabulary head over each (0.3 GFLOP a token
and a vocab-sized output row per token for Qwen3-0.6B), although last-token pooling
needs one row per sequence. With embeddings off and only each sequence's last token
marked as output, the final layers run on those rows alone, and a graph callback copies
the final-norm activations (`result_norm`) out as they are computed.

Not thread-safe: one thread at a time per instance (the scheduler guarantees it).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt

from service.errors import EngineError

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


def _ggml_base() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
    lib.ggml_get_name.restype = ctypes.c_char_p
    lib.ggml_get_name.argtypes = [ctypes.c_void_p]
    lib.ggml_nbytes.restype = ctypes.c_size_t
    lib.ggml_nbytes.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_tensor_get.restype = None
    lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return lib


class HiddenStateTap:
    """Collects the rows of `result_norm` (the final RMSNorm output) from every micro-batch."""

    TENSOR = b"result_norm"

    def __init__(self, width: int) -> None:
        self._lib = _ggml_base()
        self._width = width
        self._rows: list[npt.NDArray[np.float32]] = []
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._on_tensor)

    def _on_tensor(self, tensor: int, ask: bool, user_data: int) -> bool:
        is_ours = self._lib.ggml_get_name(tensor) == self.TENSOR
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


class LlamaRuntime:
    """One loaded model and one context sized for `n_ctx` tokens per decode."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_seq_max: int,
        n_ubatch: int,
        decode_tokens: int,
        n_threads: int,
        n_gpu_layers: int,
        pooling: int,
        embeddings: bool,
        tap_hidden: bool,
        flash_attn: bool,
    ) -> None:
        ensure_backend()
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        self._model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not self._model:
            raise ModelLoadError(f"llama.cpp could not load {path.name}")
        self._tap = HiddenStateTap(int(llama_cpp.llama_model_n_embd(self._model))) if tap_hidden else None
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_ctx
        cparams.n_ubatch = n_ubatch
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
        self.n_seq_max = int(llama_cpp.llama_n_seq_max(self._ctx))
        # Sequences packed into one decode attend over each other's cells (masked), a cost
        # that grows with the square of the decode; short ones share a decode, long ones
        # get their own.
        self.decode_tokens = min(decode_tokens, self.n_ctx)
        self.n_embd = int(llama_cpp.llama_model_n_embd(self._model))
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._encoder_only = bool(
            llama_cpp.llama_model_has_encoder(self._model) and not llama_cpp.llama_model_has_decoder(self._model)
        )
        self._batch = llama_cpp.llama_batch_init(self.n_ctx, 0, 1)

    @property
    def taps_hidden(self) -> bool:
        return self._tap is not None

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

    def detokenize(self, tokens: Sequence[int]) -> str:
        arr = (llama_cpp.llama_token * max(len(tokens), 1))(*tokens)
        capacity = 16 * len(tokens) + 16
        buf = ctypes.create_string_buffer(capacity)
        n = llama_cpp.llama_detokenize(self._vocab, arr, len(tokens), buf, capacity, False, True)
        if n < 0:
            capacity = -n
            buf = ctypes.create_string_buffer(capacity)
            n = llama_cpp.llama_detokenize(self._vocab, arr, len(tokens), buf, capacity, False, True)
        return buf.raw[:n].decode("utf-8", errors="replace")

    def pooled(self, seqs: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Each sequence's pooled embedding (mean or CLS pooling of an encoder)."""
        width = self.n_embd
        out = np.empty((len(seqs), width), dtype=np.float32)
        for group in self._groups(seqs):
            self._run(seqs, group, all_outputs=True)
            for seq_id, index in enumerate(group):
                ptr = llama_cpp.llama_get_embeddings_seq(self._ctx, seq_id)
                if not ptr:
                    raise EngineError("llama.cpp returned no pooled output")
                out[index] = np.ctypeslib.as_array(ptr, shape=(width,))
        return out

    def last_hidden(self, seqs: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Each sequence's final-norm hidden state at its last token (last-token pooling)."""
        if self._tap is None:
            raise EngineError("this context was not created with the hidden-state tap")
        out = np.empty((len(seqs), self.n_embd), dtype=np.float32)
        for group in self._groups(seqs):
            self._tap.start()
            self._run(seqs, group, all_outputs=False)
            out[group] = self._tap.take(len(group))
        return out

    def last_logits(self, seqs: Sequence[Sequence[int]], token_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The output head's logits for `token_ids` at each sequence's last position."""
        out = np.empty((len(seqs), len(token_ids)), dtype=np.float32)
        picks = list(token_ids)
        for group in self._groups(seqs):
            last_positions = self._run(seqs, group, all_outputs=False)
            for index, position in zip(group, last_positions):
                ptr = llama_cpp.llama_get_logits_ith(self._ctx, position)
                if not ptr:
                    raise EngineError("llama.cpp returned no logits")
                out[index] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))[picks]
        return out

    def close(self) -> None:
        if self._ctx:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            llama_cpp.llama_model_free(self._model)
            self._ctx = None
            self._model = None

    def _groups(self, seqs: Sequence[Sequence[int]]) -> Iterator[list[int]]:
        """Consecutive runs of sequences that fit one decode: n_ctx tokens, n_seq_max sequences."""
        group: list[int] = []
        used = 0
        for index, seq in enumerate(seqs):
            if not 0 < len(seq) <= self.n_ctx:
                raise EngineError(f"sequence of {len(seq)} tokens does not fit a context of {self.n_ctx}")
            if group and (used + len(seq) > self.decode_tokens or len(group) == self.n_seq_max):
                yield group
                group, used = [], 0
            group.append(index)
            used += len(seq)
        if group:
            yield group

    def _run(self, seqs: Sequence[Sequence[int]], group: list[int], *, all_outputs: bool) -> list[int]:
        # Forget the cells, keep the bytes: every decode writes the cells it reads, and zeroing
        # an 8192-cell cache took 16 ms a call and made all of it resident.
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), False)
        batch = self._batch
        n = 0
        last_positions: list[int] = []
        for seq_id, index in enumerate(group):
            seq = seqs[index]
            for pos, token in enumerate(seq):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = all_outputs or pos == len(seq) - 1
                n += 1
            last_positions.append(n - 1)
        batch.n_tokens = n
        run = llama_cpp.llama_encode if self._encoder_only else llama_cpp.llama_decode
        rc = run(self._ctx, batch)
        if rc != 0:
            raise EngineError(f"llama.cpp decode failed with code {rc}")
        return last_positions
