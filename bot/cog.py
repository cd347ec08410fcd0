"""The base class every service cog derives from."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from bot.commands import COMMAND_ATTR, CommandInfo, CommandSpec, build_spec

if TYPE_CHECKING:
    from bot.core import Core


class Cog:
    """One service's commands and background work.

    Subclasses set `name`, define `@command` methods, and may override `load`
    (start background tasks, warm caches) and `unload` (stop them). HTTP
    clients made through `Core.http` are closed by the core.
    """

    name: ClassVar[str]
    _background: tuple[asyncio.Task[Any], ...] = ()

    def commands(self) -> list[CommandSpec]:
        specs = []
        for _, method in inspect.getmembers(self, inspect.ismethod):
            info = getattr(method, COMMAND_ATTR, None)
            if isinstance(info, CommandInfo):
                specs.append(build_spec(self, method, info, self.name))
        return specs

    async def load(self) -> None:
        """Called once the cog is added, before platforms connect."""

    async def unload(self) -> None:
        """Called at shutdown, before the core closes shared resources.

        Stops what `run_in_background` started; an override should call it.
        """
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def run_in_background(self, core: Core, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` (a poller, say) while the cog is loaded: from now until `unload`."""
        self._background = (*self._background, core.spawn(work, name=name))
