"""Channel languages: announcements and public cards speak what their channel speaks.

The catalogs hold no translation yet, so these tests watch the mechanism: the
language each card was built in (the speaking cogs' source names it in the
card), the language stored with each outbox row, and how often a delivery was
built.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.core import Core
from bot.i18n import LANGUAGES, translate
from bot.languages import NAMES
from tests.announcing import run, said, settled, subscribe, until
from tests.bot.speaking_cogs.speaker import Speaker
from tests.conftest import StartHerald, discord_env
from tests.fakes.discord import ADMIN, CHANNEL_ID, EVERYONE, FakeDiscord
from tests.fakes.slack import ADMIN_ID, USER_ID, FakeSlack, form_body, sign

COGS = "tests.bot.speaking_cogs"
NOW_SPEAKS = "Announcements and public cards in {channel} now speak {language_name}."
OTHER_CHANNEL = 555555555555555555


async def start(herald: StartHerald, discord: FakeDiscord, **env: str) -> Core:
    return await herald(COGS, **discord_env(discord), **env)


def speaker(core: Core) -> Speaker:
    cog = core.cogs["speaker"]
    assert isinstance(cog, Speaker)
    return cog


async def announce(core: Core, item: str, **payload: Any) -> None:
    await core.announcements.submit("speaker", "news.posted", {"item": item, **payload}, item)
    await settled(core)


async def ask(
    discord: FakeDiscord,
    name: str,
    admin: bool = True,
    channels: dict[str, str] | None = None,
    **options: str,
) -> str:
    """What Herald answers `/name options` (`name` may hold a group and subcommands)."""
    command, *path = name.split()
    payload = discord.command_interaction(
        command,
        options,
        subcommand=tuple(path) if len(path) == 2 else path[0],
        permissions=EVERYONE | (ADMIN if admin else 0),
        channels=channels,
    )
    await discord.interact(payload)
    return said(await discord.answer_to(payload))


async def set_language(
    discord: FakeDiscord, language: str, channel: int | None = None, admin: bool = True
) -> str:
    channels = {"channel": str(channel)} if channel else None
    return await ask(
        discord, "herald config language", admin=admin, channels=channels, language=language
    )


async def outbox(core: Core) -> dict[str, list[str]]:
    """The language of each queued event, by channel."""
    found: dict[str, list[str]] = {}
    async with core.store._db.execute("SELECT channel_id, event FROM outbox ORDER BY id") as rows:
        async for channel_id, event in rows:
            found.setdefault(channel_id, []).append(json.loads(event)["language"])
    return found


def titles(discord: FakeDiscord, channel: int) -> list[str]:
    return [m["embeds"][0]["title"] for m in discord.channel_messages(channel)]


async def test_a_channel_set_to_german_gets_cards_built_in_german(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await start(herald, discord)
    await subscribe(core, "speaker")
    confirmed = await set_language(discord, "de")
    assert confirmed == "✅ " + translate(
        NOW_SPEAKS, "de", channel=f"<#{CHANNEL_ID}>", language_name="Deutsch"
    )
    assert "Announcements" not in confirmed, "the answer speaks the channel's new language"
    await announce(core, "n1")
    assert speaker(core).built == ["de"]  # one channel: one build, in its language
    assert await outbox(core) == {str(CHANNEL_ID): ["de"]}
    assert titles(discord, CHANNEL_ID) == ["Spoken in de"]


async def test_channels_in_two_languages_get_a_card_each_and_one_language_one_build(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await start(herald, discord)
    await subscribe(core, "speaker")
    await subscribe(core, "speaker", OTHER_CHANNEL)
    await announce(core, "same")
    assert speaker(core).built == ["en"]
    await set_language(discord, "ja", OTHER_CHANNEL)
    await announce(core, "mixed")
    assert speaker(core).built == ["en", "en", "ja"]
    assert await outbox(core) == {str(CHANNEL_ID): ["en", "en"], str(OTHER_CHANNEL): ["en", "ja"]}
    assert titles(discord, CHANNEL_ID) == ["Spoken in en", "Spoken in en"]
    assert titles(discord, OTHER_CHANNEL) == ["Spoken in en", "Spoken in ja"]


async def test_a_discord_server_speaks_its_preferred_locale_unless_a_channel_is_set(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    discord.guild_locale = "fr"
    core = await start(herald, discord)
    await subscribe(core, "speaker")
    await announce(core, "n1")
    assert titles(discord, CHANNEL_ID) == ["Spoken in fr"]
    listed = said(await run(discord, "subscriptions"))
    assert f"🌐 <#{CHANNEL_ID}> speaks the server's language, Français." in listed
    await set_language(discord, "pt_BR")
    assert f"🌐 <#{CHANNEL_ID}> speaks Português (Brasil)." in said(
        await run(discord, "subscriptions")
    )
    reset = await set_language(discord, "default")
    assert reset == "✅ " + translate(
        "{channel} speaks the server's language again: {language_name}.",
        "fr",
        channel=f"<#{CHANNEL_ID}>",
        language_name="Français",
    )
    assert await core.channel_language("discord", str(CHANNEL_ID)) == "fr"
    await announce(core, "n2")
    assert speaker(core).built == ["fr", "fr"]


async def test_herald_language_is_the_default_where_the_platform_has_none(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await start(herald, discord, HERALD_LANGUAGE="pt-BR")
    await subscribe(core, "speaker")
    await announce(core, "n1")
    assert speaker(core).built == ["pt_BR"]
    assert await core.channel_language("console", "anywhere") == "pt_BR"


async def test_only_admins_choose_a_channel_language(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await start(herald, discord)
    refused = await set_language(discord, "de", admin=False)
    assert refused == "⚠️ Only admins can use /herald config language."
    assert await core.store.get_setting(f"channel:discord:{CHANNEL_ID}", "language") is None
    assert await core.channel_language("discord", str(CHANNEL_ID)) == "en"


async def test_commands_know_what_their_channel_speaks(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    await start(herald, discord)
    await set_language(discord, "ko")
    assert await ask(discord, "language here") == "This channel speaks ko."


async def test_a_late_card_is_completed_in_each_language_it_went_out_in(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await start(herald, discord, ENRICH_BUDGET_SECONDS="0.05")
    await subscribe(core, "speaker")
    await subscribe(core, "speaker", OTHER_CHANNEL)
    await set_language(discord, "tr", OTHER_CHANNEL)
    await announce(core, "slow", slow=True)
    assert titles(discord, OTHER_CHANNEL) == ["Spoken in tr"]
    speaker(core).answer("the look-up answered")

    await until(
        lambda: all(
            m["embeds"][0].get("description")
            for c in (CHANNEL_ID, OTHER_CHANNEL)
            for m in discord.channel_messages(c)
        )
    )
    assert titles(discord, CHANNEL_ID) == ["Spoken in en"]
    assert titles(discord, OTHER_CHANNEL) == ["Spoken in tr"]
    assert sorted(speaker(core).built) == ["en", "en", "tr", "tr"]


def test_every_shipped_language_is_offered_by_its_own_name() -> None:
    assert set(NAMES) == set(LANGUAGES)


@pytest.mark.parametrize("tag", ["de", "fr", "ja"])
def test_language_names_are_not_english(tag: str) -> None:
    assert NAMES[tag] != tag


async def test_slack_channels_speak_herald_language_until_an_admin_sets_one(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald(COGS, **slack.env("http"), HERALD_LANGUAGE="ja")

    async def slash(command: str, text: str, user: str = USER_ID) -> str:
        body = form_body(slack.slash_command(command, text, user_id=user))
        answered = len(slack.responses)
        async with httpx.AsyncClient() as client:
            await client.post(
                f"http://127.0.0.1:{core.server.port}/slack/events",
                content=body,
                headers=sign(body),
            )
        answers = await slack.wait_for_response(answered + 1)
        return str(answers[-1]["blocks"][0]["text"]["text"])

    assert await slash("/language", "here") == "This channel speaks ja."
    confirmed = await slash("/herald", "config language de", ADMIN_ID)
    assert confirmed.endswith(
        translate(NOW_SPEAKS, "de", channel="<#C0GENERAL>", language_name="Deutsch")
    )
    assert await slash("/language", "here") == "This channel speaks de."
