"""Command descriptions, option descriptions, choices and menu entries in each user's language.

Discord shows a command list in the language of each person's client, from
the `*_localizations` uploaded with the commands. discord.py asks a
`Translator` for every text and every Discord locale when it syncs; this one
answers from Herald's catalogs (`bot.i18n`). Command, group and option
names stay English: they are what people type, what the docs and other
people's messages show. A message-menu entry ("Report as bug") is a name
Discord lets people read in their own language, so it is translated.

A Discord locale maps to a catalog as `bot.i18n.resolve` maps any tag, so
the command list speaks the language replies to the same person speak
(`es-419` gets Spain's Spanish, `zh-TW` and `en-GB` the English source).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Location

from bot.i18n import SOURCE, has_translation, resolve, translate
from bot.text import truncate

# Discord's limits for the localized texts (a name of a message menu, the rest).
MENU_NAME_LIMIT = 32
TEXT_LIMIT = 100
_NAMES = frozenset({Location.command_name, Location.group_name, Location.parameter_name})


def localized(message: str, /, **params: Any) -> app_commands.locale_str:
    """`message` (marked with `N_`) with `{placeholders}` filled, for discord.py to
    upload in English and, through `Translator`, in every shipped language."""
    english = translate(message, SOURCE, **params)
    return app_commands.locale_str(english, message=message, params=params)


def catalog(locale: discord.Locale) -> str | None:
    """The shipped catalog for a Discord locale; None for English (the text itself)."""
    language = resolve(locale.value)
    return None if language == SOURCE else language


class Translator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The catalog's text for `string` in `locale`; None (Discord shows the
        English) for names people type and for texts the catalog lacks."""
        menu = isinstance(context.data, app_commands.ContextMenu)
        if context.location in _NAMES and not menu:
            return None
        language = catalog(locale)
        message: str = string.extras.get("message", string.message)
        if language is None or not has_translation(message, language):
            return None
        text = translate(message, language, **string.extras.get("params", {}))
        return truncate(text, MENU_NAME_LIMIT if menu else TEXT_LIMIT)
