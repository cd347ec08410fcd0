"""Settings: small values by scope and key."""

from __future__ import annotations

from bot.store.postgres.base import PostgresBase

INSTANCE = ("herald", "instance_id")


class PostgresSettings(PostgresBase):
    async def instance_id(self) -> str:
        """This database's random id (made by the baseline migration)."""
        return await self.get_setting(*INSTANCE) or ""

    async def get_setting(self, scope: str, key: str) -> str | None:
        value: str | None = await self._pool.fetchval(
            "SELECT value FROM settings WHERE scope = $1 AND key = $2", scope, key
        )
        return value

    async def set_setting(self, scope: str, key: str, value: str) -> None:
        await self._pool.execute(
            "INSERT INTO settings (scope, key, value) VALUES ($1, $2, $3)"
            " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
            scope,
            key,
            value,
        )

    async def delete_setting(self, scope: str, key: str) -> None:
        await self._pool.execute("DELETE FROM settings WHERE scope = $1 AND key = $2", scope, key)

    async def settings_named(self, key: str, scope_prefix: str) -> dict[str, str]:
        """Every `key` setting whose scope starts with `scope_prefix`, by scope."""
        rows = await self._pool.fetch(
            "SELECT scope, value FROM settings WHERE key = $1 AND left(scope, $2) = $3",
            key,
            len(scope_prefix),
            scope_prefix,
        )
        return {row["scope"]: row["value"] for row in rows}
