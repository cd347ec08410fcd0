"""UserEcho, the community forum: `/topic`, and forum topic and comment announcements.

Each part has its own settings and loads when they are set; the package is
skipped only when no part is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cog import setup_any
from cogs.userecho import topics
from cogs.userecho.events import UserEchoEvents
from cogs.userecho.webhook_settings import UserEchoWebhookSettings

if TYPE_CHECKING:
    from bot.core import Core


async def setup_events(core: Core) -> None:
    await core.add_cog(UserEchoEvents(core, core.service_settings(UserEchoWebhookSettings)))


async def setup(core: Core) -> None:
    await setup_any(core, topics.setup, setup_events)
