"""The base class every service cog derives from."""

from __future__ import annotations

import inspect
from typing import ClassVar

from bot.commands import COMMAND_ATTR, CommandInfo, CommandSpec, build_spec


class Cog:
    """One service's commands and background work.

    Subclasses set `name`, define `@command` methods, and may override `load`
    (start background tasks, warm caches) and `unload` (stop them). HTTP
    clients made through `Core.http` are closed by the core.
    """

    name: ClassVar[str]

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
        """Called at shutdown, before the core closes shared resources."""
