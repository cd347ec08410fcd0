"""BetaHub: feature requests, support tickets and bug reports from chat; release news."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.pending import Submissions
from cogs.betahub.cog import BetaHub
from cogs.betahub.settings import BetaHubSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    settings = core.service_settings(BetaHubSettings)
    await core.add_cog(BetaHub(core, settings, Submissions.settings_for(core)))
