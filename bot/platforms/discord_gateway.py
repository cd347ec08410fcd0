"""One Discord gateway session among several unsharded processes.

Discord sends every interaction to every gateway session of a bot that is not
sharded, so several processes each holding one would each run the command. Without
shard settings the session is the `discord-gateway` job's (`bot.coordination`): the
process holding the job connects to the gateway (and, with `DISCORD_SYNC_COMMANDS=auto`,
uploads the command list first); the others stay logged in for REST (deliveries, DMs,
edits), report `standby` and ask for the job every third of `HERALD_LEASE_SECONDS`.
The holder renews the job as often; when the database says another process has it
(this one stalled past its lease), or has not answered for `HERALD_LEASE_SECONDS` (the
lease lasts a third longer, so nobody else has it yet), the holder closes its gateway
connection at once. A stopped holder gives the job up, so another connects within a
third of `HERALD_LEASE_SECONDS`; a killed one's lease expires, so another connects
within about `HERALD_LEASE_SECONDS`. On SQLite the job is always this process's: one
process, connected as ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.coordination import Coordination, Job

log = logging.getLogger(__name__)

GATEWAY_JOB = "discord-gateway"


class GatewayLease:
    """Connects the gateway while this process holds the `discord-gateway` job.

    `take` connects (and uploads the commands when this process should); `leave` closes
    the gateway connection, the REST client staying logged in.
    """

    def __init__(
        self,
        coordination: Callable[[], Coordination],
        take: Callable[[], Awaitable[None]],
        leave: Callable[[], Awaitable[None]],
    ) -> None:
        self._coordination = coordination
        self.job = Job(coordination, GATEWAY_JOB, coordination().lease_seconds / 3)
        self._take = take
        self._leave = leave
        self.holding = False
        self._keeping: asyncio.Task[None] | None = None

    async def start(self) -> bool:
        """Take the gateway if no other process holds it, then keep asking in the
        background; True when this process holds it. A failure to take it (the command
        upload was refused) is raised, as at any start."""
        if await self.job.held():
            self.holding = True
            await self._take()
        self._keeping = asyncio.create_task(self._keep(), name="discord gateway lease")
        return self.holding

    async def close(self) -> None:
        if self._keeping is not None:
            self._keeping.cancel()
            await asyncio.gather(self._keeping, return_exceptions=True)
            self._keeping = None

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.job.every if self.holding else self.job.standby)
            try:
                await self._round()
            except Exception:
                log.exception("Discord gateway: could not take or leave the session")

    async def _round(self) -> None:
        if await self.job.held():
            if not self.holding:
                log.info("Discord: this process takes the gateway session over")
                self.holding = True
                await self._take()
        elif self.holding and self._lost():
            log.warning("Discord: another process holds the gateway session; closing ours")
            self.holding = False
            await self._leave()

    def _lost(self) -> bool:
        """Whether the lease may be another process's now: the database said so, or has
        not answered for HERALD_LEASE_SECONDS (the lease outlasts that by a third)."""
        silent = time.monotonic() - self.job.answered
        return not self.job.ours or silent >= self._coordination().lease_seconds
