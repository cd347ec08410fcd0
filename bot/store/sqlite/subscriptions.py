"""Subscriptions: which channel wants which service's events, through which filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store import columns
from bot.store.columns import dump
from bot.store.rows import Subscription
from bot.store.sqlite.base import SqliteBase


class SqliteSubscriptions(SqliteBase):
    async def add_subscription(
        self,
        platform: str,
        scope: str,
        channel_id: str,
        service: str,
        filter_json: dict[str, Any],
        created_by: str | None,
    ) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO subscriptions (platform, scope, channel_id, service, filter,"
                " created_by) VALUES (?, ?, ?, ?, ?, ?)",
                (platform, scope, channel_id, service, dump(filter_json), created_by),
            )
            return int(cursor.lastrowid or 0)

    async def find_subscription(
        self, platform: str, channel_id: str, service: str, filter_json: dict[str, Any]
    ) -> Subscription | None:
        rows = await self._subscriptions(
            "platform = ? AND channel_id = ? AND service = ? AND filter = ?",
            (platform, channel_id, service, dump(filter_json)),
        )
        return rows[0] if rows else None

    async def resume_subscription(self, subscription_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET paused = NULL WHERE id = ?", (subscription_id,)
            )

    async def subscriptions(self, platform: str, scope: str) -> list[Subscription]:
        """Every subscription of one guild or workspace, oldest first."""
        return await self._subscriptions("platform = ? AND scope = ?", (platform, scope))

    async def channel_subscriptions(self, platform: str, channel_id: str) -> list[Subscription]:
        return await self._subscriptions("platform = ? AND channel_id = ?", (platform, channel_id))

    async def active_subscriptions(self, service: str) -> list[Subscription]:
        return await self._subscriptions("service = ? AND paused IS NULL", (service,))

    async def remove_subscriptions(self, platform: str, scope: str, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM subscriptions WHERE platform = ? AND scope = ? AND id IN ({marks})",  # noqa: S608
                (platform, scope, *ids),
            )
            return cursor.rowcount

    async def _subscriptions(self, where: str, args: tuple[Any, ...]) -> list[Subscription]:
        async with self._db.execute(
            "SELECT id, platform, scope, channel_id, service, filter, created_by, paused"  # noqa: S608 - placeholders only
            f" FROM subscriptions WHERE {where} ORDER BY id",
            args,
        ) as cursor:
            rows = await cursor.fetchall()
        return [columns.subscription(r) for r in rows]
