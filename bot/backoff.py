"""The one retry schedule: exponential, capped, fully jittered, server-aware.

Every retry loop in Herald (service calls, saved submissions, the delivery
worker) waits `backoff(...)` seconds. Full jitter ("sleep a random time up to
the exponential ceiling") spreads out clients that failed together, so they do
not come back together; a delay the server asked for (`Retry-After`) is the
floor, and every wait, the server's included, is capped so that a hostile or
broken header cannot park a worker for days.
"""

from __future__ import annotations

import random

# The longest any server-given delay is honoured.
MAX_SERVER_DELAY = 15 * 60.0


def backoff(
    attempt: int,
    *,
    first: float,
    cap: float,
    server_delay: float | None = None,
) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt counts from 1).

    The ceiling doubles from `first` on each attempt up to `cap`; the wait is
    drawn uniformly below it. A server-given delay (capped at 15 minutes) is
    never undercut.
    """
    ceiling = min(cap, first * 2 ** max(0, attempt - 1))
    delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
    if server_delay is not None and server_delay > 0:
        delay = max(delay, min(server_delay, MAX_SERVER_DELAY))
    return delay
