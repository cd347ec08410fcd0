"""Subscriptions: which channel wants which service's events, through which filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store import columns
from bot.store.columns import dump
from bot.store.postgres.base import PostgresBase, affected
from bot.store.rows import Subscription


class PostgresSubscriptions(PostgresBase):
    async def add_subscription(
        self,
        platform: str,
        scope: str,
        channel_id: str,
        service: str,
        filter_json: dict[str, Any],
        created_by: str | None,
    ) -> int:
        subscription_id: int = await self._pool.fetchval(
            "INSERT INTO subscriptions (platform, scope, channel_id, service, filter,"
            " created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            platform,
            scope,
            channel_id,
            service,
            dump(filter_json),
            created_by,
        )
        return subscription_id

    async def find_subscription(
        self, platform: str, channel_id: str, service: str, filter_json: dict[str, Any]
    ) -> Subscription | None:
        rows = await self._subscriptions(
            "platform = $1 AND channel_id = $2 AND service = $3 AND filter = $4",
            platform,
            channel_id,
            service,
            dump(filter_json),
        )
        return rows[0] if rows else None

    async def resume_subscription(self, subscription_id: int) -> None:
        await self._pool.execute(
            "UPDATE subscriptions SET paused = NULL WHERE id = $1", subscription_id
        )

    async def subscriptions(self, platform: str, scope: str) -> list[Subscription]:
        """Every subscription of one guild or workspace, oldest first."""
        return await self._subscriptions("platform = $1 AND scope = $2", platform, scope)

    async def channel_subscriptions(self, platform: str, channel_id: str) -> list[Subscription]:
        return await self._subscriptions("platform = $1 AND channel_id = $2", platform, channel_id)

    async def active_subscriptions(self, service: str) -> list[Subscription]:
        return await self._subscriptions("service = $1 AND paused IS NULL", service)

    async def remove_subscriptions(self, platform: str, scope: str, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        status = await self._pool.execute(
            "DELETE FROM subscriptions WHERE platform = $1 AND scope = $2"
            " AND id = ANY($3::bigint[])",
            platform,
            scope,
            list(ids),
        )
        return affected(status)

    async def _subscriptions(self, where: str, *args: object) -> list[Subscription]:
        rows = await self._pool.fetch(
            "SELECT id, platform, scope, channel_id, service, filter, created_by, paused"  # noqa: S608 - placeholders only
            f" FROM subscriptions WHERE {where} ORDER BY id",
            *args,
        )
        return [columns.subscription(r) for r in rows]
