"""Settings: small values by scope and key."""

from __future__ import annotations

from bot.store.sqlite.base import SqliteBase

INSTANCE = ("herald", "instance_id")


class SqliteSettings(SqliteBase):
    async def instance_id(self) -> str:
        """This database's random id (made by migration 5)."""
        return await self.get_setting(*INSTANCE) or ""

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

    async def delete_setting(self, scope: str, key: str) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM settings WHERE scope = ? AND key = ?", (scope, key))

    async def settings_named(self, key: str, scope_prefix: str) -> dict[str, str]:
        """Every `key` setting whose scope starts with `scope_prefix`, by scope."""
        async with self._db.execute(
            "SELECT scope, value FROM settings WHERE key = ? AND substr(scope, 1, ?) = ?",
            (key, len(scope_prefix), scope_prefix),
        ) as cursor:
            return {row["scope"]: row["value"] for row in await cursor.fetchall()}
