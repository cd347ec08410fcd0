"""The real BetaHub cog, emitting into a `Recorder`."""

from __future__ import annotations

from bot.core import Core
from cogs import betahub
from tests.seam import Recorder


async def setup(core: Core) -> None:
    await betahub.setup(core, emit=Recorder())
