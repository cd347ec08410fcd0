"""UserEcho's signed forum webhooks: topic cards and comment threads."""

from __future__ import annotations

import pytest

from bot.core import Core
from bot.models import Colour
from tests.announcing import fields, sample, settled, subscribe
from tests.announcing import userecho as send_webhook
from tests.conftest import StartHerald, discord_env, userecho_webhook_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.userecho import TOKEN, FakeUserEcho


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    core = await herald(**discord_env(discord), **userecho_webhook_env())
    await subscribe(core, "userecho")
    return core


async def send(core: Core, name: str) -> None:
    assert await send_webhook(core, sample("userecho", name)) == (200, {"status": "queued"})


async def test_a_new_topic_card(core, discord):
    await send(core, "topic.created")
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    embed = message["embeds"][0]
    assert embed["title"] == "Add a photo mode"
    assert embed["description"] == "Let us pause the game & take screenshots"
    assert embed["color"] == Colour.PINK
    assert embed["author"]["name"] == "Jo Player"
    assert embed["footer"]["text"] == "UserEcho · Skyward feedback · topic.created"
    assert fields(embed) == {
        "Type": "Idea",
        "Category": "Gameplay",
        "Status": "New",
        "Votes": "3",
        "Tags": "camera",
    }


@pytest.mark.parametrize(
    ("name", "title", "colour", "extra"),
    [
        ("topic.accepted", "Add a photo mode", Colour.OK, {"Status": "Planned"}),
        ("topic.deleted", "🗑 Deleted: Add a photo mode", Colour.NEUTRAL, {}),
        ("topic.satisfaction_received", "Add a photo mode", Colour.PINK, {"Satisfaction": "great"}),
    ],
)
async def test_topic_events_edit_the_topic_card(core, discord, name, title, colour, extra):
    await send(core, "topic.created")
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    await send(core, name)
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    embed = card["embeds"][0]
    assert embed["title"] == title
    assert embed["color"] == colour
    assert extra.items() <= fields(embed).items()


async def test_comments_go_to_the_topic_thread(core, discord):
    await send(core, "topic.created")
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    for name in ("comment.created", "comment.accepted", "comment.deleted"):
        await send(core, name)
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    lines = "\n".join(m["content"] for m in discord.channel_messages(int(card["id"])))
    assert "💬 **Sam**: Yes please! @everyone" in lines
    assert "✅ the comment by Sam was accepted" in lines
    assert "🗑 a comment by Sam was deleted" in lines
    for call in discord.find("POST", f"/channels/{card['id']}/messages"):
        assert call.json["allowed_mentions"] == {"parse": []}


async def test_with_a_token_comments_name_their_topic_and_author(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho
):
    core = await herald(
        **discord_env(discord),
        **userecho_webhook_env(USERECHO_URL=userecho.api_url, USERECHO_TOKEN=TOKEN),
    )
    await subscribe(core, "userecho")
    body = sample("userecho", "comment.created")
    body["data"] = {"id": 901, "topic_id": 321, "text": "<p>Same here</p>", "author_id": 78}
    assert (await send_webhook(core, body))[0] == 200
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    embed = message["embeds"][0]
    assert embed["title"] == "Add a photo mode"
    assert embed["url"] == f"{userecho.url}/communities/1/topics/321"
    assert embed["description"] == "💬 **Sam**: Same here"
    assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in userecho.calls)


@pytest.mark.parametrize(
    "body",
    [
        {"hook": "topic.created", "created": "x", "data": {"id": 5}},
        {"hook": "topic.accepted", "created": None, "data": {"id": 5, "header": "h" * 999}},
        {"hook": "comment.created", "created": "x", "data": {"id": 6, "topic_id": 5}},
    ],
)
async def test_bare_bodies_still_make_a_card(core, discord, body):
    assert (await send_webhook(core, body))[0] == 200
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"].startswith(("Topic 5", "hhh"))
    assert len(message["embeds"][0]["title"]) <= 256
