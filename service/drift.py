"""`embedroute drift A B`: do two running servers put text in the same vector space?

    embedroute drift gpu-pool:50051 cpu-pool:50051
    embedroute drift 10.0.0.5:50051 10.0.0.6:50051 --texts my-queries.txt --threshold 0.9995

Both servers embed the same texts (a bundled probe set of queries and documents, and/or the
lines of --texts) as documents and as queries; the cosine of each text's two vectors shows how
far the spaces have drifted apart. The vector-space ids say whether they are the same by
construction; the cosines say how much it matters when they are not. Exit 0 when every cosine
is at or above the threshold, 1 when one is below it (or the sizes differ), 2 when a server
cannot be asked or answers vectors that cannot be compared (a wrong count, ragged or
unannounced dimensions, NaN or infinite values, zero or unnormalised vectors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import grpc
import numpy as np

from service.rpc.generated.embedroute.v1 import common_pb2, embed_pb2, embed_pb2_grpc, model_pb2, model_pb2_grpc

NORM_TOLERANCE = 1e-3
"""How far from 1 a vector's length may be: drift asks for normalised vectors, and a longer one
would make a dot product look like a cosine above 1."""

DEFAULT_THRESHOLD = 0.999
"""Below this cosine, two copies of one text are far enough apart to change nearest neighbours:
a Q8_0 file against its F16 source measures about 0.999-0.9995 on the test models."""

PROBES: tuple[str, ...] = (
    "What is the capital of China?",
    "Explain gravity",
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "How do I reset my password?",
    "Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
    "best budget laptop for programming 2026",
    "Die Katze schläft auf dem warmen Fensterbrett.",
    "東京は日本の首都です。",
    "SELECT name, count(*) FROM orders GROUP BY name HAVING count(*) > 10;",
    "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "Aspirin inhibits cyclooxygenase, reducing prostaglandin synthesis.",
    "The quarterly revenue grew by 12% while operating costs stayed flat.",
    "a",
    "😀 emoji and punctuation!?",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
)


@dataclass(frozen=True)
class Side:
    target: str
    model: str
    quant: str
    vector_space_id: str
    dimensions: int
    vectors: np.ndarray


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="embedroute drift", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("target_a", metavar="TARGET_A", help="first server, host:port")
    p.add_argument("target_b", metavar="TARGET_B", help="second server, host:port")
    p.add_argument("--texts", type=Path, metavar="FILE", help="one text per line, embedded as well as the probes")
    p.add_argument("--no-probes", action="store_true", help="only the texts of --texts")
    p.add_argument("--model", default="", help="model id; empty picks the only embedding model of each server")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help=f"lowest acceptable cosine (default {DEFAULT_THRESHOLD})")
    p.add_argument("--api-key", default="", help="sent to both as `authorization: Bearer KEY`")
    p.add_argument("--timeout", type=float, default=120.0, help="deadline per call in seconds")
    return p


def texts_of(args: argparse.Namespace) -> list[str]:
    texts = [] if args.no_probes else list(PROBES)
    if args.texts is not None:
        texts += [line for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise ValueError("no texts: --no-probes needs --texts FILE with at least one line")
    return texts


class UnusableAnswer(ValueError):
    """A server answered, but with vectors that no cosine can be read from."""


def ask(target: str, texts: Sequence[str], args: argparse.Namespace) -> Side:
    """The server's vectors of `texts`, as documents then as queries, with its space's id."""
    metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else []
    with grpc.insecure_channel(target) as channel:
        embed = embed_pb2_grpc.EmbedServiceStub(channel).Embed
        rows: list[list[float]] = []
        answer = embed_pb2.EmbedResponse()
        for input_type in (common_pb2.INPUT_TYPE_DOCUMENT, common_pb2.INPUT_TYPE_QUERY):
            options = embed_pb2.EmbedOptions(input_type=input_type, normalize=True)
            request = embed_pb2.EmbedRequest(model=args.model, inputs=list(texts), options=options)
            answer = embed(request, timeout=args.timeout, metadata=metadata)
            if len(answer.embeddings) != len(texts):
                raise UnusableAnswer(f"{len(answer.embeddings)} vectors for {len(texts)} texts")
            rows += [list(e.float_values) for e in answer.embeddings]
        info = model_pb2_grpc.ModelServiceStub(channel).GetModel(
            model_pb2.GetModelRequest(model=answer.model), timeout=args.timeout, metadata=metadata
        )
    return Side(target, answer.model, info.model.file.quant, answer.vector_space_id, answer.dimensions,
                checked_vectors(rows, answer.dimensions))


def checked_vectors(rows: Sequence[Sequence[float]], dimensions: int) -> np.ndarray:
    """The rows as a matrix, or why they are not normalised vectors of the announced size."""
    sizes = sorted({len(row) for row in rows})
    if sizes != [dimensions]:
        got = ", ".join(str(n) for n in sizes[:5])
        raise UnusableAnswer(f"the answer says {dimensions} dimensions but its vectors have {got}")
    vectors = np.array(rows, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise UnusableAnswer(f"{bad.size} vectors hold NaN or infinite values (the first is vector {bad[0]})")
    norms = np.linalg.norm(vectors, axis=1)
    off = np.flatnonzero(np.abs(norms - 1.0) > NORM_TOLERANCE)
    if off.size:
        raise UnusableAnswer(f"{off.size} vectors are not normalised (vector {off[0]} has length "
                             f"{norms[off[0]]:.6g}); asked with normalize=true")
    return vectors


def compare(a: Side, b: Side) -> list[float]:
    """Cosine of each row of `a` with the same row of `b` (both are normalised)."""
    return [float(v) for v in np.einsum("ij,ij->i", a.vectors, b.vectors)]


def report(a: Side, b: Side, texts: Sequence[str], threshold: float, out: TextIO) -> int:
    for name, side in (("A", a), ("B", b)):
        out.write(f"{name}  {side.target}  {side.model} {side.quant}  {side.dimensions} dims  "
                  f"vector space {side.vector_space_id or '(not reported)'}\n")
    if a.dimensions != b.dimensions:
        out.write(f"verdict: DIFFERENT: {a.dimensions} vs {b.dimensions} dimensions; the vectors cannot be compared\n")
        return 1
    cosines = compare(a, b)
    labels = [f"document: {t}" for t in texts] + [f"query: {t}" for t in texts]
    out.write("cosine    text\n")
    for cosine, label in zip(cosines, labels, strict=True):
        shown = label if len(label) <= 70 else label[:67] + "..."
        out.write(f"{cosine:.6f}  {shown}{'  < threshold' if cosine < threshold else ''}\n")
    low, mean = min(cosines), float(np.mean(cosines))
    out.write(f"min {low:.6f}  mean {mean:.6f}  threshold {threshold}  ({len(cosines)} vectors)\n")
    same_id = bool(a.vector_space_id) and a.vector_space_id == b.vector_space_id
    if low < threshold:
        out.write(f"verdict: DIFFERENT spaces: {sum(c < threshold for c in cosines)} vectors below {threshold}; "
                  "do not mix these servers' vectors in one index (see --consistent)\n")
        return 1
    if same_id:
        out.write("verdict: same vector space (equal ids)\n")
    else:
        out.write(f"verdict: different ids, but every cosine is at least {threshold}: close enough to mix\n")
    return 0


def main(argv: Sequence[str], out: TextIO | None = None) -> int:
    stdout = out or sys.stdout
    args = _parser().parse_args(list(argv))
    try:
        texts = texts_of(args)
    except (OSError, ValueError) as exc:
        print(f"embedroute drift: {exc}", file=sys.stderr)
        return 2
    sides: list[Side] = []
    for target in (args.target_a, args.target_b):
        try:
            sides.append(ask(target, texts, args))
        except grpc.RpcError as exc:
            call: Any = exc
            print(f"embedroute drift: {target}: {call.code().name}: {call.details()}", file=sys.stderr)
            return 2
        except UnusableAnswer as exc:
            print(f"embedroute drift: {target}: unusable answer: {exc}", file=sys.stderr)
            return 2
    return report(sides[0], sides[1], texts, args.threshold, stdout)


__all__ = ["DEFAULT_THRESHOLD", "NORM_TOLERANCE", "PROBES", "UnusableAnswer", "checked_vectors", "main"]
