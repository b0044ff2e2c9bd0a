"""How much memory one model takes once llama.cpp has loaded it: the formula.

    total = weights + KV cache + compute buffer + output buffer + vocabulary tables
            (+ the CUDA context on a GPU)

weights   the tensor bytes of the file (n_params x bits_per_weight / 8). The token
          embedding always stays in host memory (llama.cpp keeps the input layer on
          the CPU); with all layers offloaded a tied output head is *duplicated* on the
          GPU (TENSOR_DUPLICATED), so a tied model costs its embedding twice.
KV cache  cells x layers x 2 (K and V) x kv_heads x head_dim x 2 bytes (f16), cells =
          the context rounded up to 256; none for encoder-only (BERT-family) models.
compute   ggml's graph allocator reserves the peak of live activations for one
          micro-batch of u tokens; the peak is the largest of
            attention  2 x heads x u x kv_cells x 4      (scores and softmax, f32; flash
                                                          attention tiles it away)
            FFN        3 x u x ffn x 4                    (gate, up, product)
            LM head    u x vocab x 4                      (the worst-case graph is reserved
                                                          with min(u, n_outputs_max) outputs,
                                                          n_outputs_max defaulting to n_batch,
                                                          so a whole micro-batch of logits
                                                          even with embeddings off; in RAM a
                                                          last-token model touches only
                                                          n_seq_max rows of it)
          plus the attention mask (kv_cells x u x 4, f16 with flash attention) and
          about 4 x u x hidden x 4 for the residual stream.
vocab     the tokenizer's tables and bookkeeping in host memory, ~300 bytes per
          vocabulary token (measured, upper end).
heads     BGE-M3's sparse and ColBERT heads (router/heads.py), float32 in host memory, and
          the token states their requests hold: every row the tap copies out of one decode,
          twice (the tap's copy and the sequence's joined rows), plus the ColBERT head's
          output for them - cells x (2 x hidden + colbert_out) x 4, cells being a decode's
          tokens for an encoder (whole sequences, finished in the decode) and the KV cells
          for a causal model (a sequence's rows wait until its last piece). Counted for
          models that carry the heads, whose every sparse or ColBERT request needs them;
          another model's token vectors (EmbedTokens) are an occasional request's.
output    host buffer that grows to hold every output of the largest decode call,
          at least n_seq_max rows: outputs x vocab x 4 logits, plus outputs x hidden x 4
          in an embedding context. An encoder's embedding context outputs every token of
          the batch; a last-token model (embeddings off) only the last token of each
          sequence, at most n_seq_max per decode.

The compute and output buffers are reserved with malloc and touched only as far as a
batch reaches, so a freshly loaded model looks small; the first batch of the full
size touches all of it. The budget is for that worst case: a cgroup kills on it.

The shape (cells, micro-batch, decode size) comes from `engine_shape`, which mirrors
what service/engine/model.py passes to llama.cpp, so the estimate follows the engine.
Checked against the engine itself for the test models (tests/router/test_estimate.py
loads them through service.engine.load_model and runs the worst-case batches;
docs/hardware-profiles.md lists the figures).
"""

from __future__ import annotations

from dataclasses import dataclass

from router.plan import MemoryEstimate, RouterPrefs
from router.types import EngineSettings, GgufDescription, engine_layout

ENCODER_ARCHES = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "modern-bert",
        "neo-bert",
        "eurobert",
        "gemma-embedding",
    }
)
"""Architectures llama.cpp runs without a KV cache (non-causal encoders)."""

KV_BYTES_PER_VALUE = 2
"""f16 K and V, llama.cpp's default cache type."""

VOCAB_BYTES_PER_TOKEN = 300
"""llama.cpp's tokenizer tables (token strings, merges, maps) and bookkeeping in host
memory: RSS after loading, less the model and output buffers, was 23-46 MiB across
runs for the 151,669-token Qwen vocabulary; this budgets the upper end (43 MiB)."""

CUDA_CONTEXT_BYTES = 400 * 1024**2
"""The CUDA runtime, cuBLAS handles and kernels: allocated on the device, logged by no one."""

FLOAT = 4


@dataclass(frozen=True)
class LlamaShape:
    """The llama.cpp context parameters that memory depends on."""

    kv_cells: int
    n_ctx_seq: int
    n_ubatch: int
    n_batch: int
    n_seq_max: int
    flash_attn: bool
    embeddings: bool
    """An embedding context: every token of a batch is an output."""


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def engine_shape(description: GgufDescription, prefs: RouterPrefs, n_gpu_layers: int = 0) -> LlamaShape:
    """What service.engine.load_model asks llama.cpp for (keep the two in step).

    One unified KV cache of `n_ctx` cells. Last-token models (Qwen3 embeddings and
    rerankers) run without an embedding context: only each sequence's last token is an
    output, read through the hidden-state tap, and each decode is one step of
    `step_tokens` (smaller on a CPU than on a GPU). Encoders (mean/CLS pooling) output
    every token and see a whole sequence in one micro-batch.
    """
    n_ctx = prefs.context_for(description)
    cells = _pad(n_ctx, 256)
    causal = description.architecture not in ENCODER_ARCHES
    last_token = description.pooling == "last" or description.kind == "reranker"
    encoder = description.kind == "embedding" and not last_token
    layout = engine_layout(
        EngineSettings(
            n_batch=prefs.n_batch, n_seq_max=prefs.n_seq_max, flash_attn=prefs.flash_attn, n_gpu_layers=n_gpu_layers
        ),
        cells,
    )
    return LlamaShape(
        kv_cells=cells if causal else 0,
        n_ctx_seq=cells,
        n_ubatch=cells if encoder else layout.step_tokens,
        n_batch=cells if encoder else layout.step_tokens,
        n_seq_max=layout.n_seq_max,
        flash_attn=layout.flash_attn,
        embeddings=encoder,
    )


