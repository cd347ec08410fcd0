"""Discord's command list in each user's language: names stay English, texts come from
the catalogs, a Discord locale maps to the catalog its replies speak."""

from __future__ import annotations

from typing import Any

import pytest
from discord import Locale, app_commands
from discord.app_commands import TranslationContext, TranslationContextLocation

from bot.i18n import LANGUAGES
from bot.platforms.discord_translator import Translator, catalog
from tests.conftest import StartHerald, betahub_env, discord_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import FakeDiscord

SAMPLE = "tests.bot.sample_cogs"


def named(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every command, group, subcommand and option in an uploaded command list."""
    found = []
    for entry in entries:
        found.append(entry)
        found.extend(named(entry.get("options") or []))
    return found


@pytest.mark.parametrize("cogs", ["cogs", SAMPLE])
async def test_the_uploaded_commands_carry_localizations_but_never_for_names(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, cogs: str
) -> None:
    await herald(cogs, **discord_env(discord), **betahub_env(betahub))

    uploaded = discord.commands["global"]
    typed = [c for c in uploaded if c.get("type", 1) == 1]
    assert typed
    for command in typed:
        assert "description_localizations" in command, "uploaded through the translator"
    for entry in named(typed):
        assert not entry.get("name_localizations"), f"{entry['name']} is typed in English"


@pytest.mark.parametrize(("language", "code"), sorted(LANGUAGES.items()))
def test_every_shipped_language_maps_from_its_discord_locale(language: str, code: str) -> None:
    expected = None if language == "en" else language
    assert catalog(Locale(code)) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (Locale.british_english, None),
        (Locale.latin_american_spanish, "es"),
        (Locale.taiwan_chinese, None),
        (Locale.hindi, None),
        (Locale.norwegian, None),
    ],
)
def test_other_discord_locales_map_as_replies_to_them_speak(
    locale: Locale, expected: str | None
) -> None:
    assert catalog(locale) == expected


async def test_names_and_texts_without_a_translation_are_left_to_discord(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await herald(SAMPLE, **discord_env(discord))
    tree = core.platform("discord").bot.tree  # type: ignore[attr-defined]
    echo = tree.get_command("echo")
    translator = Translator()

    async def translated(text: str, where: TranslationContextLocation, data: Any) -> str | None:
        context = TranslationContext(location=where, data=data)
        return await translator.translate(app_commands.locale_str(text), Locale.german, context)

    locations = TranslationContextLocation
    assert await translated("echo", locations.command_name, echo) is None
    assert await translated("admin", locations.group_name, tree.get_command("admin")) is None
    assert await translated("text", locations.parameter_name, echo) is None
    # The sample cog's texts are in no catalog: Discord shows them as they are.
    assert await translated("Repeat text back", locations.command_description, echo) is None
    assert await translated("Small", locations.choice_name, echo) is None
