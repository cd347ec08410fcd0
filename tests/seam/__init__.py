"""Where pollers' events go in tests until the announcements pipeline takes them.

`tests.seam.cogs` is a cog package that loads the real ButterStack and BetaHub
cogs with a `Recorder` as their `emit`; start Herald with
`herald("tests.seam.cogs", ...)` and read `core.cogs[name].emit`.
"""

from __future__ import annotations

import asyncio

from bot.polling import Event


class Recorder:
    """Keeps every `(event, key)` emitted, in order."""

    def __init__(self) -> None:
        self.emitted: list[tuple[Event, str]] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, event: Event, key: str) -> None:
        self.emitted.append((event, key))
        async with self._arrived:
            self._arrived.notify_all()

    @property
    def events(self) -> list[Event]:
        return [event for event, _ in self.emitted]

    @property
    def keys(self) -> list[str]:
        return [key for _, key in self.emitted]

    def about(self, item: str) -> list[Event]:
        return [event for event in self.events if event.item == item]

    async def wait_for(self, count: int, timeout: float = 5) -> list[Event]:
        """Wait until at least `count` events were emitted; return them all."""

        async def arrived() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.emitted) >= count)

        try:
            await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            seen = [f"{e.kind} {e.item}" for e in self.events]
            raise AssertionError(f"no {count} events within {timeout}s; saw {seen}") from None
        return self.events
