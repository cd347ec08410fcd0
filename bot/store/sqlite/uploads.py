"""Uploads that follow a created item.

One row per step (a file to upload, or the call that publishes a draft),
keyed by the submission's reference and the step's position so a second
queueing of the same item is ignored. Finished rows keep no bytes and are
purged after a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from bot.store import columns
from bot.store.rows import PENDING, SENDING, NewUpload, Upload, UploadChanges
from bot.store.sqlite.base import SqliteBase


class SqliteUploads(SqliteBase):
    async def add_uploads(self, uploads: Sequence[NewUpload]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO pending_uploads (service, reference, position, item_id,"
                " item_url, token, step, filename, content_type, data, user, state,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [columns.upload_values(u) for u in uploads],
            )

    async def uploads_of(self, service: str, item_id: str) -> list[Upload]:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE service = ? AND item_id = ? ORDER BY position",
            (service, item_id),
        ) as cursor:
            return [columns.upload(row) async for row in cursor]

    async def get_upload(self, upload_id: int) -> Upload | None:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE id = ?", (upload_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return columns.upload(row) if row else None

    async def claim_upload(self, upload_id: int, from_state: str) -> bool:
        """Move an upload from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_uploads", upload_id, from_state)

    async def update_upload(self, upload_id: int, **changes: Unpack[UploadChanges]) -> None:
        await self._update("pending_uploads", upload_id, changes)

    async def due_uploads(self, service: str, now: float, limit: int = 20) -> list[Upload]:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE service = ? AND state = ?"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, position LIMIT ?",
            (service, PENDING, now, limit),
        ) as cursor:
            return [columns.upload(row) async for row in cursor]

    async def next_upload_at(self, service: str) -> float | None:
        async with self._db.execute(
            "SELECT MIN(next_attempt_at) FROM pending_uploads WHERE service = ? AND state = ?",
            (service, PENDING),
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def recover_uploads(self, service: str, older_than: float) -> int:
        """At start: every waiting upload (in flight when the process stopped, too) is
        due now, and finished rows older than `older_than` are dropped."""
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM pending_uploads WHERE service = ? AND state NOT IN (?, ?)"
                " AND created_at < ?",
                (service, PENDING, SENDING, older_than),
            )
            cursor = await db.execute(
                "UPDATE pending_uploads SET state = ?, next_attempt_at = 0"
                " WHERE service = ? AND state IN (?, ?)",
                (PENDING, service, PENDING, SENDING),
            )
        return cursor.rowcount
