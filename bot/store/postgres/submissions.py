"""Pending submissions (with their files) and the per-user places of the cooldown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from bot.files import FileData
from bot.store import columns
from bot.store.postgres.base import PostgresBase, affected
from bot.store.rows import (
    DONE,
    DRAFT,
    PENDING,
    SENDING,
    NewSubmission,
    PendingSubmission,
    SubmissionChanges,
)


class PostgresSubmissions(PostgresBase):
    async def add_submission(
        self, submission: NewSubmission, files: Sequence[FileData] = ()
    ) -> int:
        """Insert a submission and its files."""
        async with self.transaction() as db:
            submission_id: int = await db.fetchval(
                "INSERT INTO pending_submissions (service, kind, state, reference, payload,"
                ' summary, user_text, "user", channel_id, guild_id, created_at)'
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                *columns.submission_values(submission),
            )
            if files:
                await db.executemany(
                    "INSERT INTO pending_files (submission_id, position, filename,"
                    " content_type, data) VALUES ($1, $2, $3, $4, $5)",
                    [
                        (submission_id, index, file.filename, file.content_type, file.data)
                        for index, file in enumerate(files)
                    ],
                )
        return submission_id

    async def get_submission(self, submission_id: int) -> PendingSubmission | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM pending_submissions WHERE id = $1", submission_id
        )
        return columns.submission(row) if row else None

    async def submission_files(self, submission_id: int) -> list[FileData]:
        rows = await self._pool.fetch(
            "SELECT filename, content_type, data FROM pending_files"
            " WHERE submission_id = $1 ORDER BY position",
            submission_id,
        )
        return [FileData(r["filename"], r["content_type"], bytes(r["data"])) for r in rows]

    async def claim_submission(self, submission_id: int, from_state: str) -> bool:
        """Move a submission from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_submissions", submission_id, from_state)

    async def update_submission(
        self, submission_id: int, **changes: Unpack[SubmissionChanges]
    ) -> None:
        await self._update("pending_submissions", submission_id, changes)

    async def delete_submission(self, submission_id: int) -> None:
        await self._pool.execute("DELETE FROM pending_submissions WHERE id = $1", submission_id)

    async def discard_draft(self, submission_id: int) -> bool:
        """Delete a submission only while it is a draft; False when it was claimed first."""
        status = await self._pool.execute(
            "DELETE FROM pending_submissions WHERE id = $1 AND state = $2", submission_id, DRAFT
        )
        return affected(status) == 1

    async def due_submissions(
        self, service: str, state: str, now: float, limit: int = 20
    ) -> list[PendingSubmission]:
        """Submissions of `service` in `state` whose next attempt is due, oldest first."""
        rows = await self._pool.fetch(
            "SELECT * FROM pending_submissions WHERE service = $1 AND state = $2"
            " AND next_attempt_at <= $3 ORDER BY next_attempt_at, id LIMIT $4",
            service,
            state,
            now,
            limit,
        )
        return [columns.submission(row) for row in rows]

    async def next_submission_at(self, service: str, states: Sequence[str]) -> float | None:
        """When the earliest submission of `service` in one of `states` is due."""
        at: float | None = await self._pool.fetchval(
            "SELECT MIN(next_attempt_at) FROM pending_submissions"
            " WHERE service = $1 AND state = ANY($2::text[])",
            service,
            list(states),
        )
        return at

    async def recover_submissions(self, service: str) -> int:
        """At start: sends that were in flight when the process stopped are pending
        again (nothing is lost) and unsure (the service may have taken them: look
        before sending), and every waiting submission is due now."""
        async with self.transaction() as db:
            status = await db.execute(
                "UPDATE pending_submissions SET state = $1, unsure = true"
                " WHERE service = $2 AND state = $3",
                PENDING,
                service,
                SENDING,
            )
            await db.execute(
                "UPDATE pending_submissions SET next_attempt_at = 0"
                " WHERE service = $1 AND state IN ($2, $3)",
                service,
                PENDING,
                DONE,
            )
        return affected(status)

    async def delete_drafts(self, service: str, older_than: float) -> int:
        status = await self._pool.execute(
            "DELETE FROM pending_submissions WHERE service = $1 AND state = $2 AND created_at < $3",
            service,
            DRAFT,
            older_than,
        )
        return affected(status)

    async def submissions_in_state(self, service: str, state: str) -> list[PendingSubmission]:
        rows = await self._pool.fetch(
            "SELECT * FROM pending_submissions WHERE service = $1 AND state = $2 ORDER BY id",
            service,
            state,
        )
        return [columns.submission(row) for row in rows]

    async def submissions_waiting(self) -> dict[str, int]:
        """Per service: submissions it did not take, saved for a retry (one being
        retried right now included, so the count does not blink during the retry)."""
        rows = await self._pool.fetch(
            "SELECT service, COUNT(*) FROM pending_submissions"
            " WHERE state = $1 OR (state = $2 AND attempts > 0) GROUP BY service",
            PENDING,
            SENDING,
        )
        return {r[0]: int(r[1]) for r in rows}

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
        """Take one of a user's `limit` places in the sliding `window`, or None when all
        are taken; with `submission_id`, a place that submission already holds in the
        window is reused. The place's id and whether it is new.

        The user's advisory lock, held to the end of the transaction, makes counting
        and taking one step for every process. Places that left the window are
        forgotten on the way, those another transaction holds skipped (no waiting,
        so no deadlock); the count only counts places in the window.
        """
        since = now - window
        async with self.transaction() as db:
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))", platform, user_id
            )
            await db.execute(
                "DELETE FROM submission_slots WHERE id IN (SELECT id FROM submission_slots"
                " WHERE at < $1 FOR UPDATE SKIP LOCKED)",
                since,
            )
            if submission_id is not None:
                held = await db.fetchval(
                    "SELECT id FROM submission_slots WHERE submission_id = $1 AND at >= $2",
                    submission_id,
                    since,
                )
                if held is not None:
                    return int(held), False
            taken = await db.fetchval(
                "SELECT COUNT(*) FROM submission_slots"
                " WHERE platform = $1 AND user_id = $2 AND at >= $3",
                platform,
                user_id,
                since,
            )
            if taken >= limit:
                return None
            slot_id = await db.fetchval(
                "INSERT INTO submission_slots (platform, user_id, at, submission_id)"
                " VALUES ($1, $2, $3, $4) RETURNING id",
                platform,
                user_id,
                now,
                submission_id,
            )
            return int(slot_id), True

    async def hold_slot(self, slot_id: int, submission_id: int) -> None:
        """Tie a place to the submission (a draft) it was taken for."""
        await self._pool.execute(
            "UPDATE submission_slots SET submission_id = $1 WHERE id = $2", submission_id, slot_id
        )

    async def release_slot(self, slot_id: int) -> None:
        """Give a place back (the service refused the request: nothing was created)."""
        await self._pool.execute("DELETE FROM submission_slots WHERE id = $1", slot_id)

    async def slots_since(self, platform: str, user_id: str, since: float) -> list[float]:
        """When a user took their places since `since`, oldest first."""
        rows = await self._pool.fetch(
            "SELECT at FROM submission_slots WHERE platform = $1 AND user_id = $2 AND at >= $3"
            " ORDER BY at",
            platform,
            user_id,
            since,
        )
        return [float(row[0]) for row in rows]
