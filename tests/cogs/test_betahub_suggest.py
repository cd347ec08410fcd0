"""/suggest end to end: a real discord.py bot, a fake Discord and a fake BetaHub."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env, unmarked
from tests.fakes.betahub import PROJECT_ID, TOKEN, FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, EPHEMERAL, USER_ID, FakeDiscord

IDEA = "Add a photo mode with a free camera and filters"


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> FakeDiscord:
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


async def suggest(discord: FakeDiscord, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction("suggest", options)
    await discord.interact(payload)
    return payload


async def test_suggest_sends_the_feature_request_on_the_users_behalf(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = await suggest(bot, description=IDEA, title="Photo mode")
    answer = await bot.answer_to(payload)

    (call,) = betahub.find("POST", "/feature_requests.json")
    assert call.path == f"/projects/{PROJECT_ID}/feature_requests.json"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["BetaHub-Project-ID"] == PROJECT_ID
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = dict(call.form)
    assert unmarked(form.pop("feature_request[description]")) == IDEA
    assert form == {
        "feature_request[title]": "Photo mode",
        "user[discord_id]": str(USER_ID),
        "user[discord_username]": "ada",
        "user[discord_discriminator]": "0",
    }

    (callback,) = bot.callbacks_for(payload)
    assert callback.json["type"] == 5, "the interaction is deferred before BetaHub is called"
    embed = answer["embeds"][0]
    assert embed["title"] == "Suggestion received: Photo mode"
    assert embed["url"] == f"https://app.betahub.io/projects/{PROJECT_ID}/feature_requests/1"
    assert answer["allowed_mentions"] == {"parse": []}
    button = answer["components"][0]["components"][0]
    assert button["url"] == embed["url"]


async def test_suggest_defers_before_calling_betahub(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = await suggest(bot, description=IDEA)
    await bot.answer_to(payload)
    (callback,) = bot.callbacks_for(payload)
    (created,) = betahub.find("POST", "/feature_requests.json")
    assert callback.json["type"] == 5
    assert bot.interactions[int(payload["id"])].acknowledged
    assert "feature_request[title]" not in created.form


async def test_legacy_discriminator_is_sent(bot: FakeDiscord, betahub: FakeBetaHub) -> None:
    payload = bot.command_interaction(
        "suggest", {"description": IDEA}, user=bot.user(USER_ID, "olduser", "1234")
    )
    await bot.interact(payload)
    await bot.answer_to(payload)
    assert betahub.created[0]["user[discord_discriminator]"] == "1234"
    assert betahub.created[0]["user[discord_username]"] == "olduser"


async def test_too_short_description_gets_a_friendly_private_explanation(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = await suggest(bot, description="photos")
    await bot.wait_for("POST", f"/interactions/{payload['id']}/")
    (callback,) = bot.callbacks_for(payload)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "at least 10 characters" in callback.json["data"]["content"]
    assert betahub.calls == []


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((500,), "BetaHub is not answering right now (HTTP 500)"),
        ((503, 503, 503), "BetaHub is not answering right now (HTTP 503)"),
        (("hang",), "BetaHub is not answering right now."),
        ((422,), "Scripted failure 422"),
        ((429, 429, 429), "BetaHub is busy right now"),
    ],
)
async def test_betahub_failures_answer_privately_with_a_clear_message(
    bot: FakeDiscord, betahub: FakeBetaHub, answers: tuple[Any, ...], expected: str
) -> None:
    betahub.retry_after = "0"
    betahub.script(*answers)
    payload = await suggest(bot, description=IDEA)
    answer = await bot.answer_to(payload)

    assert expected in answer["content"]
    assert answer["flags"] & EPHEMERAL, "errors are shown to the user only"
    assert bot.webhook_calls(payload, "DELETE"), "the public 'thinking' message is removed"
    assert betahub.created == []


async def test_betahub_refusal_shows_betahubs_own_reason(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script(422)
    payload = await suggest(bot, description=IDEA)
    answer = await bot.answer_to(payload)
    assert answer["content"].startswith("⚠️ Scripted failure 422\n")
    assert answer["content"].endswith(f"> {IDEA}"), "the user's text comes back to them"
    assert len(betahub.find("POST", "/feature_requests.json")) == 1, "a 4xx is not retried"


async def test_title_autocomplete_offers_existing_requests(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("feature_requests", "Photo mode with filters")
    choices = await bot.autocomplete("suggest", "title", "photo mode", description=IDEA)

    (search,) = betahub.find("GET", "/feature_requests/search.json")
    assert search.query == {"query": "photo mode", "partial": "true"}
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert choices == [
        {"name": "photo mode", "value": "photo mode"},
        {"name": "Existing: Photo mode with filters", "value": "Photo mode with filters"},
    ]


async def test_autocomplete_stays_quiet_for_short_input_and_survives_an_outage(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    assert await bot.autocomplete("suggest", "title", "ph") == [{"name": "ph", "value": "ph"}]
    betahub.script_search(503)
    choices = await bot.autocomplete("suggest", "title", "photo mode")
    assert choices == [{"name": "photo mode", "value": "photo mode"}]


async def test_an_existing_request_is_offered_to_vote_on_before_creating(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    existing = betahub.seed("feature_requests", "Photo mode")
    payload = await suggest(bot, description=IDEA, title="Photo mode")
    prompt = await bot.answer_to(payload)

    (search,) = betahub.find("GET", "/feature_requests/search.json")
    assert search.query == {"query": "Photo mode"}
    assert prompt["embeds"][0]["title"] == "Is your suggestion already here?"
    vote, create, cancel = prompt["components"][0]["components"]
    assert (vote["label"], vote["url"]) == ("Vote for: Photo mode", existing["url"])
    assert (create["label"], cancel["label"]) == ("Create anyway", "Cancel")
    assert betahub.created == []

    press = bot.button_press(prompt, "Create anyway")
    await bot.interact(press)
    card = await bot.answer_to(press)
    assert card["embeds"][0]["title"] == "Suggestion received: Photo mode"
    assert unmarked(betahub.created[0]["feature_request[description]"]) == IDEA


async def test_bare_suggest_opens_a_modal(bot: FakeDiscord, betahub: FakeBetaHub) -> None:
    payload = bot.command_interaction("suggest", {})
    modal = await bot.opened_modal(payload)
    assert [c["component"]["custom_id"] for c in modal["components"]] == ["description", "title"]
    assert bot.interactions[int(payload["id"])].callbacks[0]["type"] == 9, "the modal is first"

    submit = bot.modal_submit(payload, {"description": IDEA, "title": "Photo mode"})
    await bot.interact(submit)
    answer = await bot.answer_to(submit)
    assert answer["embeds"][0]["title"] == "Suggestion received: Photo mode"
    assert betahub.created[0]["feature_request[title]"] == "Photo mode"


async def test_suggest_as_feature_menu_replies_to_the_message(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    message = bot.message_payload("wish we had a photo mode with a free camera")
    payload = bot.message_command_interaction("Suggest as feature", message)
    modal = await bot.opened_modal(payload)
    assert modal["title"] == "Suggest as feature"
    assert modal["components"][0]["component"]["value"] == message["content"]

    submit = bot.modal_submit(payload, {})
    await bot.interact(submit)
    (posted,) = await bot.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert str(posted.json["message_reference"]["message_id"]) == message["id"]
    assert posted.json["embeds"][0]["title"].startswith("Suggestion received: wish we had")
    description = betahub.created[0]["feature_request[description]"]
    assert description.startswith(message["content"] + "\n\nFrom a message by Grace: https://")


async def test_message_menus_are_registered(bot: FakeDiscord) -> None:
    menus = {c["name"] for c in bot.commands["global"] if c.get("type") == 3}
    assert menus == {"Report as bug", "Suggest as feature"}
