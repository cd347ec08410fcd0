"""/topic looks for the topic on the forum first: Discord and Slack, a fake UserEcho."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.core import Core
from tests.conftest import StartHerald, discord_env, unmarked, userecho_env
from tests.fakes.discord import EPHEMERAL, FakeDiscord
from tests.fakes.slack import CHANNEL_ID, FakeSlack, form_body, sign
from tests.fakes.userecho import FORUM_ID, TOKEN, FakeUserEcho

TEXT = "Could we get a colour-blind mode for the minimap markers?"
EXISTING = "Colour-blind mode for the minimap"
NOT_SENT = "Not sent. Thanks for checking the existing ones!"
COOLDOWN = "⚠️ You have sent 3 submissions in the last 60 seconds; please try again in "


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho) -> FakeDiscord:
    await herald(**discord_env(discord), **userecho_env(userecho))
    return discord


async def run(discord: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def topic(discord: FakeDiscord, **options: Any) -> dict[str, Any]:
    return await run(discord, discord.command_interaction("topic", options))


def link_to(userecho: FakeUserEcho, existing: dict[str, Any]) -> str:
    return f"{userecho.url}/topics/{existing['id']}/"


async def test_a_near_duplicate_shows_the_existing_topic_and_create_anyway_creates(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    existing = userecho.seed(EXISTING)
    prompt = await topic(bot, title="Colour-blind minimap", description=TEXT, kind="questions")

    (search,) = userecho.find("GET", "/topics/search.json")
    assert search.path == f"/api/v2/forums/{FORUM_ID}/topics/search.json"
    assert search.query == {"query": "Colour-blind minimap"}
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert prompt["flags"] & EPHEMERAL, "only the author sees the question"
    embed = prompt["embeds"][0]
    assert embed["title"] == "Is your topic already here?"
    assert link_to(userecho, existing) in embed["description"]
    vote, create, cancel = prompt["components"][0]["components"]
    assert (vote["label"], vote["url"]) == (f"Vote for: {EXISTING}", link_to(userecho, existing))
    assert (create["label"], cancel["label"]) == ("Create anyway", "Cancel")
    assert userecho.topics == []

    card = await run(bot, bot.button_press(prompt, "Create anyway"))
    (created,) = userecho.topics
    assert (created["header"], created["type"]) == ("Colour-blind minimap", 3)
    assert unmarked(created["description"]).startswith(TEXT)
    assert card["embeds"][0]["title"] == "Topic posted: Colour-blind minimap"
    (new,) = [t for t in userecho.known_topics.values() if t["header"] == created["header"]]
    assert card["embeds"][0]["url"] == f"{userecho.url}/topics/{new['id']}/"


async def test_cancel_creates_nothing_and_a_later_create_anyway_neither(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    userecho.seed(EXISTING)
    prompt = await topic(bot, title="Colour-blind minimap", description=TEXT)

    cancelled = await run(bot, bot.button_press(prompt, "Cancel"))
    assert cancelled["content"] == NOT_SENT
    late = await run(bot, bot.button_press(prompt, "Create anyway"))
    assert late["content"] == NOT_SENT
    assert userecho.find("POST", "/topics.json") == []


async def test_a_loosely_related_topic_does_not_stop_the_creation(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    userecho.seed(EXISTING)
    answer = await topic(bot, title="Minimap zoom level", description=TEXT)

    (search,) = userecho.find("GET", "/topics/search.json")
    assert search.query == {"query": "Minimap zoom level"}
    assert answer["embeds"][0]["title"] == "Topic posted: Minimap zoom level"
    assert len(userecho.topics) == 1


@pytest.mark.parametrize("failure", [500, 401, "hang"])
async def test_a_search_that_fails_or_times_out_still_creates_the_topic(
    bot: FakeDiscord, userecho: FakeUserEcho, failure: int | str
) -> None:
    userecho.seed(EXISTING)
    userecho.script_search(failure)
    answer = await topic(bot, title="Colour-blind minimap", description=TEXT)

    assert answer["embeds"][0]["title"] == "Topic posted: Colour-blind minimap"
    assert userecho.searched == ["Colour-blind minimap"], "one short try, no retries"
    assert len(userecho.topics) == 1


async def test_drafts_waiting_for_create_anyway_count_toward_the_limit(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    userecho.seed(EXISTING)
    for n in range(3):
        prompt = await topic(bot, title=f"Colour-blind minimap {n}", description=TEXT)
        assert prompt["embeds"][0]["title"] == "Is your topic already here?"
    searches = len(userecho.find("GET", "/topics/search.json"))

    refused = await topic(bot, title="Colour-blind minimap again", description=TEXT)

    assert refused["content"].startswith(COOLDOWN)
    assert len(userecho.find("GET", "/topics/search.json")) == searches, "refused before work"
    assert userecho.topics == []


async def test_title_autocompletes_from_the_forum(bot: FakeDiscord, userecho: FakeUserEcho) -> None:
    userecho.seed(EXISTING)
    userecho.seed("Minimap zoom level")
    choices = await bot.autocomplete("topic", "title", "minimap colour")

    (search,) = userecho.find("GET", "/topics/search.json")
    assert search.query == {"query": "minimap colour"}
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert choices == [
        {"name": "minimap colour", "value": "minimap colour"},
        {"name": f"Existing: {EXISTING}", "value": EXISTING},
        {"name": "Existing: Minimap zoom level", "value": "Minimap zoom level"},
    ]


async def test_title_autocomplete_survives_an_outage(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    userecho.seed(EXISTING)
    userecho.script_search(503)
    choices = await bot.autocomplete("topic", "title", "minimap colour")
    assert choices == [{"name": "minimap colour", "value": "minimap colour"}]


# --- Slack -----------------------------------------------------------------------


@pytest.fixture
async def slack_core(herald: StartHerald, slack: FakeSlack, userecho: FakeUserEcho) -> Core:
    return await herald(**slack.env("http"), **userecho_env(userecho))


async def send(core: Core, body: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )
    assert response.status_code == 200


async def slack_prompt(core: Core, slack: FakeSlack) -> dict[str, dict[str, Any]]:
    """/topic with a near-duplicate title from Slack; the prompt's buttons by label."""
    command = slack.slash_command("/topic", f"title: Colour-blind minimap description: {TEXT}")
    await send(core, form_body(command))
    (prompt,) = await slack.wait_for_response()
    assert prompt["response_type"] == "ephemeral"
    assert "Is your topic already here?" in str(prompt["attachments"])
    buttons = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return {b["text"]["text"]: b for b in buttons}


