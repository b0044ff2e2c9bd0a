"""The scheduler: one worker thread per model, a bounded two-lane queue, continuous batching.

It knows requests only as `Work` (token sequences in, values out), so it serves every
capability the application defines without knowing any of them.
"""

from __future__ import annotations

from service.scheduler.worker import (
    ModelWorker,
    Outcome,
    Prepared,
    Row,
    Work,
    WorkerObserver,
    WorkerStats,
)

__all__ = ["ModelWorker", "Outcome", "Prepared", "Row", "Work", "WorkerObserver", "WorkerStats"]
