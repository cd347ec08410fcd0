"""A source whose cards name the language Herald spoke while building them.

`news.posted` payloads: `{"item": ..., "slow": true}`; a slow one waits on a
look-up that answers when the test calls `answer` (after the budget is spent).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from bot.budget import within_budget
from bot.cog import Cog
from bot.commands import command
from bot.events import Event, Source
from bot.i18n import current_language
from bot.models import Card, Invocation, Reply

if TYPE_CHECKING:
    from bot.core import Core


class Speaker(Cog):
    name = "speaker"

    def __init__(self) -> None:
        self.built: list[str] = []  # the language of each event built, in order
        self._look_up: asyncio.Future[str] | None = None

    def answer(self, detail: str) -> None:
        """The slow look-up answers."""
        if self._look_up is not None:
            self._look_up.set_result(detail)

    async def normalise(self, kind: str, payload: dict[str, Any]) -> Event:
        language = current_language()
        self.built.append(language)
        detail = None
        if payload.get("slow"):
            if self._look_up is None:
                self._look_up = asyncio.get_running_loop().create_future()
            detail = await within_budget(self._look_up)
        return Event(
            source=self.name,
            kind=kind,
            card=Card(title=f"Spoken in {language}", description=detail),
            line=f"news in {language}",
            item=payload.get("item"),
            title="News",
        )

    @command("language here", "Say what this channel speaks")
    async def here(self, ctx: Invocation) -> Reply:
        return Reply(text=f"This channel speaks {ctx.channel_language}.", ephemeral=True)


async def setup(core: Core) -> None:
    cog = Speaker()
    core.announcements.add_source(Source(cog.name, "Speaker", ("news.posted",), (), cog.normalise))
    await core.add_cog(cog)
