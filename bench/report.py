"""The benchmark's results as markdown (BENCHMARKS.md) and JSON, with the issue's targets checked.

Absolute times depend on the machine and on what else runs on it; the ratios between
the service, the raw engine and PyTorch measured in the same run are what carry over,
so every table puts the ratio next to the figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import sections

MIN_THROUGHPUT_RATIO = 0.95
THROUGHPUT_CHECK_CLIENTS = (4, 16)
MAX_LOAD_LATENCY_FACTOR = 3.0
MAX_IDLE_OVERHEAD_MS = 2.0
RSS_SLACK_BYTES = 300 * 1024**2

MIB = 1024**2

METHOD = """# Benchmarks

Written by `python -m bench` (see `python -m bench --help`); rerun it to refresh this file.

## Method

- Models: `embedroute synth --shape 0.6b` (Qwen3-Embedding-0.6B and Qwen3-Reranker-0.6B shapes, real Qwen
  vocabulary, random weights), one file per quantisation. Random weights cost the same as trained ones.
- Corpus (bench/corpus.py): deterministic documents of exactly 128 tokens and queries of exactly 10 tokens, made
  of single-token Qwen words; the counts are checked with the model's own tokenizer before timing.
- Raw engine (bench/engine_loop.py): `service.engine.load_model` + `Model.embed` in groups of 64 texts, in this
  process, no gRPC. A grid of decode steps n_batch (32, 64, 128, 512 tokens) x threads runs on a sample of the
  documents; the best setting then embeds all documents, once before the service's passes and once after them;
  the service is compared with the mean of the two (x raw engine), which cancels the machine's drift between
  them. Idle query latency: one `embed([query])` at a time.
- Service (bench/service_load.py): `embedroute serve` in a subprocess on 127.0.0.1, defaults except
  `--threads` (the engine's best). N clients, each on its own HTTP/2 connection, stream their share of the
  documents through EmbedStream (float32 vectors back). Throughput = prompt tokens reported / wall time, in a
  pass with nothing else. Latency under load is a second pass of the same clients with a probe thread that
  sends one 10-token query (Embed, input_type QUERY; 30 tokens with the instruction template) every 0.5 s
  after the previous answer (so on a CPU the server runs query-sized steps of 64 tokens throughout it, where the
  throughput pass runs 128); that pass's throughput (documents and queries) is shown too. Idle latency is the
  same query with no load. Service overhead = each idle query's client-side latency minus the engine time the
  server reports for it (Usage: tokenisation + decodes), so gRPC, validation, queue hand-offs and the reply;
  the difference of the two idle medians is shown beside it. The clients run on the same machine and take
  CPU from the server.
- Rerank (bench/rerank.py): one query over N documents, `Model.rerank` vs the Rerank RPC.
- Memory (bench/rss.py): the server's peak RSS (psutil samples every 50 ms and the kernel's VmHWM) against
  file sizes + router.estimate's KV, compute and output buffers + 300 MiB, for every model the server loaded.
- PyTorch (bench/torch_ref.py): transformers Qwen3Model with the GGUF's dequantised weights, batch 8, fp32
  and bf16, same threads; only when torch and transformers are installed.
- Engine tuning behind the defaults (decode steps, flash attention, threads, several contexts, build
  options, memory): docs/engine-tuning.md; `python -m bench.layouts FILE` reruns the layout table.
- Targets (from the issue): service >= 0.95x the raw engine at 4 and 16 clients; query p50 under load <= 3x
  idle; idle overhead <= 2 ms; peak RSS within the budget. Ratios carry over between machines, absolute
  times do not.
"""


def raw_runs(engine: dict[str, Any]) -> list[dict[str, Any]]:
    return [engine["full"], engine["full_after"]]


def raw_tok_per_s(engine: dict[str, Any]) -> float:
    """What the service is compared with: the mean of the raw runs before and after its passes,
    so that the machine's drift over the minutes between them does not decide the ratio."""
    runs = raw_runs(engine)
    return sum(float(run["tok_per_s"]) for run in runs) / len(runs)


