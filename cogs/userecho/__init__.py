"""UserEcho, the community forum: `/topic` (and, beside it, forum events).

Each part has its own settings and loads when they are set; the package is
skipped only when no part is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import NotConfigured
from cogs.userecho import topics

if TYPE_CHECKING:
    from bot.core import Core

PARTS: tuple[Callable[[Core], Awaitable[None]], ...] = (topics.setup,)


async def setup(core: Core) -> None:
    missing: list[str] = []
    loaded = False
    for part in PARTS:
        try:
            await part(core)
        except NotConfigured as unset:
            missing += [name for name in unset.missing if name not in missing]
        else:
            loaded = True
    if not loaded:
        raise NotConfigured(missing)
