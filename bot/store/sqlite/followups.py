"""Follow-ups: items Herald created for a user, followed until closed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot.store import columns
from bot.store.columns import dump
from bot.store.rows import Followup, NewFollowup
from bot.store.sqlite.base import SqliteBase


class SqliteFollowups(SqliteBase):
    async def add_followup(self, item: NewFollowup) -> int:
        """Remember a created item (once per service item); its row id."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO followups (service, kind, item_id, url, title, platform,"
                " user_id, wants_updates, created_at, language)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.service,
                    item.kind,
                    item.item_id,
                    item.url,
                    item.title,
                    item.platform,
                    item.user_id,
                    int(item.wants_updates),
                    time.time(),
                    item.language,
                ),
            )
            async with db.execute(
                "SELECT id FROM followups WHERE service = ? AND kind = ? AND item_id = ?",
                (item.service, item.kind, item.item_id),
            ) as cursor:
                row = await cursor.fetchone()
        return int(row["id"]) if row else 0

    async def set_followup_card(
        self, followup_id: int, channel_id: str, message_id: str, card: dict[str, Any]
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE followups SET card_channel = ?, card_message = ?, card = ? WHERE id = ?",
                (channel_id, message_id, dump(card), followup_id),
            )

    async def followup(self, followup_id: int) -> Followup | None:
        found = await self._followups("WHERE id = ?", (followup_id,))
        return found[0] if found else None

    async def followup_of(self, service: str, kind: str, item_id: str) -> Followup | None:
        found = await self._followups(
            "WHERE service = ? AND kind = ? AND item_id = ?", (service, kind, item_id)
        )
        return found[0] if found else None

    async def followups_due(
        self, service: str, kinds: Sequence[str], created_after: float, limit: int
    ) -> list[Followup]:
        """Items to read next: those read longest ago first, none past the retention."""
        marks = ", ".join("?" for _ in kinds)
        return await self._followups(
            f"WHERE service = ? AND kind IN ({marks}) AND created_at >= ?"
            " ORDER BY checked_at, id LIMIT ?",
            (service, *kinds, created_after, limit),
        )

    async def followup_notices(self, service: str) -> list[Followup]:
        """Changes recorded but not yet told (a crash or an outage came between)."""
        return await self._followups("WHERE notice_due = 1 AND service = ? ORDER BY id", (service,))

    async def user_followups(self, platform: str, user_id: str, limit: int) -> list[Followup]:
        return await self._followups(
            "WHERE platform = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (platform, user_id, limit),
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
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE followups SET status = ?, previous_status = ?, notice_due = ?,"
                " closed_at = ?, checked_at = ? WHERE id = ? AND status IS ?",
                (status, seen, int(notice), closed_at, time.time(), followup_id, seen),
            )
            return cursor.rowcount == 1

    async def followups_checked(self, ids: Sequence[int]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE followups SET checked_at = ? WHERE id = ?",
                [(time.time(), i) for i in ids],
            )

    async def followup_told(self, followup_id: int, status: str) -> None:
        """The change to `status` was told (or cannot be): not again."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE followups SET notice_due = 0 WHERE id = ? AND status = ?",
                (followup_id, status),
            )

    async def set_followup_updates(
        self, platform: str, user_id: str, wanted: bool, followup_id: int | None = None
    ) -> int:
        """Turn updates on or off for one of the user's items, or all of them; how many."""
        query = "UPDATE followups SET wants_updates = ? WHERE platform = ? AND user_id = ?"
        args: tuple[Any, ...] = (int(wanted), platform, user_id)
        if followup_id is not None:
            query += " AND id = ?"
            args = (*args, followup_id)
        async with self.transaction() as db:
            cursor = await db.execute(query, args)
            return cursor.rowcount

    async def prune_followups(self, closed_before: float) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM followups WHERE closed_at IS NOT NULL AND closed_at < ?",
                (closed_before,),
            )
            return cursor.rowcount

    async def _followups(self, where: str, args: tuple[Any, ...]) -> list[Followup]:
        async with self._db.execute(f"SELECT * FROM followups {where}", args) as cursor:  # noqa: S608 - our own clauses
            return [columns.followup(row) async for row in cursor]