def check_targets(model: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was measured, the limit, and whether it holds."""
    checks: list[dict[str, Any]] = []
    engine_tps = raw_tok_per_s(model["engine"])
    service = model["service"]
    for load in service["loads"]:
        if load["clients"] in THROUGHPUT_CHECK_CLIENTS:
            ratio = load["tok_per_s"] / engine_tps
            checks.append(
                {"target": f"throughput at {load['clients']} clients >= {MIN_THROUGHPUT_RATIO}x raw engine",
                 "value": f"{ratio:.2f}x", "ok": ratio >= MIN_THROUGHPUT_RATIO}
            )
    idle = service["idle_query"]["p50_ms"]
    for load in service["loads"]:
        factor = load["probed"]["query_under_load"]["p50_ms"] / idle
        checks.append(
            {"target": f"query p50 under {load['clients']}-client load <= {MAX_LOAD_LATENCY_FACTOR:.0f}x idle",
             "value": f"{factor:.1f}x", "ok": factor <= MAX_LOAD_LATENCY_FACTOR}
        )
    overhead = service["idle_query"]["overhead"]["p50_ms"]
    checks.append(
        {"target": f"idle query p50 overhead over the engine <= {MAX_IDLE_OVERHEAD_MS:.0f} ms",
         "value": f"{overhead:.2f} ms", "ok": overhead <= MAX_IDLE_OVERHEAD_MS}
    )
    peak, budget = service["peak_rss_bytes"], service["rss_budget_bytes"]
    checks.append(
        {"target": "server peak RSS <= files + KV/compute/output buffers + 300 MiB",
         "value": f"{peak / MIB:.0f} / {budget / MIB:.0f} MiB", "ok": peak <= budget}
    )
    return checks


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _ms(latency: dict[str, Any]) -> str:
    return f"{latency['p50_ms']:.1f} / {latency['p99_ms']:.1f} (n={latency['n']})"


def model_markdown(model: dict[str, Any]) -> list[str]:
    engine, service = model["engine"], model["service"]
    engine_tps = raw_tok_per_s(engine)
    lines = [f"### {model['quant']} - `{Path(model['file']).name}` ({model['file_bytes'] / MIB:.0f} MiB)", ""]
    lines += ["#### Raw engine settings (sample of the documents)", "",
              _row("n_batch", "threads", "docs", "tok/s"), _row("---:", "---:", "---:", "---:")]
    lines += [_row(r["n_batch"], r["n_threads"], r["n_docs"], f"{r['tok_per_s']:.1f}") for r in engine["grid"]]
    best = engine["best"]
    lines += ["", f"Best: n_batch {best['n_batch']}, {best['n_threads']} threads; the service ran with "
              f"{best['n_threads']} threads and its default steps (on a CPU 128 tokens, 64 while queries come; "
              "512 on a GPU).", ""]
    lines += ["#### Throughput (all documents)", "",
              _row("runner", "docs", "tokens", "seconds", "tok/s", "x raw engine"),
              _row("---", "---:", "---:", "---:", "---:", "---:")]
    for when, run in zip(("before", "after"), raw_runs(engine)):
        lines.append(_row(f"raw engine (best settings), {when} the service", run["n_docs"], run["n_tokens"],
                          f"{run['seconds']:.2f}", f"{run['tok_per_s']:.1f}", f"{run['tok_per_s'] / engine_tps:.2f}"))
    for load in service["loads"]:
        lines.append(_row(f"service, {load['clients']} client(s) EmbedStream", load["n_docs"], load["n_tokens"],
                          f"{load['seconds']:.2f}", f"{load['tok_per_s']:.1f}", f"{load['tok_per_s'] / engine_tps:.2f}"))
    for load in (load["probed"] for load in service["loads"]):
        tokens = f"{load['n_tokens']} + {load['probe_tokens']} probe"
        lines.append(_row(f"service, {load['clients']} client(s) + latency probe", load["n_docs"], tokens,
                          f"{load['seconds']:.2f}", f"{load['tok_per_s']:.1f}", f"{load['tok_per_s'] / engine_tps:.2f}"))
    torch = model.get("torch") or {}
    for dtype in ("fp32", "bf16"):
        if dtype in torch:
            run = torch[dtype]
            lines.append(_row(f"PyTorch {torch['torch']} {dtype}, batch {torch['batch']}", "", run["n_tokens"],
                              f"{run['seconds']:.2f}", f"{run['tok_per_s']:.1f}", f"{run['tok_per_s'] / engine_tps:.2f}"))
    if "skipped" in torch:
        lines += ["", f"PyTorch: skipped ({torch['skipped']})."]
    lines += ["", "#### Single 10-token query latency, p50 / p99 ms", "",
              _row("when", "raw engine", "service"), _row("---", "---:", "---:"),
              _row("idle", _ms(engine["idle_query"]), _ms(service["idle_query"]))]
    for load in service["loads"]:
        lines.append(_row(f"under {load['clients']}-client load", "", _ms(load["probed"]["query_under_load"])))
    overhead, transport = service["idle_query"]["overhead"], service["idle_query"]["transport"]
    lines += ["", f"Service overhead per idle query (client latency minus the server's engine time): p50 "
              f"{overhead['p50_ms']:.2f} ms, p99 {overhead['p99_ms']:.2f} ms (n={overhead['n']}), of which outside "
              f"the handler (the two gRPC stacks and loopback) p50 {transport['p50_ms']:.2f} ms. Difference of the "
              f"idle medians above: {service['idle_query']['p50_ms'] - engine['idle_query']['p50_ms']:.1f} ms."]
    rerank = model.get("rerank")
    lines += ["", f"#### Rerank of {rerank['n_docs'] if rerank else 0} documents, p50 / p99 ms", ""]
    if rerank:
        lines += [_row("raw engine", "service", "service / engine (p50)"), _row("---:", "---:", "---:"),
                  _row(_ms(rerank["engine"]), _ms(rerank["service"]),
                       f"{rerank['service']['p50_ms'] / rerank['engine']['p50_ms']:.2f}")]
    else:
        lines.append(f"Skipped: {model.get('rerank_skipped', 'no reranker file')}.")
    est = service["estimate"]
    lines += ["", "#### Memory", "",
              f"Server peak RSS {service['peak_rss_bytes'] / MIB:.0f} MiB (sampled max and VmHWM); budget "
              f"{service['rss_budget_bytes'] / MIB:.0f} MiB = files {est['files_bytes'] / MIB:.0f} + KV "
              f"{est['kv_bytes'] / MIB:.0f} + compute {est['compute_bytes'] / MIB:.0f} + output "
              f"{est['output_bytes'] / MIB:.0f} (router.estimate) + 300 MiB. Server start to SERVING: "
              f"{service['startup_s']:.1f} s.", "",
              "#### Targets", "", _row("target", "measured", "met"), _row("---", "---:", "---")]
    lines += [_row(c["target"], c["value"], "yes" if c["ok"] else "**no**") for c in model["targets"]]
    return lines + [""]


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [METHOD.rstrip(), "", "## Run", "",
             f"- Command: `{results['command']}`",
             f"- CPU: {machine['cpu']} ({machine['physical_cores']} cores, {machine['logical_cpus']} logical); "
             f"features: {machine['flags']}",
             f"- RAM: {machine['ram_gib']:.1f} GiB; GPU: {machine['gpu']}",
             f"- Load average (1/5/15 min) at start {results['load_start']}, at end {results['load_end']}",
             f"- Software: Python {machine['python']}, llama-cpp-python {machine['llama_cpp']}, grpcio {machine['grpc']}",
             f"- Documents: {results['n_docs']} x {results['doc_tokens']} tokens (+1 end token), "
             f"{results['probe_docs']} in each latency-under-load pass; "
             f"queries: {results['query_tokens']} tokens; clients: {results['clients']}; "
             f"mode: {'GPU (all layers offloaded)' if results['gpu'] else 'CPU'}",
             ""]
    if results.get("reduced"):
        lines += [f"**Reduced run**: {results['reduced']}", ""]
    lines += ["## Results", ""]
    for model in results["models"]:
        lines += model_markdown(model)
    return "\n".join(lines).rstrip() + "\n"


def write(results: dict[str, Any], out: Path | None, json_path: Path | None) -> str:
    text = markdown(results)
    if out is not None:
        out.write_text(sections.keep_marked(text, out), encoding="utf-8")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return text
