"""BugHerd: task and comment webhooks announced in subscribed channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.bugherd.cog import BugHerd
from cogs.bugherd.settings import BugHerdSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    await core.add_cog(BugHerd(core, core.service_settings(BugHerdSettings)))
