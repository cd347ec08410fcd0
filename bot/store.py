"""Herald's storage: SQLite through aiosqlite, behind plain async methods.

All SQL lives here. The database runs in WAL mode with one connection (one
writer); every write is its own transaction. Migrations are numbered and
applied in order at start-up, each exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
        2,
        """
        CREATE TABLE pending_submissions (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            service         TEXT NOT NULL,
            kind            TEXT NOT NULL,
            state           TEXT NOT NULL,
            payload         TEXT NOT NULL,
            summary         TEXT NOT NULL,
            user_text       TEXT NOT NULL,
            user            TEXT NOT NULL,
            channel_id      TEXT,
            guild_id        TEXT,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error      TEXT,
            result_url      TEXT,
            created_at      REAL NOT NULL
        );
        CREATE INDEX pending_submissions_due
            ON pending_submissions (service, state, next_attempt_at);
        CREATE TABLE pending_files (
            submission_id INTEGER NOT NULL
                REFERENCES pending_submissions (id) ON DELETE CASCADE,
            position      INTEGER NOT NULL,
            filename      TEXT NOT NULL,
            content_type  TEXT,
            data          BLOB NOT NULL,
            PRIMARY KEY (submission_id, position)
        );
        CREATE TABLE submission_log (
            platform TEXT NOT NULL,
            user_id  TEXT NOT NULL,
            at       REAL NOT NULL
        );
        CREATE INDEX submission_log_user ON submission_log (platform, user_id, at);
        """,
    ),
]

# Submission states: a draft waits for the user's "Create anyway"; `sending`
# is in flight in this process; `pending` waits for its next attempt; `done`
# went through (or was refused) and the user is still to be told. A row is
# deleted once the user knows.
DRAFT, SENDING, PENDING, DONE = "draft", "sending", "pending", "done"


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

    # --- pending submissions ---------------------------------------------------

    async def add_submission(
        self,
        row: dict[str, Any],
        files: Sequence[tuple[str, str | None, bytes]] = (),
    ) -> int:
        """Insert a submission (columns as in `pending_submissions`) and its files."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        async with self.transaction() as db:
            cursor = await db.execute(
                f"INSERT INTO pending_submissions ({columns}) VALUES ({marks})",  # noqa: S608 - our own column names
                tuple(row.values()),
            )
            submission_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO pending_files (submission_id, position, filename, content_type, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [(submission_id, index, *file) for index, file in enumerate(files)],
            )
        return submission_id

    async def get_submission(self, submission_id: int) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE id = ?", (submission_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row else None

    async def submission_files(self, submission_id: int) -> list[tuple[str, str | None, bytes]]:
        async with self._db.execute(
            "SELECT filename, content_type, data FROM pending_files"
            " WHERE submission_id = ? ORDER BY position",
            (submission_id,),
        ) as cursor:
            return [(r["filename"], r["content_type"], bytes(r["data"])) async for r in cursor]

    async def claim_submission(self, submission_id: int, from_state: str) -> bool:
        """Move a submission from `from_state` to `sending`; False if another got it first."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE pending_submissions SET state = ? WHERE id = ? AND state = ?",
                (SENDING, submission_id, from_state),
            )
        return cursor.rowcount == 1

    async def update_submission(self, submission_id: int, **changes: Any) -> None:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        async with self.transaction() as db:
            await db.execute(
                f"UPDATE pending_submissions SET {assignments} WHERE id = ?",  # noqa: S608 - our own column names
                (*changes.values(), submission_id),
            )

    async def delete_submission(self, submission_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM pending_submissions WHERE id = ?", (submission_id,))

    async def due_submissions(
        self, service: str, state: str, now: float, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Submissions of `service` in `state` whose next attempt is due, oldest first."""
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ?"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (service, state, now, limit),
        ) as cursor:
            return [dict(row) async for row in cursor]

    async def next_submission_at(self, service: str, states: Sequence[str]) -> float | None:
        """When the earliest submission of `service` in one of `states` is due."""
        marks = ", ".join("?" for _ in states)
        query = f"SELECT MIN(next_attempt_at) FROM pending_submissions WHERE service = ? AND state IN ({marks})"  # noqa: E501, S608 - placeholders only
        async with self._db.execute(query, (service, *states)) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def recover_submissions(self, service: str) -> int:
        """At start: sends that were in flight when the process stopped are pending
        again (nothing is lost), and every waiting submission is due now."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE pending_submissions SET state = ? WHERE service = ? AND state = ?",
                (PENDING, service, SENDING),
            )
            await db.execute(
                "UPDATE pending_submissions SET next_attempt_at = 0"
                " WHERE service = ? AND state IN (?, ?)",
                (service, PENDING, DONE),
            )
        return cursor.rowcount

    async def delete_drafts(self, service: str, older_than: float) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM pending_submissions"
                " WHERE service = ? AND state = ? AND created_at < ?",
                (service, DRAFT, older_than),
            )
        return cursor.rowcount

    async def submissions_in_state(self, service: str, state: str) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ? ORDER BY id",
            (service, state),
        ) as cursor:
            return [dict(row) async for row in cursor]

    # --- per-user submission log (cooldowns) -----------------------------------

    async def log_submission(
        self, platform: str, user_id: str, at: float, keep_after: float
    ) -> None:
        """Record one submission by a user, forgetting entries older than `keep_after`."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM submission_log WHERE at < ?", (keep_after,))
            await db.execute(
                "INSERT INTO submission_log (platform, user_id, at) VALUES (?, ?, ?)",
                (platform, user_id, at),
            )

    async def submissions_since(self, platform: str, user_id: str, since: float) -> list[float]:
        """When a user submitted since `since`, oldest first."""
        async with self._db.execute(
            "SELECT at FROM submission_log WHERE platform = ? AND user_id = ? AND at >= ?"
            " ORDER BY at",
            (platform, user_id, since),
        ) as cursor:
            return [float(row[0]) async for row in cursor]
