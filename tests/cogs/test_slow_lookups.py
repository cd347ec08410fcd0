"""A look-up API that hangs delays no other service's announcements, and its late answer
completes the card already posted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.core import Core
from tests.announcing import bugherd, fields, hacknplan, sample, subscribe, userecho
from tests.cogs.test_butterstack_announcements import md, readings
from tests.cogs.test_butterstack_announcements import start as start_butterstack
from tests.conftest import (
    StartHerald,
    bugherd_env,
    discord_env,
    hacknplan_env,
    userecho_webhook_env,
)
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.hacknplan import API_KEY, FakeHacknPlan
from tests.fakes.userecho import TOKEN, FakeUserEcho

OTHER_CHANNEL = CHANNEL_ID + 1


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    async def wait() -> None:
        while not condition():  # noqa: ASYNC110 - polling a fake's state
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def start(herald: StartHerald, discord: FakeDiscord, api: FakeHacknPlan, **env: str) -> Core:
    return await herald(
        **discord_env(discord),
        **hacknplan_env(HACKNPLAN_API_KEY=API_KEY, HACKNPLAN_URL=api.url),
        **bugherd_env(),
        **env,
    )


async def untitled_comments(core: Core, count: int) -> None:
    """Comments on `count` work items Herald has not seen: each card needs the item's title."""
    comment = sample("hacknplan", "workitem.comment.created")
    for number in range(count):
        body = {**comment, "WorkItemId": 1000 + number, "CommentId": 5000 + number}
        assert (await hacknplan(core, "workitem.comment.created", body))[0] == 200


async def test_a_hanging_api_does_not_delay_another_services_announcements(
    herald: StartHerald, discord: FakeDiscord, hacknplan_api: FakeHacknPlan
):
    core = await start(herald, discord, hacknplan_api)
    await subscribe(core, "hacknplan")
    await subscribe(core, "bugherd", channel=OTHER_CHANNEL)
    hacknplan_api.answering.clear()
    await untitled_comments(core, 50)
    await until(lambda: hacknplan_api.held > 0)

    sent = time.monotonic()
    assert (await bugherd(core, "task_create", sample("bugherd", "task_create")))[0] == 200
    await discord.wait_for("POST", f"/channels/{OTHER_CHANNEL}/messages", timeout=5)
    assert time.monotonic() - sent < 5
    (card,) = discord.channel_messages(OTHER_CHANNEL)
    assert card["embeds"][0]["title"] == "#58 Signup button overlaps the footer on mobile"


async def test_a_hanging_api_costs_its_own_service_one_budget_not_one_per_delivery(
    herald: StartHerald, discord: FakeDiscord, hacknplan_api: FakeHacknPlan
):
    core = await start(herald, discord, hacknplan_api, ENRICH_BUDGET_SECONDS="0.3")
    await subscribe(core, "hacknplan")
    hacknplan_api.answering.clear()
    started = time.monotonic()
    await untitled_comments(core, 20)

    async def all_routed() -> None:
        while await core.store.new_deliveries(1):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.02)

    await asyncio.wait_for(all_routed(), 3)
    assert time.monotonic() - started < 3


async def test_the_late_answer_edits_the_posted_card_with_the_title(
    herald: StartHerald, discord: FakeDiscord, hacknplan_api: FakeHacknPlan
):
    core = await start(herald, discord, hacknplan_api, ENRICH_BUDGET_SECONDS="0.2")
    await subscribe(core, "hacknplan")
    hacknplan_api.answering.clear()
    comment = sample("hacknplan", "workitem.comment.created")
    assert (await hacknplan(core, "workitem.comment.created", comment))[0] == 200
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    (posted,) = discord.channel_messages(CHANNEL_ID)
    assert posted["embeds"][0]["title"] == "Work item #42"
    assert posted["embeds"][0]["footer"]["text"].startswith("HacknPlan · project 128 ·")

    hacknplan_api.answering.set()
    await discord.wait_for("PATCH", f"/channels/{CHANNEL_ID}/messages/{posted['id']}")
    (card,) = discord.channel_messages(CHANNEL_ID)
    embed = card["embeds"][0]
    assert embed["title"] == "#42 Double jump feels floaty"
    assert embed["url"] == "https://app.hacknplan.com/p/128/kanban?boardId=7&taskId=42"
    assert embed["footer"]["text"] == "HacknPlan · Skyward · workitem.comment.created"
    assert embed["description"] == posted["embeds"][0]["description"]

    again = {**comment, "CommentId": 901, "Text": "and again"}
    assert (await hacknplan(core, "workitem.comment.created", again))[0] == 200
    await discord.wait_for("POST", f"/channels/{posted['id']}/messages")
    known = await core.store.known_item("hacknplan:128:workitem:42")
    assert known is not None
    assert known.title == "#42 Double jump feels floaty"


async def test_a_build_card_gets_its_changelist_when_the_slow_read_answers(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
):
    butterstack.add_changelist(12345, "john.doe", "Updated character model textures")
    butterstack.changelists_answering.clear()
    await start_butterstack(herald, tmp_path, discord, butterstack, ENRICH_BUDGET_SECONDS="0.2")
    await readings(butterstack)
    build = butterstack.add_build()
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    (posted,) = discord.channel_messages(CHANNEL_ID)
    assert fields(posted["embeds"][0])["Changelist"] == "12345", "the number the build carries"

    butterstack.changelists_answering.set()
    await discord.wait_for("PATCH", f"/channels/{CHANNEL_ID}/messages/{posted['id']}")
    (card,) = discord.channel_messages(CHANNEL_ID)
    assert fields(card["embeds"][0])["Changelist"] == (
        "12345 by john.doe\nUpdated character model textures"
    )
    title = f"⏳ Build {md(build['id'])} pending"
    assert card["embeds"][0]["title"] == posted["embeds"][0]["title"] == title


class SlowUserEcho(FakeUserEcho):
    """UserEcho whose user look-ups wait until `users_answering` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.users_answering = asyncio.Event()
        self.app.middlewares.append(self._slow_users)

    async def stop(self) -> None:
        self.users_answering.set()
        await super().stop()

    @web.middleware
    async def _slow_users(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/v2/users/"):
            await self.users_answering.wait()
        return await handler(request)


@pytest.fixture
async def slow_userecho() -> AsyncIterator[SlowUserEcho]:
    async with SlowUserEcho() as fake:
        yield fake


async def test_a_topic_card_gets_its_author_when_the_slow_user_look_up_answers(
    herald: StartHerald, discord: FakeDiscord, slow_userecho: SlowUserEcho
):
    core = await herald(
        **discord_env(discord),
        **userecho_webhook_env(USERECHO_URL=slow_userecho.api_url, USERECHO_TOKEN=TOKEN),
        ENRICH_BUDGET_SECONDS="0.2",
    )
    await subscribe(core, "userecho")
    body = sample("userecho", "topic.created")
    del body["data"]["author"]
    body["data"]["author_id"] = 78
    assert (await userecho(core, body))[0] == 200
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    (posted,) = discord.channel_messages(CHANNEL_ID)
    assert "author" not in posted["embeds"][0]

    slow_userecho.users_answering.set()
    await discord.wait_for("PATCH", f"/channels/{CHANNEL_ID}/messages/{posted['id']}")
    (card,) = discord.channel_messages(CHANNEL_ID)
    assert card["embeds"][0]["author"]["name"] == "Sam"
    assert card["embeds"][0]["title"] == posted["embeds"][0]["title"] == "Add a photo mode"
