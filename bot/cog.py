"""The base class every service cog derives from."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from bot.commands import (
    ACTION_ATTR,
    COMMAND_ATTR,
    ActionHandler,
    CommandInfo,
    CommandSpec,
    build_spec,
)
from bot.config import NotConfigured
from bot.logcontext import bound

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

Setup = Callable[["Core"], Awaitable[None]]


class Cog:
    """One service's commands and background work.

    Subclasses set `name`, define `@command` methods (and `@action` methods for
    buttons), and may override `load` (start background tasks, warm caches)
    and `unload` (stop them). HTTP clients made through `Core.http` are closed
    by the core.
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

    def actions(self) -> dict[str, ActionHandler]:
        """The cog's `@action` methods by name."""
        found: dict[str, ActionHandler] = {}
        for _, method in inspect.getmembers(self, inspect.ismethod):
            name = getattr(method, ACTION_ATTR, None)
            if isinstance(name, str):
                found[name] = method
        return found

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
        """Run `work` (a poller, say) while the cog is loaded: from now until `unload`.
        Its log lines carry the cog's name as their source."""
        with bound(source=self.name):
            self._background = (*self._background, core.spawn(work, name=name))


def find_action(cogs: Mapping[str, Cog], ref: str) -> ActionHandler | None:
    """The handler an `ActionButton(action="<cog>:<name>")` runs, if it is loaded."""
    cog_name, _, name = ref.partition(":")
    cog = cogs.get(cog_name)
    return cog.actions().get(name) if cog is not None else None


async def setup_any(core: Core, *setups: Setup) -> None:
    """Run several cogs' setups of one package; each loads if its settings are there.

    Raises `NotConfigured` (with everything missing) only when none loaded.
    """
    missing: list[str] = []
    skipped: list[tuple[Setup, list[str]]] = []
    for setup in setups:
        try:
            await setup(core)
        except NotConfigured as error:
            missing.extend(m for m in error.missing if m not in missing)
            skipped.append((setup, error.missing))
    if len(skipped) == len(setups):
        raise NotConfigured(missing)
    for setup, needs in skipped:
        name = f"{setup.__module__}.{setup.__name__}"
        log.info("%s not loaded: set %s to enable it", name, ", ".join(needs))
