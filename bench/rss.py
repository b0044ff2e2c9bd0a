"""Peak resident memory of a process, sampled, plus the kernel's own high-water mark.

Sampling can miss a short spike between two samples; Linux keeps the true peak in
/proc/PID/status (VmHWM), which is read too where it exists. The larger one is reported.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil

INTERVAL_S = 0.05


class PeakRss:
    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._pid = pid
        self.sampled_bytes = 0
        self.hwm_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.sampled_bytes = max(self.sampled_bytes, self._process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(INTERVAL_S)

    def stop(self) -> int:
        """Call while the process still runs, so that its VmHWM can be read."""
        self.hwm_bytes = read_hwm(self._pid)
        self._stop.set()
        self._thread.join()
        return self.peak_bytes

    @property
    def peak_bytes(self) -> int:
        return max(self.sampled_bytes, self.hwm_bytes)


def read_hwm(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0
