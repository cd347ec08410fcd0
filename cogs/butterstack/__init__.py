"""ButterStack: live build and deployment announcements, /build, /deploys and /changelist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.butterstack.cog import ButterStack
from cogs.butterstack.settings import ButterStackSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core) -> None:
    await core.add_cog(ButterStack(core, core.service_settings(ButterStackSettings)))
