"""Players see Herald in their own language, end to end through the real libraries.

Expected texts come from the shipped catalogs (`translate`), and each test also
checks they are not the English ones, so a catalog that lost its translation,
or a path that forgot the language, fails here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from discord import Locale

from bot.core import Core
from bot.i18n import SOURCE, format_day, resolve, translate
from bot.languages import NAMES
from cogs.betahub.cog import SUGGESTION_TOO_SHORT
from tests.announcing import fields, hacknplan, sample, settled, subscribe
from tests.conftest import StartHerald, betahub_env, discord_env, hacknplan_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import ADMIN, CHANNEL_ID, EPHEMERAL, EVERYONE, FakeDiscord
from tests.fakes.slack import USER_ID, FakeSlack, form_body, sign

IDEA = "Add a photo mode with a free camera and filters"
RECEIVED = "Suggestion received: {title}"
OTHER_CHANNEL = 555555555555555555
# Every Discord locale a shipped catalog speaks (Latin American Spanish reads Spain's).
DISCORD_LOCALES = {locale.value for locale in Locale if resolve(locale.value) != SOURCE}


def commands_and_options(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for entry in entries:
        found.append(entry)
        found.extend(commands_and_options(entry.get("options") or []))
    return found


async def test_every_registered_command_is_described_in_every_shipped_language(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub), **hacknplan_env())
    uploaded = discord.commands["global"]

    typed = [c for c in uploaded if c.get("type", 1) == 1]
    for entry in commands_and_options(typed):
        if entry.get("type") in (1, 2, None) or entry.get("description"):
            localized = entry.get("description_localizations") or {}
            assert set(localized) == DISCORD_LOCALES, entry["name"]
        for choice in entry.get("choices") or []:
            # Not a language named in itself nor a product: those read the same everywhere.
            if choice["name"].lower() != choice["value"] and choice["name"] not in NAMES.values():
                assert set(choice.get("name_localizations") or {}) == DISCORD_LOCALES, choice
        assert not entry.get("name_localizations"), "names stay English"
    suggest = next(c for c in typed if c["name"] == "suggest")
    portuguese = translate("Suggest a feature for the game", "pt_BR")
    assert suggest["description_localizations"]["pt-BR"] == portuguese != suggest["description"]

    menus = [c for c in uploaded if c.get("type") == 3]
    assert menus
    for menu in menus:
        assert set(menu.get("name_localizations") or {}) == DISCORD_LOCALES, menu["name"]
    report = next(m for m in menus if m["name"] == "Report as bug")
    assert report["name_localizations"]["ja"] == translate("Report as bug", "ja")


@pytest.fixture
async def brazilian_server(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> FakeDiscord:
    discord.guild_locale = "pt-BR"
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


async def in_portuguese(discord: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    payload["locale"] = "pt-BR"
    await discord.interact(payload)
    return payload


async def test_suggest_from_a_brazilian_player_speaks_portuguese(
    brazilian_server: FakeDiscord, betahub: FakeBetaHub
) -> None:
    discord = brazilian_server
    payload = await in_portuguese(
        discord, discord.command_interaction("suggest", {"description": IDEA, "title": "Foto"})
    )
    card = (await discord.answer_to(payload))["embeds"][0]
    assert card["title"] == translate(RECEIVED, "pt_BR", title="Foto")
    assert card["title"] != RECEIVED.format(title="Foto")
    assert betahub.created[0]["feature_request[title]"] == "Foto", "the player's text as written"

    refused = await in_portuguese(
        discord, discord.command_interaction("suggest", {"description": "fotos"})
    )
    await discord.wait_for("POST", f"/interactions/{refused['id']}/")
    (callback,) = discord.callbacks_for(refused)
    assert callback.json["data"]["flags"] & EPHEMERAL
    explanation = translate(SUGGESTION_TOO_SHORT, "pt_BR")
    assert explanation != SUGGESTION_TOO_SHORT
    assert explanation in callback.json["data"]["content"]

    bare = await in_portuguese(discord, discord.command_interaction("suggest", {}))
    modal = await discord.opened_modal(bare)
    labels = {c["component"]["custom_id"]: c["label"] for c in modal["components"]}
    assert labels == {
        "description": translate("Description", "pt_BR"),
        "title": translate("Title", "pt_BR"),
    }
    assert labels["description"] != "Description"
    hint = modal["components"][0]["description"]
    assert hint == translate("What you would like to see, and why", "pt_BR")


async def test_an_unknown_locale_gets_english(
    brazilian_server: FakeDiscord, betahub: FakeBetaHub
) -> None:
    discord = brazilian_server
    payload = discord.command_interaction("suggest", {"description": "fotos"})
    payload["locale"] = "xx"
    await discord.interact(payload)
    await discord.wait_for("POST", f"/interactions/{payload['id']}/")
    (callback,) = discord.callbacks_for(payload)
    assert SUGGESTION_TOO_SHORT in callback.json["data"]["content"]


async def announced(
    herald: StartHerald, discord: FakeDiscord, guild_locale: str | None, language: str | None
) -> dict[str, dict[str, Any]]:
    """The card a HacknPlan work item gets in an English channel and in a channel of the
    server's language (`guild_locale`) or set to `language` by an admin."""
    discord.guild_locale = guild_locale
    core: Core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    await subscribe(core, "hacknplan", OTHER_CHANNEL)
    for channel, chosen in ((CHANNEL_ID, language), (OTHER_CHANNEL, "en")):
        if chosen is None:
            continue
        payload = discord.command_interaction(
            "herald",
            {"language": chosen},
            subcommand=("config", "language"),
            permissions=EVERYONE | ADMIN,
            channels={"channel": str(channel)},
        )
        await discord.interact(payload)
        await discord.answer_to(payload)
    assert (await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created")))[
        0
    ] == 200
    await settled(core)
    return {
        "en": discord.channel_messages(OTHER_CHANNEL)[-1]["embeds"][0],
        "other": discord.channel_messages(CHANNEL_ID)[-1]["embeds"][0],
    }


