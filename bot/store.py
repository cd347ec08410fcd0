"""Herald's storage: SQLite through aiosqlite, behind plain async methods.

All SQL lives here. The database runs in WAL mode with one connection (one
writer); every write is its own transaction. Migrations are numbered and
applied in order at start-up, each exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE settings (
            scope TEXT NOT NULL,
            key   TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (scope, key)
        );
        """,
    ),
    (
        4,
        """
        CREATE TABLE poll_cursors (
            source    TEXT NOT NULL,
            feed      TEXT NOT NULL,
            primed_at REAL NOT NULL,
            PRIMARY KEY (source, feed)
        );
        CREATE TABLE poll_items (
            source     TEXT NOT NULL,
            feed       TEXT NOT NULL,
            item_id    TEXT NOT NULL,
            state      TEXT NOT NULL,
            data       TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (source, feed, item_id)
        );
        CREATE INDEX poll_items_by_state ON poll_items (source, feed, state, updated_at);
        """,
    ),
]


@dataclass(frozen=True, slots=True)
class PolledItem:
    """The last known state of one item a poller watches (a build, a release).

    `state` is what the poller compares (a status); `data` is the item as last
    seen, for cards and statistics.
    """

    item_id: str
    state: str
    data: dict[str, Any]


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database at `path` and migrate it."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db)
        await store._migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; concurrent writers queue on the lock."""
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            applied = {row[0] async for row in cursor}
        for version, sql in MIGRATIONS:
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
        try:
            async with self._db.execute("SELECT 1") as cursor:
                return (await cursor.fetchone()) is not None
        except (aiosqlite.Error, ValueError):
            return False

    async def get_setting(self, scope: str, key: str) -> str | None:
        async with self._db.execute(
            "SELECT value FROM settings WHERE scope = ? AND key = ?", (scope, key)
        ) as cursor:
            row = await cursor.fetchone()
        return row["value"] if row else None

    async def set_setting(self, scope: str, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO settings (scope, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                (scope, key, value),
            )

    # --- pollers: what each feed has seen ---------------------------------

    async def feed_primed(self, source: str, feed: str) -> bool:
        """Whether `feed` was read before (its first reading is recorded silently)."""
        async with self._db.execute(
            "SELECT 1 FROM poll_cursors WHERE source = ? AND feed = ?", (source, feed)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def polled(self, source: str, feed: str, ids: Sequence[str]) -> dict[str, PolledItem]:
        """The known items among `ids`."""
        found: dict[str, PolledItem] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            async with self._db.execute(
                "SELECT item_id, state, data FROM poll_items"  # noqa: S608 - placeholders only
                f" WHERE source = ? AND feed = ? AND item_id IN ({marks})",
                (source, feed, *chunk),
            ) as cursor:
                found.update({row["item_id"]: _polled(row) async for row in cursor})
        return found

    async def polled_in_states(
        self, source: str, feed: str, states: Sequence[str], limit: int = 1000
    ) -> list[PolledItem]:
        """Known items whose state is one of `states`, most recently changed first."""
        marks = ", ".join("?" * len(states))
        async with self._db.execute(
            "SELECT item_id, state, data FROM poll_items"  # noqa: S608 - placeholders only
            f" WHERE source = ? AND feed = ? AND state IN ({marks})"
            " ORDER BY updated_at DESC LIMIT ?",
            (source, feed, *states, limit),
        ) as cursor:
            return [_polled(row) async for row in cursor]

    async def record_polled(self, source: str, feed: str, items: Sequence[PolledItem]) -> None:
        """Store what a reading of `feed` saw, and mark the feed as read, in one transaction."""
        now = time.time()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO poll_items (source, feed, item_id, state, data, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source, feed, item_id) DO UPDATE SET state = excluded.state,"
                " data = excluded.data, updated_at = excluded.updated_at",
                [(source, feed, i.item_id, i.state, json.dumps(i.data), now) for i in items],
            )
            await db.execute(
                "INSERT INTO poll_cursors (source, feed, primed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source, feed) DO NOTHING",
                (source, feed, now),
            )

    async def trim_polled(
        self, source: str, feed: str, keep: int, keep_states: Sequence[str]
    ) -> int:
        """Forget all but the `keep` most recently changed items of `feed`.

        Items in `keep_states` (still pending or running) are never forgotten
        and do not count towards `keep`.
        """
        marks = ", ".join("?" * len(keep_states))
        finished = f"source = ? AND feed = ? AND state NOT IN ({marks})"
        async with self.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM poll_items WHERE {finished} AND item_id NOT IN"  # noqa: S608 - placeholders only
                f" (SELECT item_id FROM poll_items WHERE {finished}"
                "  ORDER BY updated_at DESC LIMIT ?)",
                (source, feed, *keep_states, source, feed, *keep_states, keep),
            )
            return cursor.rowcount


def _polled(row: aiosqlite.Row) -> PolledItem:
    return PolledItem(row["item_id"], row["state"], json.loads(row["data"]))