async def test_slack_create_anyway_creates_the_topic(
    slack_core: Core, slack: FakeSlack, userecho: FakeUserEcho
) -> None:
    existing = userecho.seed(EXISTING)
    buttons = await slack_prompt(slack_core, slack)
    assert buttons[f"Vote for: {EXISTING}"]["url"] == link_to(userecho, existing)
    assert userecho.topics == []

    await send(slack_core, slack.interactive(slack.block_action(buttons["Create anyway"])))
    (posted,) = await slack.wait_for_post()
    assert posted["channel"] == CHANNEL_ID
    assert "Topic posted: Colour-blind minimap" in str(posted["attachments"])
    (created,) = userecho.topics
    assert created["header"] == "Colour-blind minimap"
    replaced = await slack.wait_for_response(2)
    assert replaced[-1]["replace_original"] is True


async def test_slack_cancel_creates_nothing(
    slack_core: Core, slack: FakeSlack, userecho: FakeUserEcho
) -> None:
    userecho.seed(EXISTING)
    buttons = await slack_prompt(slack_core, slack)

    await send(slack_core, slack.interactive(slack.block_action(buttons["Cancel"])))
    answers = await slack.wait_for_response(2)
    assert NOT_SENT in str(answers[-1])
    assert userecho.find("POST", "/topics.json") == []
