"""Chat platform adapters, and the choice of which ones run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core import Core
    from bot.platforms.base import Platform


def select(core: Core) -> list[Platform]:
    """The adapters the settings ask for; the console when no platform is configured."""
    platforms: list[Platform] = []
    if core.settings.discord_token is not None:
        from bot.platforms.discord import DiscordPlatform

        platforms.append(DiscordPlatform(core))
    if core.settings.slack_bot_token is not None:
        from bot.platforms.slack import SlackPlatform

        platforms.append(SlackPlatform(core))
    if not platforms:
        from bot.platforms.console import ConsolePlatform

        platforms.append(ConsolePlatform(core))
    return platforms
