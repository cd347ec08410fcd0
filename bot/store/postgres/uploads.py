"""Uploads that follow a created item, one row per step (see `bot.store.sqlite.uploads`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from bot.store import columns
from bot.store.postgres.base import PostgresBase, affected
from bot.store.rows import PENDING, SENDING, NewUpload, Upload, UploadChanges


class PostgresUploads(PostgresBase):
    async def add_uploads(self, uploads: Sequence[NewUpload]) -> None:
        if not uploads:
            return
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO pending_uploads (service, reference, position, item_id, item_url,"
                ' token, step, filename, content_type, data, "user", state, next_attempt_at,'
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                " ON CONFLICT DO NOTHING",
                [columns.upload_values(u) for u in uploads],
            )

    async def uploads_of(self, service: str, item_id: str) -> list[Upload]:
        rows = await self._pool.fetch(
            "SELECT * FROM pending_uploads WHERE service = $1 AND item_id = $2 ORDER BY position",
            service,
            item_id,
        )
        return [columns.upload(row) for row in rows]

    async def get_upload(self, upload_id: int) -> Upload | None:
        row = await self._pool.fetchrow("SELECT * FROM pending_uploads WHERE id = $1", upload_id)
        return columns.upload(row) if row else None

    async def claim_upload(self, upload_id: int, from_state: str) -> bool:
        """Move an upload from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_uploads", upload_id, from_state)

    async def update_upload(self, upload_id: int, **changes: Unpack[UploadChanges]) -> None:
        await self._update("pending_uploads", upload_id, changes)

    async def due_uploads(self, service: str, now: float, limit: int = 20) -> list[Upload]:
        rows = await self._pool.fetch(
            "SELECT * FROM pending_uploads WHERE service = $1 AND state = $2"
            " AND next_attempt_at <= $3 ORDER BY next_attempt_at, position LIMIT $4",
            service,
            PENDING,
            now,
            limit,
        )
        return [columns.upload(row) for row in rows]

    async def next_upload_at(self, service: str) -> float | None:
        at: float | None = await self._pool.fetchval(
            "SELECT MIN(next_attempt_at) FROM pending_uploads WHERE service = $1 AND state = $2",
            service,
            PENDING,
        )
        return at

    async def recover_uploads(self, service: str, older_than: float) -> int:
        """At start: every waiting upload (in flight when the process stopped, too) is
        due now, and finished rows older than `older_than` are dropped."""
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM pending_uploads WHERE service = $1 AND state NOT IN ($2, $3)"
                " AND created_at < $4",
                service,
                PENDING,
                SENDING,
                older_than,
            )
            status = await db.execute(
                "UPDATE pending_uploads SET state = $1, next_attempt_at = 0"
                " WHERE service = $2 AND state IN ($1, $3)",
                PENDING,
                service,
                SENDING,
            )
        return affected(status)
