"""Work sharing between the Herald processes on one PostgreSQL database.

Lanes and jobs are leased in the database (`bot.store.postgres.leases`), on its clock.
One connection of the pool LISTENs on `herald_outbox` for the whole life of the process:
every notification wakes the delivery worker. When that connection is lost (or stops
answering) another is taken after `RECONNECT_SECONDS`, and the worker is woken then, as
rows may have been queued while nobody listened; the worker's own idle look every few
seconds covers the time in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

import asyncpg

from bot.coordination import Lane
from bot.store.postgres import leases
from bot.waiting import wait_set

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
PING_SECONDS = 30.0  # how often the listening connection is checked
PING_TIMEOUT = 10.0


class PostgresCoordination:
    """`bot.coordination.Coordination` over `pool` for the process `holder`.

    Lanes are leased for `lease_seconds`, a job for its interval plus `lease_seconds`.
    `close` gives up what this process holds, so others take over at once.
    """

    def __init__(
        self, pool: asyncpg.Pool[asyncpg.Record], holder: str, lease_seconds: float
    ) -> None:
        self.pool = pool
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._wakes: list[Callable[[], None]] = []
        self._jobs: set[str] = set()
        self._lanes: set[Lane] = set()
        self._listening: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._listening = asyncio.create_task(self._listen(), name="outbox listener")

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
            self._listening = None
        try:
            for lane in sorted(self._lanes):
                await self.release_lane(lane)
            for name in sorted(self._jobs):
                await leases.release_job(self.pool, name, self.holder)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("could not give the leases up (%s); they expire by themselves", error)
        self._jobs.clear()
        self._lanes.clear()

    def on_wake(self, wake: Callable[[], None]) -> None:
        self._wakes.append(wake)

    async def claim_lanes(self, platforms: Sequence[str], now: float, limit: int) -> list[Lane]:
        claimed = await leases.claim_due_lanes(
            self.pool, self.holder, self.lease_seconds, limit, platforms=platforms, now=now
        )
        self._lanes.update(claimed)
        return claimed

    async def renew_lane(self, lane: Lane) -> bool:
        ours = await leases.renew_channel_lease(self.pool, *lane, self.holder, self.lease_seconds)
        if not ours:
            self._lanes.discard(lane)
        return ours

    async def release_lane(self, lane: Lane) -> None:
        self._lanes.discard(lane)
        await leases.release_channel_lease(self.pool, *lane, self.holder)

    async def hold_job(self, name: str, every: float) -> bool:
        ours = await leases.acquire_job(self.pool, name, self.holder, every + self.lease_seconds)
        if ours:
            self._jobs.add(name)
        else:
            self._jobs.discard(name)
        return ours

    def _wake(self, *_notification: Any) -> None:
        for wake in self._wakes:
            wake()

    async def _listen(self) -> None:
        """LISTEN on one connection for ever, taking another when it is lost."""
        while True:
            try:
                async with self.pool.acquire() as connection:
                    await self._listen_on(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                log.warning("outbox notifications lost (%s); listening again", error)
            except Exception:
                log.exception("outbox notifications failed; listening again")
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_on(self, connection: asyncpg.pool.PoolConnectionProxy[Any]) -> None:
        """Until the connection is lost: it is closed, or does not answer a ping."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(leases.OUTBOX_CHANNEL, self._wake)
        try:
            self._wake()  # rows may have been queued while nobody listened
            while not await wait_set(lost, PING_SECONDS):
                await connection.fetchval("SELECT 1", timeout=PING_TIMEOUT)
            log.warning("outbox notifications: the connection closed; listening again")
        finally:
            if not connection.is_closed():  # back to the pool without our listener
                with suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await connection.remove_listener(leases.OUTBOX_CHANNEL, self._wake)
