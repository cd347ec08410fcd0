"""Status follow-ups end to end: items created through Discord, their status changed at
the fake BetaHub and UserEcho, the card edited and the reporter told once; /mine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.core import Core
from bot.i18n import translate
from bot.models import Colour
from tests.announcing import sample
from tests.announcing import userecho as send_webhook
from tests.conftest import (
    StartHerald,
    betahub_env,
    discord_env,
    userecho_env,
    userecho_webhook_env,
)
from tests.fakes.betahub import PROJECT_ID, FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, EPHEMERAL, USER_ID, FakeDiscord
from tests.fakes.userecho import FakeUserEcho

BUG = "The game crashes when I open the map after loading a save"
POLL = "0.2"
ISSUES = f"/projects/{PROJECT_ID}/issues.json"
DM_OPEN = "/users/@me/channels"


async def start(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> Core:
    return await herald(
        **discord_env(discord),
        **betahub_env(betahub),
        **userecho_env(userecho),
        BETAHUB_FOLLOWUP_POLL_SECONDS=POLL,
        USERECHO_FOLLOWUP_POLL_SECONDS=POLL,
    )


async def run(discord: FakeDiscord, name: str, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction(name, options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def until(condition: Callable[[], Any], what: str, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"no {what} within {timeout}s"
        await asyncio.sleep(0.05)


async def read_once(core: Core) -> None:
    """Until every followed item has had its first reading."""

    async def all_read() -> bool:
        items = await core.store.user_followups("discord", str(USER_ID), 100)
        return bool(items) and all(i.status is not None for i in items)

    await until(all_read, "first reading")


async def next_passes(betahub: FakeBetaHub, userecho: FakeUserEcho, count: int = 2) -> None:
    """Until the pollers of what was created have read `count` more times."""
    issues = len(betahub.find("GET", ISSUES))
    topics = len(userecho.find("GET", "/topics/"))

    async def passed() -> bool:
        bugs_read = not betahub.created or len(betahub.find("GET", ISSUES)) >= issues + count
        topics_read = not userecho.topics or len(userecho.find("GET", "/topics/")) >= topics + count
        return bugs_read and topics_read

    await until(passed, f"{count} more readings")


def dms(discord: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in discord.messages.values() if int(m["channel_id"]) in discord.dm_channels]


def status_of(message: dict[str, Any]) -> str | None:
    fields = {f["name"]: f["value"] for f in message["embeds"][0].get("fields", [])}
    return fields.get("Status")


@pytest.fixture
async def core(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> Core:
    return await start(herald, discord, betahub, userecho)


async def test_a_status_change_edits_the_card_and_tells_the_reporter_once(
    core: Core,
    herald: StartHerald,
    discord: FakeDiscord,
    betahub: FakeBetaHub,
    userecho: FakeUserEcho,
) -> None:
    ticket = await run(discord, "ticket", description="I cannot log in since the patch")
    bug = await run(discord, "report", description=BUG, title="Map crash")
    topic = await run(
        discord, "topic", title="Cloud saves", description="Sync saves between PC and Deck"
    )
    cards = {int(m["id"]): m for m in discord.channel_messages(CHANNEL_ID)}
    assert len(cards) == 2, "a ticket's card is private: there is none to edit"
    bug_card = next(m for m in cards.values() if "Map crash" in m["embeds"][0]["title"])
    topic_card = next(m for m in cards.values() if "Cloud saves" in m["embeds"][0]["title"])
    await read_once(core)
    assert dms(discord) == [], "the first reading is only recorded"

    betahub.set_status("tickets", 1, "solved")
    betahub.set_status("issues", 2, "in_progress")
    userecho.set_status(101, "Planned")
    await until(lambda: _count(dms(discord), 3), "three DMs")

    texts = sorted(discord.text_of(m) for m in dms(discord))
    bug_url = bug["embeds"][0]["url"]
    topic_url = topic["embeds"][0]["url"]
    assert texts == sorted(
        [
            f"🔔 Your bug report [Map crash]({bug_url}): New → **In progress**\n{bug_url}",
            "🔔 Your support ticket [I cannot log in since the patch]"
            f"({ticket['embeds'][0]['url']}): New → **Solved**\n{ticket['embeds'][0]['url']}",
            f"🔔 Your forum topic [Cloud saves]({topic_url}): New → **Planned**\n{topic_url}",
        ]
    )
    assert status_of(discord.messages[int(bug_card["id"])]) == "In progress"
    assert discord.messages[int(bug_card["id"])]["embeds"][0]["color"] == Colour.WARN
    assert status_of(discord.messages[int(topic_card["id"])]) == "Planned"
    card_buttons = discord.messages[int(bug_card["id"])]["components"][0]["components"]
    assert [b["url"] for b in card_buttons] == [bug_url], "the card keeps its link"

    await next_passes(betahub, userecho)
    assert len(dms(discord)) == 3, "a second reading of the same status tells nothing"

    bug_dm = next(m for m in dms(discord) if "Map crash" in discord.text_of(m))
    press = discord.button_press(bug_dm, "Stop updates")
    await discord.interact(press)
    stopped = await discord.answer_to(press)
    assert "No more messages about" in stopped["content"]
    betahub.set_status("issues", 2, "resolved")
    await until(lambda: _card_says(discord, bug_card, "Resolved"), "the card edit")
    await next_passes(betahub, userecho)
    assert len(dms(discord)) == 3, "Stop updates stops the messages, not the card"
    assert discord.messages[int(bug_card["id"])]["embeds"][0]["color"] == Colour.OK

    await core.close()
    betahub.set_status("tickets", 1, "closed")
    again = await start(herald, discord, betahub, userecho)
    await until(lambda: _count(dms(discord), 4), "the change made while Herald was down")
    await next_passes(betahub, userecho)
    assert len(dms(discord)) == 4, "told once after the restart"
    assert "Solved → **Closed**" in discord.text_of(dms(discord)[-1])
    assert again.cogs["followups"] is not None


async def test_closed_dms_post_nothing_publicly_and_are_not_retried(
    core: Core, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> None:
    discord.closed_dms.add(USER_ID)
    bug = await run(discord, "report", description=BUG, title="Map crash")
    await read_once(core)
    posted_before = len(discord.find("POST", f"/channels/{CHANNEL_ID}/messages"))

    betahub.set_status("issues", 1, "closed")
    card_id = int(discord.channel_messages(CHANNEL_ID)[0]["id"])
    await until(lambda: _card_says(discord, {"id": card_id}, "Closed"), "the card edit")
    await next_passes(betahub, userecho, 3)

    assert len(discord.find("POST", DM_OPEN)) == 1, "one try, no retry loop"
    assert dms(discord) == []
    after = len(discord.find("POST", f"/channels/{CHANNEL_ID}/messages"))
    assert after == posted_before, "nothing is posted in the channel instead"
    (item,) = await core.store.user_followups("discord", str(USER_ID), 10)
    assert not item.notice_due
    assert item.status == "closed"
    assert bug["embeds"][0]["url"] == item.url


async def test_mine_lists_the_callers_items_only(
    core: Core, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await run(discord, "report", description=BUG, title="Map crash")
    other = discord.command_interaction(
        "suggest",
        {"description": "Someone else's idea for a photo mode"},
        user=discord.user(555, "bob"),
    )
    await discord.interact(other)
    await discord.answer_to(other)
    await read_once(core)

    mine = discord.command_interaction("mine")
    await discord.interact(mine)
    answer = await discord.answer_to(mine)

    (deferred,) = discord.callbacks_for(mine)
    assert deferred.json["data"]["flags"] & EPHEMERAL, "the list is private"
    url = f"https://app.betahub.io/projects/{PROJECT_ID}/issues/1"
    assert answer["content"] == f"Your latest items:\n• Bug report [Map crash]({url}): New"
    bob = discord.command_interaction("mine", {}, user=discord.user(555, "bob"))
    await discord.interact(bob)
    assert "Someone else" in (await discord.answer_to(bob))["content"]


async def test_notifications_off_silences_every_item(
    core: Core, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> None:
    await run(discord, "report", description=BUG, title="Map crash")
    await read_once(core)
    answer = await run(discord, "notifications", setting="off")
    assert "No more messages" in answer["content"]

    betahub.set_status("issues", 1, "in_progress")
    card_id = int(discord.channel_messages(CHANNEL_ID)[0]["id"])
    await until(lambda: _card_says(discord, {"id": card_id}, "In progress"), "the card edit")
    await next_passes(betahub, userecho)
    assert dms(discord) == []


async def _count(messages: list[dict[str, Any]], wanted: int) -> bool:
    return len(messages) >= wanted


async def _card_says(discord: FakeDiscord, card: dict[str, Any], status: str) -> bool:
    return status_of(discord.messages[int(card["id"])]) == status


async def test_a_topic_webhook_tells_at_once_and_the_poller_does_not_repeat_it(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho, betahub: FakeBetaHub
) -> None:
    core = await herald(
        **discord_env(discord),
        **userecho_env(userecho),
        **userecho_webhook_env(),
        USERECHO_FOLLOWUP_POLL_SECONDS=POLL,
    )
    await run(discord, "topic", title="Cloud saves", description="Sync saves between PC and Deck")
    await read_once(core)

    body = sample("userecho", "topic.accepted")
    body["data"]["id"] = 101
    assert await send_webhook(core, body) == (200, {"status": "queued"})
    await until(lambda: _count(dms(discord), 1), "the DM from the webhook")
    assert "New → **Planned**" in discord.text_of(dms(discord)[0])

    userecho.set_status(101, "Planned")
    await next_passes(betahub, userecho)
    assert len(dms(discord)) == 1, "the poller reads the status the webhook told: no DM"


async def test_a_suggestion_is_read_through_the_search_scoped_id(
    core: Core, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> None:
    card = await run(discord, "suggest", description="Let us rebind every key on the keyboard")
    await read_once(core)

    betahub.set_status("feature_requests", 1, "planned")
    await until(lambda: _count(dms(discord), 1), "the DM")

    searches = betahub.find("GET", "/feature_requests/search.json")
    look_up = next(c for c in searches if "scoped_id" in c.query)
    assert look_up.query["scoped_id"] == "1", "the scoped id is the last part of the URL"
    assert "Open → **Planned**" in discord.text_of(dms(discord)[0])
    assert card["embeds"][0]["url"] in discord.text_of(dms(discord)[0])


async def test_items_past_the_retention_are_not_read_and_closed_ones_are_forgotten(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    core = await herald(
        **discord_env(discord),
        **betahub_env(betahub),
        BETAHUB_FOLLOWUP_POLL_SECONDS=POLL,
        FOLLOWUP_RETENTION_DAYS=str(1.5 / 86400),  # a second and a half
    )
    await run(discord, "report", description=BUG, title="Map crash")
    await read_once(core)
    betahub.set_status("issues", 1, "closed")
    await until(lambda: _count(dms(discord), 1), "the DM while followed")

    async def forgotten() -> bool:
        return not await core.store.user_followups("discord", str(USER_ID), 10)

    await until(forgotten, "the closed item forgotten after the retention")
    await run(discord, "report", description=BUG + " again", title="Second crash")
    await read_once(core)
    await asyncio.sleep(1.6)
    reads = len(betahub.find("GET", ISSUES))
    betahub.set_status("issues", 2, "resolved")
    await asyncio.sleep(1)
    assert len(betahub.find("GET", ISSUES)) == reads, "an item past the retention is not read"
    assert len(dms(discord)) == 1


async def test_the_reporter_is_told_in_the_language_they_reported_in_the_card_in_its_channels(
    core: Core, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = discord.command_interaction("report", {"description": BUG, "title": "Map crash"})
    payload["locale"] = "ja"
    await discord.interact(payload)
    bug = await discord.answer_to(payload)
    (item,) = await core.store.user_followups("discord", str(USER_ID), 10)
    assert item.language == "ja", "remembered from the invocation"
    await read_once(core)

    betahub.set_status("issues", item.item_id, "in_progress")
    await until(lambda: _count(dms(discord), 1), "the DM")

    changed = "Your {noun} {title}: {old} → **{new}**"
    assert translate(changed, "ja") != changed, "the message speaks the reporter's language"
    (dm,) = dms(discord)
    url = bug["embeds"][0]["url"]
    said = {
        "noun": translate("bug report", "ja"),
        "title": f"[Map crash]({url})",
        "old": "New",
        "new": "In progress",
    }
    assert discord.text_of(dm) == f"🔔 {translate(changed, 'ja', **said)}\n{url}"
    card = next(m for m in discord.channel_messages(CHANNEL_ID) if m["embeds"])
    assert status_of(card) == "In progress", "the card speaks its channel's language (English)"
    labels = [b["label"] for b in dm["components"][0]["components"]]
    assert labels == [translate("Open", "ja"), translate("Stop updates", "ja")]
