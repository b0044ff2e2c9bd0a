"""When to try a unary call again: only on overload or unavailability, after the delay
the server asked for in RetryInfo, and never past the caller's overall deadline."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import EmbedrouteError, ResourceExhaustedError, UnavailableError


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try; 1 turns retries off.

    `backoff` doubles per attempt and applies only when the server sent no RetryInfo
    (an UNAVAILABLE from a proxy, say); `max_delay` caps either so that a confused server
    cannot park the client for minutes.
    """

    max_attempts: int = 4
    backoff: float = 0.1
    max_delay: float = 10.0

    def delay(self, error: EmbedrouteError, attempt: int, remaining: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when `error` is final.

        `attempt` is the 1-based number of the attempt that failed; `remaining` is the time
        left of the caller's deadline (None: no deadline). A wait that would outlast the
        deadline is pointless, so the error is final then.
        """
        if attempt >= self.max_attempts or not isinstance(error, (ResourceExhaustedError, UnavailableError)):
            return None
        wait = error.retry_delay if error.retry_delay is not None else self.backoff * 2 ** (attempt - 1)
        wait = min(wait, self.max_delay)
        if remaining is not None and wait >= remaining:
            return None
        return wait
