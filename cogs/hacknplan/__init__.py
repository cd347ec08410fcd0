"""HacknPlan: webhook events announced in subscribed channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.hacknplan.cog import HacknPlan
from cogs.hacknplan.settings import HacknPlanSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    await core.add_cog(HacknPlan(core, core.service_settings(HacknPlanSettings)))
