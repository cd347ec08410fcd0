"""Which process does what, when several Herald processes share one database.

A `Coordination` tells this process which work is its own now:

- the outbox lanes (one per channel) it may drain: `claim_lanes` leases them,
  `renew_lane` keeps a lease while draining (False: another process has the lane, stop)
  and `release_lane` gives it up once the lane is empty. One process at a time sends to
  a channel, so the channel's order and rate limit hold;
- the named jobs (a poller, a retrier) it runs: `hold_job` acquires or renews the
  job's lease, True while the job is this process's (`Job` wraps it for a loop);
- a wake when another process queued announcements (`on_wake`).

A lease expires unless renewed, so a killed process's lanes and jobs are taken over by
another within `HERALD_LEASE_SECONDS`. On SQLite one process owns the database
(`LocalCoordination`): every lane with rows due is its own, every job too, the routers
wake the delivery worker in-process, and it asks the database nothing it did not ask
before. PostgreSQL's is `bot.store.postgres.coordination.PostgresCoordination`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, Protocol

if TYPE_CHECKING:
    from bot.store.interfaces import OutboxStore

log = logging.getLogger(__name__)

Lane = tuple[str, str]
"""An outbox lane: (platform, channel id)."""


def process_holder() -> str:
    """This process's name in leases: host, pid and a random part (a restarted process
    with the same pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Coordination(Protocol):
    """How this process shares the work with the others on its database."""

    holder: str
    lease_seconds: float

    async def start(self) -> None:
        """Begin listening for other processes' wakes."""
        ...

    async def close(self) -> None:
        """Stop listening, and give up the leases still held so others take over at once."""
        ...

    def on_wake(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever another process queued outbox rows."""
        ...

    async def claim_lanes(self, platforms: Sequence[str], now: float, limit: int) -> list[Lane]:
        """The lanes with rows due at `now` this process may drain (up to `limit`, ours
        included), each leased for `lease_seconds`."""
        ...

    async def renew_lane(self, lane: Lane) -> bool:
        """Keep the lane's lease; False when it is no longer ours: stop draining it."""
        ...

    async def release_lane(self, lane: Lane) -> None:
        """Give the (drained) lane up at once."""
        ...

    async def hold_job(self, name: str, every: float) -> bool:
        """Acquire or renew job `name` for this process; True while it is ours. The caller
        asks again every `every` s: the lease lasts `every + lease_seconds`."""
        ...


class LocalCoordination:
    """One process owns the database (SQLite): all the work is its own.

    Claiming is the outbox's `due_lanes` (no limit: every lane due), renewing and
    holding always succeed, and nothing wakes from outside.
    """

    def __init__(self, outbox: OutboxStore, holder: str, lease_seconds: float) -> None:
        self.outbox = outbox
        self.holder = holder
        self.lease_seconds = lease_seconds

    async def start(self) -> None:
        """Nothing to listen to: the routers wake the delivery worker in-process."""

    async def close(self) -> None:
        """No lease to give up."""

    def on_wake(self, wake: Callable[[], None]) -> None:
        """No other process queues rows."""

    async def claim_lanes(self, platforms: Sequence[str], now: float, limit: int) -> list[Lane]:
        return await self.outbox.due_lanes(platforms, now)

    async def renew_lane(self, lane: Lane) -> bool:
        return True

    async def release_lane(self, lane: Lane) -> None:
        """Nobody else would take it."""

    async def hold_job(self, name: str, every: float) -> bool:
        return True


class Job:
    """A named job (a poller, a retrier) that one process at a time runs.

    Its loop asks `held()` before each round, every `every` s at most: the process
    holding the job runs the round, another waits `standby` s and asks again, so it takes
    over within `standby` s of the lease's end. `gained` runs each time the job becomes
    this process's (at start on SQLite), before its first round: the place to recover
    the work a stopped holder left half done.
    """

    def __init__(
        self,
        coordination: Callable[[], Coordination],
        name: str,
        every: float,
        gained: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._coordination = coordination
        self.name = name
        self.every = every
        self.gained = gained
        self._ours = False
        self._renewed = 0.0  # time.monotonic() of the database's last answer

    @property
    def ours(self) -> bool:
        """The database's last answer: whether the job was this process's (a failure to
        ask leaves it as it was)."""
        return self._ours

    @property
    def answered(self) -> float:
        """`time.monotonic()` when the database last answered about the job (0: never)."""
        return self._renewed

    @property
    def standby(self) -> float:
        """How long a process not holding the job waits before asking again."""
        return min(self.every, self._coordination().lease_seconds)

    async def held(self) -> bool:
        """Whether this process runs the job now. The lease is renewed when a third of
        HERALD_LEASE_SECONDS passed since the last time. A failure (the database does not
        answer, `gained` failed) means not now: asked again next round."""
        coordination = self._coordination()
        asked = time.monotonic()
        if self._ours and asked - self._renewed < coordination.lease_seconds / 3:
            return True
        try:
            ours = await coordination.hold_job(self.name, self.every)
            if ours and not self._ours:
                log.info("%s runs on this process (%s)", self.name, coordination.holder)
                if self.gained is not None:
                    await self.gained()
        except Exception:
            log.exception("%s: could not take or renew its lease; not running it now", self.name)
            return False
        if self._ours and not ours:
            log.warning("%s: another process took the job over", self.name)
        self._ours = ours
        self._renewed = asked
        return ours

    async def repeat(self, round_: Callable[[], Awaitable[object]]) -> NoReturn:
        """Run `round_` every `every` s while the job is ours, for ever."""
        while True:
            if await self.held():
                await round_()
                await asyncio.sleep(self.every)
            else:
                await asyncio.sleep(self.standby)
