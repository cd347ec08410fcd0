"""The language each channel speaks: for announcements and public cards posted there.

A channel speaks what an admin chose for it with `/herald config language`,
else what its platform says its server speaks (a Discord server's
`preferred_locale`; Slack has no such setting), else `HERALD_LANGUAGE`.
The choices are few and read on every routed delivery and command, so they
are loaded at start and kept in memory; choosing one updates both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import Choice
from bot.i18n import LANGUAGES, N_, resolve

if TYPE_CHECKING:
    from bot.core import Core

KEY = "language"
SCOPE = "channel:"
SERVER_DEFAULT = "default"

# Each shipped language as its speakers name it: never translated.
NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt_BR": "Português (Brasil)",
    "ru": "Русский",
    "pl": "Polski",
    "tr": "Türkçe",
    "ja": "日本語",
    "ko": "한국어",
    "zh_CN": "简体中文",
}
CHOICES = (
    *(Choice(NAMES[tag], tag) for tag in LANGUAGES),
    Choice(N_("Server default"), SERVER_DEFAULT),
)


def _scope(platform: str, channel_id: str) -> str:
    return f"{SCOPE}{platform}:{channel_id}"


class ChannelLanguages:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._chosen: dict[str, str] = {}

    async def load(self) -> None:
        """Read the channels' chosen languages (at start, once the store is open)."""
        stored = await self.core.store.settings_named(KEY, SCOPE)
        self._chosen = {scope: resolve(language) for scope, language in stored.items()}

    def chosen(self, platform: str, channel_id: str) -> str | None:
        """The language an admin chose for the channel; None when it speaks its default."""
        return self._chosen.get(_scope(platform, channel_id))

    def of(self, platform: str, channel_id: str) -> str:
        """The shipped language the channel speaks (see the module doc)."""
        chosen = self.chosen(platform, channel_id)
        if chosen is not None:
            return chosen
        return self.default(platform, channel_id)

    def default(self, platform: str, channel_id: str) -> str:
        """What the channel speaks when no language was chosen for it."""
        adapter = self.core.platform(platform)
        server = adapter.channel_language(channel_id) if adapter is not None else None
        return resolve(server or self.core.settings.herald_language)

    async def choose(self, platform: str, channel_id: str, language: str | None) -> None:
        """Make the channel speak `language` (a shipped one); None: its default again."""
        scope = _scope(platform, channel_id)
        if language is None:
            await self.core.store.delete_setting(scope, KEY)
            self._chosen.pop(scope, None)
        else:
            await self.core.store.set_setting(scope, KEY, language)
            self._chosen[scope] = language
