"""Pending submissions (with their files) and the per-user places of the cooldown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from bot.files import FileData
from bot.store import columns
from bot.store.rows import (
    DONE,
    DRAFT,
    PENDING,
    SENDING,
    NewSubmission,
    PendingSubmission,
    SubmissionChanges,
)
from bot.store.sqlite.base import SqliteBase


class SqliteSubmissions(SqliteBase):
    async def add_submission(
        self, submission: NewSubmission, files: Sequence[FileData] = ()
    ) -> int:
        """Insert a submission and its files."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO pending_submissions (service, kind, state, reference, payload,"
                " summary, user_text, user, channel_id, guild_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                columns.submission_values(submission),
            )
            submission_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO pending_files (submission_id, position, filename, content_type, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (submission_id, index, file.filename, file.content_type, file.data)
                    for index, file in enumerate(files)
                ],
            )
        return submission_id

    async def get_submission(self, submission_id: int) -> PendingSubmission | None:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE id = ?", (submission_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return columns.submission(row) if row else None

    async def submission_files(self, submission_id: int) -> list[FileData]:
        async with self._db.execute(
            "SELECT filename, content_type, data FROM pending_files"
            " WHERE submission_id = ? ORDER BY position",
            (submission_id,),
        ) as cursor:
            return [
                FileData(r["filename"], r["content_type"], bytes(r["data"])) async for r in cursor
            ]

    async def claim_submission(self, submission_id: int, from_state: str) -> bool:
        """Move a submission from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_submissions", submission_id, from_state)

    async def update_submission(
        self, submission_id: int, **changes: Unpack[SubmissionChanges]
    ) -> None:
        columns: dict[str, object] = dict(changes)
        if "unsure" in changes:
            columns["unsure"] = int(changes["unsure"])
        await self._update("pending_submissions", submission_id, columns)

    async def delete_submission(self, submission_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM pending_submissions WHERE id = ?", (submission_id,))

    async def discard_draft(self, submission_id: int) -> bool:
        """Delete a submission only while it is a draft; False when it was claimed first."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM pending_submissions WHERE id = ? AND state = ?",
                (submission_id, DRAFT),
            )
        return cursor.rowcount == 1

    async def due_submissions(
        self, service: str, state: str, now: float, limit: int = 20
    ) -> list[PendingSubmission]:
        """Submissions of `service` in `state` whose next attempt is due, oldest first."""
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ?"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (service, state, now, limit),
        ) as cursor:
            return [columns.submission(row) async for row in cursor]

    async def next_submission_at(self, service: str, states: Sequence[str]) -> float | None:
        """When the earliest submission of `service` in one of `states` is due."""
        marks = ", ".join("?" for _ in states)
        query = f"SELECT MIN(next_attempt_at) FROM pending_submissions WHERE service = ? AND state IN ({marks})"  # noqa: E501, S608 - placeholders only
        async with self._db.execute(query, (service, *states)) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def recover_submissions(self, service: str) -> int:
        """At start: sends that were in flight when the process stopped are pending
        again (nothing is lost) and unsure (the service may have taken them: look
        before sending), and every waiting submission is due now."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE pending_submissions SET state = ?, unsure = 1"
                " WHERE service = ? AND state = ?",
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

    async def submissions_in_state(self, service: str, state: str) -> list[PendingSubmission]:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ? ORDER BY id",
            (service, state),
        ) as cursor:
            return [columns.submission(row) async for row in cursor]

    async def submissions_waiting(self) -> dict[str, int]:
        """Per service: submissions it did not take, saved for a retry (one being
        retried right now included, so the count does not blink during the retry)."""
        async with self._db.execute(
            "SELECT service, COUNT(*) FROM pending_submissions"
            " WHERE state = ? OR (state = ? AND attempts > 0) GROUP BY service",
            (PENDING, SENDING),
        ) as cursor:
            return {r[0]: int(r[1]) for r in await cursor.fetchall()}

    # --- per-user places (the cooldown) --------------------------------------

    async def reserve_slot(
        self,
        platform: str,
        user_id: str,
        now: float,
        window: float,
        limit: int,
        submission_id: int | None = None,
    ) -> tuple[int, bool] | None:
        """Take one of a user's `limit` places in the sliding `window`, in one transaction
        (so concurrent commands cannot all see a free place), or None when all are taken.

        With `submission_id`, a place that submission already holds in the window is
        reused. Returns the place's id and whether it is new.
        """
        since = now - window
        async with self.transaction() as db:
            await db.execute("DELETE FROM submission_slots WHERE at < ?", (since,))
            if submission_id is not None:
                async with db.execute(
                    "SELECT id FROM submission_slots WHERE submission_id = ?", (submission_id,)
                ) as cursor:
                    held = await cursor.fetchone()
                if held is not None:
                    return int(held[0]), False
            async with db.execute(
                "SELECT COUNT(*) FROM submission_slots WHERE platform = ? AND user_id = ?",
                (platform, user_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] >= limit:
                return None
            cursor = await db.execute(
                "INSERT INTO submission_slots (platform, user_id, at, submission_id)"
                " VALUES (?, ?, ?, ?)",
                (platform, user_id, now, submission_id),
            )
            return int(cursor.lastrowid or 0), True

    async def hold_slot(self, slot_id: int, submission_id: int) -> None:
        """Tie a place to the submission (a draft) it was taken for."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE submission_slots SET submission_id = ? WHERE id = ?",
                (submission_id, slot_id),
            )

    async def release_slot(self, slot_id: int) -> None:
        """Give a place back (the service refused the request: nothing was created)."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM submission_slots WHERE id = ?", (slot_id,))

    async def slots_since(self, platform: str, user_id: str, since: float) -> list[float]:
        """When a user took their places since `since`, oldest first."""
        async with self._db.execute(
            "SELECT at FROM submission_slots WHERE platform = ? AND user_id = ? AND at >= ?"
            " ORDER BY at",
            (platform, user_id, since),
        ) as cursor:
            return [float(row[0]) async for row in cursor]
