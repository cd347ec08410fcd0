"""The per-user cooldown is reserved before the work, and a draft's two buttons cannot both win."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import FakeDiscord

HELP = "I bought the season pass but the new maps are still locked"
BUG = "The game crashes when I open the map after loading a save"
COOLDOWN = "⚠️ You have sent 3 submissions in the last 60 seconds; please try again in "
NOT_SENT = "Not sent. Thanks for checking the existing ones!"


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> FakeDiscord:
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


async def run(discord: FakeDiscord, name: str, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction(name, options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def test_ten_concurrent_tickets_from_one_user_let_three_through(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.create_delay = 0.05  # the work between the check and the record, as in production
    payloads = [
        bot.command_interaction("ticket", {"description": f"{HELP} ({n})"}) for n in range(10)
    ]

    await asyncio.gather(*(bot.interact(p) for p in payloads))
    answers = await asyncio.gather(*(bot.answer_to(p) for p in payloads))

    assert len(betahub.created_in("tickets")) == 3
    refused = [a for a in answers if (a.get("content") or "").startswith(COOLDOWN)]
    created = [a for a in answers if a.get("embeds")]
    assert (len(created), len(refused)) == (3, 7), answers


async def test_a_request_betahub_refuses_gives_the_place_back(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script(422)
    refused = await run(bot, "ticket", description=HELP)
    assert refused["content"].startswith("⚠️ Scripted failure 422")

    for n in range(3):
        answer = await run(bot, "ticket", description=f"{HELP} ({n})")
        assert answer["embeds"][0]["title"].startswith("Support ticket created"), answer
    assert (await run(bot, "ticket", description=HELP))["content"].startswith(COOLDOWN)
    assert len(betahub.created_in("tickets")) == 3


async def test_drafts_waiting_for_create_anyway_count_toward_the_limit(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    for n in range(3):
        prompt = await run(bot, "report", description=BUG, title=f"Crash opening map {n}")
        assert prompt["embeds"][0]["title"] == "Is your bug report already here?"

    searches = len(betahub.find("GET", "/issues/search.json"))
    refused = await run(bot, "report", description=BUG, title="Crash opening map again")

    assert refused["content"].startswith(COOLDOWN)
    assert len(betahub.find("GET", "/issues/search.json")) == searches, "refused before any work"


async def test_create_anyway_uses_the_place_its_draft_holds(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    prompt = await run(bot, "report", description=BUG, title="Crash opening map")
    press = bot.button_press(prompt, "Create anyway")
    await bot.interact(press)
    await bot.answer_to(press)
    for n in range(2):
        assert (await run(bot, "ticket", description=f"{HELP} ({n})"))["embeds"]

    assert (await run(bot, "ticket", description=HELP))["content"].startswith(COOLDOWN)
    assert len(betahub.created) == 3


def texts(discord: FakeDiscord, press: dict[str, Any]) -> list[str]:
    """Everything the user was shown in answer to one button press."""
    shown = []
    for method in ("PATCH", "POST"):
        for call in discord.webhook_calls(press, method):
            body = call.json or {}
            shown.append(body.get("content") or "")
            shown += [e.get("title") or "" for e in body.get("embeds") or []]
    return shown


@pytest.mark.parametrize("cancel_after", [0.0, 0.02, 0.1])
async def test_cancel_racing_create_anyway_has_one_outcome_told_once(
    bot: FakeDiscord, betahub: FakeBetaHub, cancel_after: float
) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    betahub.create_delay = 0.2
    prompt = await run(bot, "report", description=BUG, title="Crash opening map")
    create = bot.button_press(prompt, "Create anyway")
    cancel = bot.button_press(prompt, "Cancel")

    async def cancel_later() -> None:
        await asyncio.sleep(cancel_after)
        await bot.interact(cancel)

    await asyncio.gather(bot.interact(create), cancel_later())
    await asyncio.gather(bot.answer_to(create), bot.answer_to(cancel))
    await asyncio.sleep(betahub.create_delay + 0.2)  # a create in flight lands

    shown = texts(bot, create) + texts(bot, cancel)
    if betahub.created:
        assert len(betahub.created) == 1
        assert not [t for t in shown if "Not sent" in t], shown
        assert "Bug report received: Crash opening map" in shown
    else:
        assert {t for t in shown if t} == {NOT_SENT}, "both presses tell the same outcome"
