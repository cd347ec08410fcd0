"""BetaHub: feature requests, support tickets and bug reports from chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.betahub.cog import BetaHub
from cogs.betahub.settings import BetaHubSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    await core.add_cog(BetaHub(core, core.service_settings(BetaHubSettings)))
