"""Follow-ups: items Herald created for a user, followed until closed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot.store import columns
from bot.store.columns import dump
from bot.store.postgres.base import PostgresBase, affected
from bot.store.rows import Followup, NewFollowup


class PostgresFollowups(PostgresBase):
    async def add_followup(self, item: NewFollowup) -> int:
        """Remember a created item (once per service item); its row id."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO followups (service, kind, item_id, url, title, platform, user_id,"
                " wants_updates, created_at, language)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                item.service,
                item.kind,
                item.item_id,
                item.url,
                item.title,
                item.platform,
                item.user_id,
                item.wants_updates,
                time.time(),
                item.language,
            )
            followup_id = await db.fetchval(
                "SELECT id FROM followups WHERE service = $1 AND kind = $2 AND item_id = $3",
                item.service,
                item.kind,
                item.item_id,
            )
        return int(followup_id or 0)

    async def set_followup_card(
        self, followup_id: int, channel_id: str, message_id: str, card: dict[str, Any]
    ) -> None:
        await self._pool.execute(
            "UPDATE followups SET card_channel = $1, card_message = $2, card = $3 WHERE id = $4",
            channel_id,
            message_id,
            dump(card),
            followup_id,
        )

    async def followup(self, followup_id: int) -> Followup | None:
        found = await self._followups("WHERE id = $1", followup_id)
        return found[0] if found else None

    async def followup_of(self, service: str, kind: str, item_id: str) -> Followup | None:
        found = await self._followups(
            "WHERE service = $1 AND kind = $2 AND item_id = $3", service, kind, item_id
        )
        return found[0] if found else None

    async def followups_due(
        self, service: str, kinds: Sequence[str], created_after: float, limit: int
    ) -> list[Followup]:
        """Items to read next: those read longest ago first, none past the retention."""
        return await self._followups(
            "WHERE service = $1 AND kind = ANY($2::text[]) AND created_at >= $3"
            " ORDER BY checked_at, id LIMIT $4",
            service,
            list(kinds),
            created_after,
            limit,
        )

    async def followup_notices(self, service: str) -> list[Followup]:
        """Changes recorded but not yet told (a crash or an outage came between)."""
        return await self._followups("WHERE notice_due AND service = $1 ORDER BY id", service)

    async def user_followups(self, platform: str, user_id: str, limit: int) -> list[Followup]:
        return await self._followups(
            "WHERE platform = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
            platform,
            user_id,
            limit,
        )

    async def record_followup_status(
        self,
        followup_id: int,
        seen: str | None,
        status: str,
        *,
        notice: bool,
        closed_at: float | None,
    ) -> bool:
        """Store a new status, only if the last one is still `seen` (a webhook and the
        poller may race); with `notice`, the change waits to be told. False when lost."""
        result = await self._pool.execute(
            "UPDATE followups SET status = $1, previous_status = $2, notice_due = $3,"
            " closed_at = $4, checked_at = $5 WHERE id = $6"
            " AND status IS NOT DISTINCT FROM $2",
            status,
            seen,
            notice,
            closed_at,
            time.time(),
            followup_id,
        )
        return affected(result) == 1

    async def followups_checked(self, ids: Sequence[int]) -> None:
        await self._pool.execute(
            "UPDATE followups SET checked_at = $1 WHERE id = ANY($2::bigint[])",
            time.time(),
            list(ids),
        )

    async def followup_told(self, followup_id: int, status: str) -> None:
        """The change to `status` was told (or cannot be): not again."""
        await self._pool.execute(
            "UPDATE followups SET notice_due = false WHERE id = $1 AND status = $2",
            followup_id,
            status,
        )

    async def set_followup_updates(
        self, platform: str, user_id: str, wanted: bool, followup_id: int | None = None
    ) -> int:
        """Turn updates on or off for one of the user's items, or all of them; how many."""
        status = await self._pool.execute(
            "UPDATE followups SET wants_updates = $1 WHERE platform = $2 AND user_id = $3"
            " AND ($4::bigint IS NULL OR id = $4)",
            wanted,
            platform,
            user_id,
            followup_id,
        )
        return affected(status)

    async def prune_followups(self, closed_before: float) -> int:
        status = await self._pool.execute(
            "DELETE FROM followups WHERE closed_at IS NOT NULL AND closed_at < $1", closed_before
        )
        return affected(status)

    async def _followups(self, where: str, *args: object) -> list[Followup]:
        rows = await self._pool.fetch(f"SELECT * FROM followups {where}", *args)  # noqa: S608 - our own clauses
        return [columns.followup(row) for row in rows]
