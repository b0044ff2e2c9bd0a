"""The fronts' bookkeeping: call metrics and their HTTP endpoint (metrics), spans (tracing).

Both fronts count, time and trace their calls into the same registry and tracer; the
application below them knows none of it (the import contract's layers).
"""
