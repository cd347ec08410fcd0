"""The PostgreSQL store's connections: a small asyncpg pool, the migrations, and the
helpers the concern modules share.

Several Herald processes may share one database: every method is one transaction of
its own at READ COMMITTED, and a conditional write says whether it won (an UPDATE
that waited for a competitor's row lock checks its condition again on the row the
competitor committed, so of two claimants exactly one matches).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Self, TypeAlias

import asyncpg

from bot.store.postgres.migrations import migrate
from bot.store.rows import SENDING

Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"

POOL_MIN, POOL_MAX = 1, 10
PING_SECONDS = 5.0


class PostgresBase:
    """What every concern's mixin works on: the pool. A read runs on any free
    connection; a write is `transaction()`."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str) -> Self:
        """Connect to the database `url` names and bring its schema up to date."""
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        return cls(await asyncpg.create_pool(url, min_size=POOL_MIN, max_size=POOL_MAX))

    async def close(self) -> None:
        """Wait for the queries under way, then close every connection."""
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One connection in one transaction: committed when the block ends, rolled
        back if it raises (or is cancelled)."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def schema_version(self) -> int:
        version = await self._pool.fetchval("SELECT MAX(version) FROM schema_migrations")
        return int(version or 0)

    async def ping(self) -> bool:
        """Whether the database answers within PING_SECONDS (a free connection included)."""
        try:
            async with asyncio.timeout(PING_SECONDS):
                return bool(await self._pool.fetchval("SELECT true"))
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,  # a connection the server closed under it
        ):
            return False

    async def _claim(self, table: str, row_id: int, from_state: str) -> bool:
        """A conditional move to `sending`: exactly one of several claimants wins."""
        status = await self._pool.execute(
            f"UPDATE {table} SET state = $1 WHERE id = $2 AND state = $3",  # noqa: S608 - our own table names
            SENDING,
            row_id,
            from_state,
        )
        return affected(status) == 1

    async def _update(self, table: str, row_id: int, changes: Mapping[str, object]) -> None:
        assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(changes, 2))
        await self._pool.execute(
            f"UPDATE {table} SET {assignments} WHERE id = $1",  # noqa: S608 - our own table and column names
            row_id,
            *changes.values(),
        )


def affected(status: str) -> int:
    """The rows a statement touched, from its command status (`UPDATE 3`, `INSERT 0 1`)."""
    return int(status.rpartition(" ")[2] or 0)
