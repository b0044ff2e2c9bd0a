"""Why a pull failed. A command-line tool's errors, not the service's: no gRPC status applies.

    PullError
     ├── HubUnreachableError     no answer from the hub (offline, DNS, refused, timed out)
     └── ChecksumMismatchError   a downloaded file is not the one the hub listed
"""

from __future__ import annotations


class PullError(Exception):
    """The pull cannot go on; the message says what to fix."""


class HubUnreachableError(PullError):
    """The hub did not answer: callers with an offline fallback use it."""


class ChecksumMismatchError(PullError):
    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(f"{name}: checksum {actual} differs from the hub's {expected}; the download was deleted")
        self.name = name
        self.expected = expected
        self.actual = actual
