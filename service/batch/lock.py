"""One server per `data_dir`: its jobs are run by whoever holds the folder's lock.

Two processes running the same jobs from one SQLite file would each answer their lines: every
custom_id twice. The lock is an exclusive `flock` on `data_dir/lock`, held while the server runs and
released by the kernel when the process ends, however it ends (a `kill -9` included), so a restart
takes it back at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from router.errors import ConfigError


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError("data_dir", f"cannot use {data_dir} for batch jobs: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ConfigError("data_dir", f"{data_dir} is in use by another embedroute server; each server needs a "
                                          "data_dir of its own") from None

    def release(self) -> None:
        os.close(self._fd)


__all__ = ["DataDirLock"]