@pytest.mark.parametrize(
    ("guild_locale", "language", "expected"),
    [(None, "de", "de"), ("fr", None, "fr")],
    ids=["channel set to German", "French server"],
)
async def test_an_announcement_speaks_its_channels_language(
    herald: StartHerald,
    discord: FakeDiscord,
    guild_locale: str | None,
    language: str | None,
    expected: str,
) -> None:
    cards = await announced(herald, discord, guild_locale, language)
    english, other = fields(cards["en"]), fields(cards["other"])
    assert list(other) == [translate(name, expected) for name in english]
    assert list(other) != list(english), "the field names are translated"
    assert english["Due"] == "Mar 9, 2026"
    assert other[translate("Due", expected)] == format_day(date(2026, 3, 9), expected)
    assert other[translate("Due", expected)] != english["Due"], "dates as the language writes"
    assert cards["other"]["description"] == cards["en"]["description"], "the item's text as sent"


async def test_a_slack_user_reading_spanish_gets_spanish_replies_and_forms(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    slack.locales[USER_ID] = "es-ES"

    async def send(body: str) -> None:
        url = f"http://127.0.0.1:{core.server.port}/slack/events"
        async with httpx.AsyncClient() as client:
            response = await client.post(url, content=body, headers=sign(body))
        assert response.status_code == 200

    await send(form_body(slack.slash_command("/suggest")))
    view = await slack.wait_for_view()
    labels = [block["label"]["text"] for block in view["blocks"]]
    assert labels == [translate("Description", "es"), translate("Title", "es")]
    assert labels[0] != "Description"

    await send(form_body(slack.slash_command("/suggest", "description: fotos")))
    (answer,) = await slack.wait_for_response()
    assert translate(SUGGESTION_TOO_SHORT, "es") in answer["text"]
