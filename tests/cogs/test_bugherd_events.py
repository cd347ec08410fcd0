"""BugHerd's four webhooks, from request to the task's one card and its thread."""

from __future__ import annotations

import pytest

from bot.core import Core
from bot.models import Colour
from tests.announcing import bugherd, fields, sample, settled, subscribe
from tests.conftest import StartHerald, bugherd_env, discord_env
from tests.fakes.bugherd import API_KEY, FakeBugHerd
from tests.fakes.discord import CHANNEL_ID, FakeDiscord

TASK_URL = "https://www.bugherd.com/projects/9012/tasks/58"


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    core = await herald(**discord_env(discord), **bugherd_env())
    await subscribe(core, "bugherd")
    return core


async def send(core: Core, event: str) -> None:
    assert await bugherd(core, event, sample("bugherd", event)) == (200, {"status": "queued"})


async def test_a_new_task_card(core, discord):
    await send(core, "task_create")
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    embed = message["embeds"][0]
    assert embed["title"] == "#58 Signup button overlaps the footer on mobile"
    assert embed["url"] == TASK_URL
    assert embed["color"] == Colour.ORANGE
    assert embed["author"]["name"] == "Jo Player"
    assert embed["footer"]["text"] == "BugHerd · Skyward website · task_create"
    assert fields(embed) == {
        "Status": "backlog",
        "Priority": "important",
        "Tags": "ui, mobile",
        "Page": "[https://skyward.example/signup](https://skyward.example/signup)",
    }


async def test_update_comment_and_destroy_keep_one_card(core, discord):
    await send(core, "task_create")
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    await send(core, "task_update")
    await send(core, "comment")
    await send(core, "task_destroy")
    await settled(core)

    (card,) = discord.channel_messages(CHANNEL_ID)
    embed = card["embeds"][0]
    assert embed["title"] == "🗑 Deleted: #58 Signup button overlaps the footer on mobile"
    assert embed["color"] == Colour.NEUTRAL
    assert fields(embed)["Assigned"] == "Ada"
    (thread,) = discord.threads.values()
    (line,) = discord.channel_messages(int(thread["id"]))
    assert line["content"] == "💬 **Ada**: Also happens on tablets"


async def test_the_status_change_is_shown_on_the_card(core, discord):
    await send(core, "task_create")
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    await send(core, "task_update")
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    changed = fields(card["embeds"][0])["Changed"]
    assert "Status: backlog → doing" in changed
    assert "Assignee: — → Ada" not in changed, "only attributes both events carried"


async def test_with_an_api_key_a_comment_names_its_task(
    herald: StartHerald, discord: FakeDiscord, bugherd_api: FakeBugHerd
):
    core = await herald(
        **discord_env(discord),
        **bugherd_env(BUGHERD_API_KEY=API_KEY, BUGHERD_URL=bugherd_api.url),
    )
    await subscribe(core, "bugherd", where="status:doing")
    comment = sample("bugherd", "comment")
    comment["comment"]["task"] = {"id": 1234567, "project_id": 9012}
    assert (await bugherd(core, "comment", comment))[0] == 200
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    embed = message["embeds"][0]
    assert embed["title"] == "#58 Signup button overlaps the footer on mobile"
    assert embed["footer"]["text"] == "BugHerd · Skyward website · comment"
    assert bugherd_api.find("GET", "/projects/9012/tasks/1234567.json")


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("task_create", {"task": {"id": 9}}),
        ("task_update", {"task": {"id": 9, "description": "x" * 10000, "tag_names": "ui"}}),
        ("comment", {"comment": {"id": 1, "task_id": 9, "text": None, "user": "?"}}),
    ],
)
async def test_bare_bodies_still_make_a_card(core, discord, event, body):
    assert (await bugherd(core, event, body))[0] == 200
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"].startswith(("#9", "Task #9", "Task 9"))
    assert len(message["embeds"][0].get("description") or "") <= 4096
