"""The real ButterStack cog, emitting into a `Recorder`."""

from __future__ import annotations

from bot.core import Core
from cogs import butterstack
from tests.seam import Recorder


async def setup(core: Core) -> None:
    await butterstack.setup(core, emit=Recorder())
