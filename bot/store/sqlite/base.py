"""The SQLite store's connection: one aiosqlite connection in WAL mode (one writer),
its write lock, the migrations, and the helpers the concern modules share."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

import aiosqlite

from bot.store.rows import SENDING
from bot.store.sqlite import migrations

log = logging.getLogger(__name__)


class SqliteBase:
    """What every concern's mixin works on: the connection and its lock.

    Every write is its own `transaction()`. One connection: a read during
    another coroutine's open transaction would see its uncommitted rows, so
    reads that decide deliveries take the lock too.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        """Open (creating if needed) the database at `path` and migrate it."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()  # its thread would keep the process alive after the error
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; concurrent writers queue on the lock.

        Whatever fails or is cancelled, BEGIN and COMMIT included, the
        connection is left outside a transaction: a BEGIN whose caller was
        cancelled still runs on aiosqlite's thread, and a failed COMMIT keeps
        the transaction open, so anything not committed is rolled back.
        """
        async with self._lock:
            committed = False
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                await self._db.execute("COMMIT")
                committed = True
            finally:
                if not committed:
                    await self._rollback()

    async def _rollback(self) -> None:
        """ROLLBACK, queued behind whatever the thread is still running; none open is fine."""
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            if self._db.in_transaction:
                raise

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            applied = {row[0] async for row in cursor}
        for version, sql in migrations.MIGRATIONS:
            if version in applied:
                continue
            script = (
                f"BEGIN IMMEDIATE; {sql};"  # noqa: S608 - our own migration text
                f" INSERT INTO schema_migrations (version) VALUES ({int(version)}); COMMIT;"
            )
            async with self._lock:
                try:
                    await self._db.executescript(script)
                except aiosqlite.Error:
                    if self._db.in_transaction:
                        await self._db.execute("ROLLBACK")
                    raise
            log.info("database migrated to version %d", version)

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
            row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    async def ping(self) -> bool:
        """Whether the database answers a read of its own file (`SELECT 1` reads
        nothing, so it would miss a file that was overwritten or truncated)."""
        try:
            async with self._db.execute("PRAGMA schema_version") as cursor:
                return (await cursor.fetchone()) is not None
        except (aiosqlite.Error, ValueError):
            return False

    async def _claim(self, table: str, row_id: int, from_state: str) -> bool:
        """A conditional move to `sending`: exactly one of several claimants wins."""
        async with self.transaction() as db:
            cursor = await db.execute(
                f"UPDATE {table} SET state = ? WHERE id = ? AND state = ?",  # noqa: S608 - our own table names
                (SENDING, row_id, from_state),
            )
        return cursor.rowcount == 1

    async def _update(self, table: str, row_id: int, changes: Mapping[str, object]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        async with self.transaction() as db:
            await db.execute(
                f"UPDATE {table} SET {assignments} WHERE id = ?",  # noqa: S608 - our own table and column names
                (*changes.values(), row_id),
            )
