"""The CPUs this process may run on, for when no router decided the thread count."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """Affinity, not `os.cpu_count()`: a pinned or containerised process sees fewer cores.

    The router refines this with the cgroup CPU quota; this is only the fallback."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no affinity API
        return max(1, os.cpu_count() or 1)
