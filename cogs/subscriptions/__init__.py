"""Subscriptions: which channels announce which services' events (admin commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.subscriptions.cog import Subscriptions

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    await core.add_cog(Subscriptions(core))
