"""/suggest end to end: a real discord.py bot, a fake Discord and a fake BetaHub."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env
from tests.fakes.betahub import PROJECT_ID, TOKEN, FakeBetaHub
from tests.fakes.discord import EPHEMERAL, USER_ID, FakeDiscord

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
    assert dict(call.form) == {
        "feature_request[description]": IDEA,
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
