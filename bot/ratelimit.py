"""A client-side rate limiter that also listens to what the server says."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class RateLimiter:
    """Token bucket of `rate` requests per `per` seconds with bursts up to `burst`.

    On top of the bucket, the server's own view wins: `observe` takes the
    remaining quota and reset time from response headers and spreads what is
    left evenly until the reset, and `pause_until` stops every caller until a
    429's retry time has passed.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = per / rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._paused_until = 0.0
        self._server_spacing = 0.0
        self._server_spacing_until = 0.0
        self._last_grant = float("-inf")
        self._lock = asyncio.Lock()

    def pause_until(self, deadline: float) -> None:
        """Let no request through before `deadline` (on this limiter's clock)."""
        self._paused_until = max(self._paused_until, deadline)

    def observe(self, remaining: int, reset_in: float) -> None:
        """Record the server's quota: `remaining` calls allowed in the next `reset_in` s."""
        now = self._clock()
        if reset_in <= 0:
            return
        if remaining <= 0:
            self.pause_until(now + reset_in)
            return
        self._server_spacing = reset_in / remaining
        self._server_spacing_until = now + reset_in

    def delay(self) -> float:
        """Seconds the next caller would wait now (0 when it may go at once)."""
        now = self._clock()
        self._refill(now)
        wait = max(0.0, self._paused_until - now)
        if self._tokens < 1:
            wait = max(wait, (1 - self._tokens) * self.interval)
        if now < self._server_spacing_until:
            wait = max(wait, self._last_grant + self._server_spacing - now)
        return wait

    def try_acquire(self) -> bool:
        """Take a place now if one is free, without waiting (for optional work, which is
        skipped rather than queued). Not for a limiter that others `acquire` from."""
        if self.delay() > 0:
            return False
        self._tokens -= 1
        self._last_grant = self._clock()
        return True

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.delay()) > 0:  # noqa: ASYNC110 - a deadline, not an event
                await asyncio.sleep(wait)
            self._tokens -= 1
            self._last_grant = self._clock()

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        self._updated = now
        self._tokens = min(self.capacity, self._tokens + elapsed / self.interval)


class SlidingWindow:
    """At most `limit` sends in any `per` seconds, counted from when each one finished.

    Counting from completion (not from sending) keeps the client behind a
    server that counts from receipt, so a channel's window reopens here no
    sooner than it does at the platform. `available` and `ready_in` let a
    caller decide what to send before it waits (fold a burst into a digest).
    """

    def __init__(self, limit: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per = per
        self._clock = clock
        self._finished: deque[float] = deque()
        self._in_flight = 0

    def available(self) -> int:
        self._expire()
        return max(0, self.limit - self._in_flight - len(self._finished))

    def ready_in(self) -> float:
        """Seconds until a send may start (0 when one may start now)."""
        if self.available() > 0:
            return 0.0
        if self._finished:
            return max(0.0, self._finished[0] + self.per - self._clock())
        return self.per / self.limit

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for room, then hold a place in the window for the duration of a send."""
        while (wait := self.ready_in()) > 0:  # noqa: ASYNC110 - a deadline, not an event
            await asyncio.sleep(wait)
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(self._clock())

    def _expire(self) -> None:
        now = self._clock()
        while self._finished and self._finished[0] + self.per <= now:
            self._finished.popleft()
