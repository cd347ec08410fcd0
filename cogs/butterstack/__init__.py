"""ButterStack: live build and deployment announcements, /build, /deploys and /changelist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.polling import Emit, log_only
from cogs.butterstack.cog import ButterStack
from cogs.butterstack.settings import ButterStackSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup(core: Core, emit: Emit = log_only) -> None:
    """Load the cog; `emit` is where the poller's events go."""
    await core.add_cog(ButterStack(core, core.service_settings(ButterStackSettings), emit))
