"""Routing per source: deliveries of a source no cog serves are closed, not left waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store.sqlite import SqliteStore
from tests.conftest import StartHerald, database_file, discord_env
from tests.fakes.discord import FakeDiscord


async def test_deliveries_no_cog_serves_any_more_are_failed_at_start(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord
) -> None:
    store = await SqliteStore.open(database_file(tmp_path))
    await store.add_delivery("retired", "thing.happened", "retired:1", "{}")
    await store.close()
    core = await herald(**discord_env(discord))

    async def closed() -> None:
        while await core.store.new_deliveries(1):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.02)

    await asyncio.wait_for(closed(), 5)
    assert await core.store.unrouted_count() == 0