def _embedding_params(d: GgufDescription) -> int:
    return d.vocab_size * d.hidden_size


def _layer_params(d: GgufDescription) -> int:
    q = d.n_heads * d.head_dim
    kv = d.n_kv_heads * d.head_dim
    ffn_matrices = 2 if d.architecture in ENCODER_ARCHES else 3
    return 2 * d.hidden_size * q + 2 * d.hidden_size * kv + ffn_matrices * d.hidden_size * d.ffn_size


def has_separate_output(d: GgufDescription) -> bool:
    """Whether the file carries its own output head, told apart by the parameter count:
    a second vocab x hidden matrix beyond the layers and the token embedding."""
    rest = d.n_params - d.n_layers * _layer_params(d)
    return rest > 1.5 * _embedding_params(d)


def kv_bytes(d: GgufDescription, shape: LlamaShape) -> int:
    return shape.kv_cells * d.n_layers * 2 * d.n_kv_heads * d.head_dim * KV_BYTES_PER_VALUE


def compute_bytes(d: GgufDescription, shape: LlamaShape, *, reserved: bool = True) -> int:
    """The compute buffer llama.cpp reserves (`reserved`), or the part a batch touches.

    The reservation sizes the logits for a whole micro-batch of outputs; a causal-LM
    reranker only ever asks for one output per sequence, so in host memory, where
    untouched pages cost nothing, only that part counts. GPU memory is taken whole.
    """
    u = shape.n_ubatch
    outputs = u if reserved or shape.embeddings else min(u, shape.n_seq_max)
    attention = 0 if shape.flash_attn else 2 * d.n_heads * u * shape.n_ctx_seq * FLOAT
    ffn = 3 * u * d.ffn_size * FLOAT
    lm_head = 0 if d.architecture in ENCODER_ARCHES else outputs * d.vocab_size * FLOAT
    mask = shape.kv_cells * u * (2 if shape.flash_attn else FLOAT)
    return max(attention, ffn, lm_head) + mask + 4 * u * d.hidden_size * FLOAT


def output_bytes(d: GgufDescription, shape: LlamaShape) -> int:
    """llama.cpp's output buffer: logits always, embedding rows only in an embedding context."""
    outputs = shape.n_batch if shape.embeddings else shape.n_seq_max
    row = d.vocab_size + (d.hidden_size if shape.embeddings else 0)
    return max(outputs, shape.n_seq_max) * row * FLOAT


def token_state_bytes(d: GgufDescription, shape: LlamaShape) -> int:
    """Host memory of the token states a model with BGE-M3's heads holds at most (see `heads` above)."""
    if len(d.outputs) <= 1:
        return 0
    cells = shape.kv_cells or shape.n_batch
    return cells * (2 * d.hidden_size + d.colbert_dim) * FLOAT


def estimate(d: GgufDescription, prefs: RouterPrefs, n_gpu_layers: int = 0) -> MemoryEstimate:
    """Bytes on the GPU and in RAM with `n_gpu_layers` offloaded (n_layers + 1 = all,
    the +1 being the output layer, as llama.cpp counts)."""
    shape = engine_shape(d, prefs, n_gpu_layers)
    weights = round(d.n_params * d.bits_per_weight / 8)
    embedding = round(_embedding_params(d) * d.bits_per_weight / 8)
    output = embedding if has_separate_output(d) else 0
    per_layer = max(0, weights - embedding - output) / max(d.n_layers, 1)
    kv = kv_bytes(d, shape)
    compute = compute_bytes(d, shape)
    touched = compute_bytes(d, shape, reserved=False)
    out_buf = output_bytes(d, shape)
    vocab = d.vocab_size * VOCAB_BYTES_PER_TOKEN + d.head_bytes + token_state_bytes(d, shape)
    gpu_layers = min(max(n_gpu_layers, 0), d.n_layers)
    head_on_gpu = n_gpu_layers > d.n_layers
    if gpu_layers == 0 and not head_on_gpu:
        ram = weights + kv + touched + out_buf + vocab
        return MemoryEstimate(weights, kv, touched, out_buf, vocab, gpu_bytes=0, ram_bytes=ram)
    head_bytes = output if output else embedding
    gpu_weights = round(gpu_layers * per_layer) + (head_bytes if head_on_gpu else 0)
    ram_weights = round((d.n_layers - gpu_layers) * per_layer) + embedding + (0 if head_on_gpu else output)
    gpu_kv = kv * gpu_layers // max(d.n_layers, 1)
    whole = gpu_layers == d.n_layers and head_on_gpu
    ram_compute = 2 * shape.n_ubatch * d.hidden_size * FLOAT if whole else touched
    return MemoryEstimate(
        weights_bytes=gpu_weights + ram_weights,
        kv_bytes=kv,
        compute_bytes=compute + ram_compute,
        output_bytes=out_buf,
        overhead_bytes=CUDA_CONTEXT_BYTES + vocab,
        gpu_bytes=gpu_weights + gpu_kv + compute + CUDA_CONTEXT_BYTES,
        ram_bytes=ram_weights + (kv - gpu_kv) + ram_compute + out_buf + vocab,
    )
