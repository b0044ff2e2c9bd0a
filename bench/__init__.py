"""`python -m bench`: throughput, latency, rerank and memory of the service against the raw engine."""
