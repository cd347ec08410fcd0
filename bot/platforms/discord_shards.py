"""Discord sharding: which shards this process runs, whether it uploads the command
list, and how its shards are doing.

With `DISCORD_SHARD_COUNT` (and optionally `DISCORD_SHARD_IDS`) Herald runs
discord.py's `AutoShardedClient`, so several processes split the guilds between
them: Discord sends a guild's events on shard `(guild_id >> 22) % count`. Every
process serves webhooks, deliveries and probes whether or not it holds a gateway
session; only one uploads the command list (the application's commands are one
list, whichever shard sees them used).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0
"""Seconds Discord counts identifies over: `max_concurrency` per window."""


def sharded(settings: Settings) -> bool:
    return settings.discord_shard_count is not None


def shard_options(settings: Settings) -> dict[str, Any]:
    """The `AutoShardedClient` arguments the settings ask for (none when not sharded)."""
    if not sharded(settings):
        return {}
    return {
        "shard_count": settings.discord_shard_count,
        "shard_ids": list(settings.discord_shard_ids) or None,
    }


def syncs_commands(settings: Settings) -> bool:
    """Whether this process uploads the command list: `DISCORD_SYNC_COMMANDS` when
    `always`/`never`; by default the process that runs shard 0 (unsharded: the process
    holding the gateway session uploads it as it takes it, see `discord_gateway`)."""
    if settings.discord_sync_commands != "auto":
        return settings.discord_sync_commands == "always"
    if not settings.discord_shard_ids or 0 in settings.discord_shard_ids:
        return True
    log.info(
        "Discord: not uploading commands; the process running shard 0 does"
        " (DISCORD_SYNC_COMMANDS=always to upload from this one)"
    )
    return False


class IdentifyPacer:
    """Spaces shards' identifies as Discord asks: shards share rate-limit buckets
    `shard_id % max_concurrency`, each taking one identify per 5 s. A shard waits
    only for its own bucket (discord.py alone waits 5 s before every shard but the
    first, reconnects included)."""

    def __init__(self) -> None:
        self.slots = 1  # Discord's max_concurrency, from GET /gateway/bot
        self._next: dict[int, float] = {}  # bucket -> when it takes an identify again

    async def wait(self, shard_id: int) -> None:
        bucket = shard_id % self.slots
        now = time.monotonic()
        turn = max(now, self._next.get(bucket, now))
        self._next[bucket] = turn + IDENTIFY_WINDOW
        await asyncio.sleep(turn - now)


def shard_status(bot: discord.AutoShardedClient) -> dict[str, dict[str, Any]]:
    """Shard id -> whether its gateway connection is open and its heartbeat latency
    (seconds; None before the first heartbeat is answered)."""
    return {
        str(shard_id): {
            "connected": not shard.is_closed(),
            "latency": None if math.isinf(shard.latency) else round(shard.latency, 3),
        }
        for shard_id, shard in sorted(bot.shards.items())
    }


def all_connected(bot: discord.AutoShardedClient) -> bool:
    """Every shard this process runs has its gateway connection open."""
    expected = bot.shard_ids or range(bot.shard_count or 0)
    shards = bot.shards
    return all(i in shards and not shards[i].is_closed() for i in expected)
